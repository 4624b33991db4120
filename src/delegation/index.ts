/**
 * Delegation wired into a server: the `delegate` core tool (given to a bot by name, like
 * any tool) and the outbox sender of `delegation_result` rows. The finishing rows
 * ({@link delegationFinishRows}) go to the TaskFinisher, combined with the event rows.
 */
import type { ToolRegistry } from "../agent/tools.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import type { Dispatcher } from "../sdk/dispatch.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";
import { DELEGATION_TARGET, delegationResultSender } from "./result.ts";
import { type DelegationLimits, delegateTool } from "./tool.ts";

export { combineFinishRows, delegationFinishRows } from "./result.ts";

/** What {@link setUpDelegation} needs. */
export interface DelegationDeps {
  store: Store;
  sessions: SessionService;
  tools: ToolRegistry;
  deliveryWorker: Pick<DeliveryWorker, "registerSender">;
  dispatchers: { get(type: string): Dispatcher };
  limits: DelegationLimits;
}

/** Registers the `delegate` tool and the `delegation_result` sender. */
export function setUpDelegation(deps: DelegationDeps): void {
  deps.tools.register(
    delegateTool({ store: deps.store, sessions: deps.sessions, limits: deps.limits }),
  );
  deps.deliveryWorker.registerSender(
    DELEGATION_TARGET,
    delegationResultSender({
      store: deps.store,
      sessions: deps.sessions,
      dispatchers: deps.dispatchers,
    }),
  );
}
