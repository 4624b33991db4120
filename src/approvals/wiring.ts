/**
 * Builds the approval service from the server's parts (called by `app.ts`, which only
 * wires): events through the outbox, approval outputs to adapters' dispatch types, the
 * TTL from `SWITCHYARD_APPROVAL_TTL_SECONDS`.
 */
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { DispatcherRegistry } from "../dispatch/registry.ts";
import type { EventService } from "../events/events.ts";
import type { WebhookSubscriptionService } from "../events/webhook-subscriptions.ts";
import type { Store } from "../store/index.ts";
import type { AppTuning } from "../tuning.ts";
import { ApprovalService } from "./service.ts";

/** What {@link createApprovalService} needs. */
export interface ApprovalWiring {
  config: Config;
  tuning: AppTuning;
  store: Store;
  log: Logger;
  events: EventService;
  webhooks: WebhookSubscriptionService;
  dispatchers: DispatcherRegistry;
  /** Wakes the task worker for a session whose task was put back in the queue. */
  onRunnable(sessionId: string): void;
  /** Wakes the delivery worker. */
  onOutbox(): void;
}

/** The server's approval service (start it with the workers, stop it before the store). */
export function createApprovalService(w: ApprovalWiring): ApprovalService {
  return new ApprovalService({
    store: w.store,
    log: w.log,
    ttlMs: w.config.SWITCHYARD_APPROVAL_TTL_SECONDS * 1000,
    sweepMs: w.tuning.approvalSweepMs,
    events: {
      prepare: () => w.webhooks.cached(),
      queue: (tx, name, data) => w.events.queueInTransaction(tx, name, data),
    },
    isAdapter: (type) =>
      w.dispatchers.list().some((d) => d.type === type && d.source.startsWith("adapter:")),
    onRunnable: w.onRunnable,
    onOutbox: w.onOutbox,
  });
}
