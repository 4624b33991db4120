/**
 * The outbound domain put together (DESIGN §6, seed 003): webhook subscriptions, events,
 * notifications and git auto-commit over the one outbound client and the one outbox, and
 * the {@link OutboundServices} object that REST and MCP both call.
 *
 * Wiring that belongs to no single service lives here: every event (emitted or core) may
 * trigger a git auto-commit; a failed auto-commit is emitted as an `error` event, which
 * never triggers another commit, so a broken repository cannot loop.
 */
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { OutboundHttpClient } from "../outbox/http-client.ts";
import type { Resolver } from "../outbox/ssrf.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import type { SessionOutboxRows } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";
import type { FinishRows } from "../tasks/finish.ts";
import { type EventData, EventService } from "./events.ts";
import { GitAutoCommit } from "./git-auto-commit.ts";
import { NOTIFICATION_TARGET, NotificationService } from "./notifications.ts";
import type { NotifierRegistry } from "./notifier-registry.ts";
import type { EventName, OutboundServices } from "./outbound-types.ts";
import { integrationsState } from "./state.ts";
import { WebhookSubscriptionService } from "./webhook-subscriptions.ts";

/** `source` of the `error` event a failed git auto-commit emits. */
const GIT_ERROR_SOURCE = "git_auto_commit";

/** What {@link createOutbound} needs. */
export interface OutboundDeps {
  config: Config;
  store: Store;
  log: Logger;
  http: OutboundHttpClient;
  deliveryWorker: DeliveryWorker;
  /** The notification channels (core's, and the integrations' `notifier.ts`). */
  notifiers: NotifierRegistry;
  metrics?: { notification(channel: string, delivered: boolean): void };
  /** Resolver for registration- and request-time SSRF checks (tests inject one). */
  resolver?: Resolver;
  /** First inline SMTP retry delay in ms (default 100). */
  smtpRetryDelayMs?: number;
  /** Longest wait of `emitEvent` for inline attempts, ms (default 3000). */
  eventInlineWaitMs?: number;
}

/** The outbound services, built. */
export interface Outbound {
  webhooks: WebhookSubscriptionService;
  events: EventService;
  notifications: NotificationService;
  gitAutoCommit: GitAutoCommit;
  /** The same calls as one object, for REST and MCP. */
  services: OutboundServices;
  /**
   * `session.start` / `session.end` / `task.created` deliveries, written in the transaction
   * that creates or ends the session or creates the task.
   */
  sessionRows: SessionOutboxRows;
  /** `task.completed` / `task.failed` deliveries, written in the finishing transaction. */
  finishRows: FinishRows;
}

/** Builds the outbound services and registers their outbox senders with `deliveryWorker`. */
export function createOutbound(deps: OutboundDeps): Outbound {
  const { config, store, log, http, deliveryWorker } = deps;
  const webhooks = new WebhookSubscriptionService({
    repo: store.webhookSubscriptions,
    log,
    allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS,
    resolver: deps.resolver,
  });
  const events: EventService = new EventService({
    store,
    subscriptions: webhooks,
    deliveryWorker,
    http,
    log,
    inlineWaitMs: deps.eventInlineWaitMs,
    onEvent: (name, data) => autoCommit(name, data),
  });
  const notifications = new NotificationService({
    store,
    http,
    deliveryWorker,
    log,
    notifiers: deps.notifiers,
    smtp: { url: config.SMTP_URL, from: config.SMTP_FROM, to: config.SMTP_TO },
    allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS,
    resolver: deps.resolver,
    metrics: deps.metrics,
    smtpRetryDelayMs: deps.smtpRetryDelayMs,
  });
  deliveryWorker.registerSender(NOTIFICATION_TARGET, notifications.sender);
  const gitAutoCommit = new GitAutoCommit({
    store,
    workspaceDir: config.workspaceDir,
    log,
    onError: (err) => events.emit("error", { source: GIT_ERROR_SOURCE, error: err.message }),
  });

  /** Commits the workspace when auto-commit wants `name` (in the background; never throws). */
  function autoCommit(name: EventName, data: EventData): void {
    if (name === "error" && typeof data !== "function" && data.source === GIT_ERROR_SOURCE) return;
    (async () => {
      if (!(await gitAutoCommit.wants(name))) return;
      const payload = typeof data === "function" ? await data() : data;
      await gitAutoCommit.handleEvent(name, payload);
    })().catch((err) =>
      log.warn({ event: name, err: (err as Error).message }, "git auto-commit skipped"),
    );
  }

  const services: OutboundServices = {
    state: () => integrationsState({ store, listWebhooks: () => webhooks.listWebhooks() }),
    listWebhooks: () => webhooks.listWebhooks(),
    registerWebhook: (input) => webhooks.registerWebhook(input),
    deleteWebhook: (id) => webhooks.deleteWebhook(id),
    getGitAutoCommit: () => gitAutoCommit.get(),
    setGitAutoCommit: (input) => gitAutoCommit.set(input),
    notify: (input) => notifications.notify(input),
    emitEvent: (name, payload) => events.emitEvent(name, payload),
  };
  // The subscription list is loaded before a transaction; inside it only the copy is read.
  const prepare = async () => {
    await webhooks.cached();
  };
  const sessionRows: SessionOutboxRows = {
    prepare,
    sessionStarted: (tx, s) =>
      events.queueInTransaction(tx, "session.start", {
        session_id: s.id,
        bot_id: s.botId,
        client_id: s.clientId,
      }),
    sessionEnded: (tx, s) =>
      events.queueInTransaction(tx, "session.end", {
        session_id: s.id,
        bot_id: s.botId,
        client_id: s.clientId,
        ended_at: new Date(s.endedAt ?? s.updatedAt).toISOString(),
      }),
    taskCreated: (tx, sessionId, task) =>
      events.queueInTransaction(tx, "task.created", {
        task_id: task.id,
        session_id: sessionId,
        bot_id: task.botId,
      }),
  };
  const finishRows: FinishRows = {
    prepare,
    write: (tx, task, outcome) =>
      events.queueInTransaction(
        tx,
        outcome.status === "complete" ? "task.completed" : "task.failed",
        {
          task_id: task.id,
          session_id: task.sessionId,
          bot_id: task.botId,
          status: outcome.status,
          ...(outcome.status === "complete"
            ? { result: outcome.result }
            : { error: outcome.error }),
        },
      ),
  };
  return { webhooks, events, notifications, gitAutoCommit, services, sessionRows, finishRows };
}
