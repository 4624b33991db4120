/**
 * `GET /api/v1/admin/instances` (admin scope): the servers sharing this database that were
 * heard from within 3 heartbeat intervals, with the leases each holds and its running tasks.
 */
import { apiPlugin } from "../http/routes.ts";
import { type InstanceView, listInstances } from "../instances/list.ts";
import type { Store } from "../store/index.ts";

/** What adminInstancesApi needs. */
export interface AdminInstancesApiOptions {
  store: Pick<Store, "instances" | "leases" | "taskLeases">;
  /** The heartbeat interval, ms (an instance is live within 3 of them). */
  heartbeatMs: number;
}

/** Registers the instances listing route. */
export const adminInstancesApi = apiPlugin<AdminInstancesApiOptions>((routes, deps) => {
  routes.add({
    method: "GET",
    url: "/api/v1/admin/instances",
    summary:
      "Live instances: [{id, version, hostname, started_at, last_heartbeat_at, holds, tasks_running}]",
    scope: "admin",
    async handler(): Promise<InstanceView[]> {
      return listInstances(deps.store, deps.heartbeatMs);
    },
  });
});
