/**
 * Builds this instance's heartbeat: its row of `instances` carries the owner id, the
 * package version and the host name, written every `tuning.instanceHeartbeatMs` (default
 * 5 s). app.ts calls this.
 */
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Store } from "../store/index.ts";
import type { AppTuning } from "../tuning.ts";
import { VERSION } from "../version.ts";
import { InstanceHeartbeat } from "./heartbeat.ts";

/**
 * The heartbeat of instance `owner` (start it after listening; stop it before the store).
 * @param w.owner this instance's owner id (as in its leases)
 */
export function createHeartbeat(w: {
  store: Pick<Store, "instances">;
  owner: string;
  tuning: Pick<AppTuning, "instanceHeartbeatMs">;
  log: Logger;
}): InstanceHeartbeat {
  return new InstanceHeartbeat({
    instances: w.store.instances,
    id: w.owner,
    version: VERSION,
    hostname: hostname(),
    intervalMs: w.tuning.instanceHeartbeatMs,
    log: w.log,
  });
}
