/**
 * What `GET /api/v1/admin/instances` shows: the live instances (heartbeat within 3
 * intervals), each with the leases it holds (lease holders are `<owner>/<random>`, see
 * `leases/exclusive.ts`) and its running tasks (task lease tokens are `<owner>#<n>`, see
 * `tasks/worker.ts`).
 */
import type { Store } from "../store/index.ts";
import { liveSince } from "./heartbeat.ts";

/** One live instance, as the API shows it (times ISO 8601). */
export interface InstanceView {
  id: string;
  version: string;
  hostname: string;
  started_at: string;
  last_heartbeat_at: string;
  /** Names of the unexpired leases it holds (pollers, singleton processes), sorted. */
  holds: string[];
  /** How many running tasks it has leased. */
  tasks_running: number;
}

/** The owner part of a lease holder (`<owner>/<random>`) or task token (`<owner>#<n>`). */
function ownerOf(token: string, sep: string): string {
  const i = token.lastIndexOf(sep);
  return i < 0 ? token : token.slice(0, i);
}

/** The live instances at `now` (ms) for heartbeats every `intervalMs`, oldest start first. */
export async function listInstances(
  store: Pick<Store, "instances" | "leases" | "taskLeases">,
  intervalMs: number,
  now = Date.now(),
): Promise<InstanceView[]> {
  const [rows, leases, tokens] = await Promise.all([
    store.instances.live(liveSince(now, intervalMs)),
    store.leases.live(now),
    store.taskLeases.runningLeaseOwners(),
  ]);
  const holds = new Map<string, string[]>();
  for (const l of leases) {
    const owner = ownerOf(l.holder, "/");
    holds.set(owner, [...(holds.get(owner) ?? []), l.name]);
  }
  const running = new Map<string, number>();
  for (const t of tokens) {
    const owner = ownerOf(t, "#");
    running.set(owner, (running.get(owner) ?? 0) + 1);
  }
  return rows.map((r) => ({
    id: r.id,
    version: r.version,
    hostname: r.hostname,
    started_at: new Date(r.startedAt).toISOString(),
    last_heartbeat_at: new Date(r.lastHeartbeatAt).toISOString(),
    holds: holds.get(r.id) ?? [],
    tasks_running: running.get(r.id) ?? 0,
  }));
}
