/**
 * The composition root: builds the store, registries, workers and HTTP server from a
 * {@link Config}, each area's own construction in its `wiring.ts`; `start()` and `stop()`
 * run ./lifecycle.ts's order.
 */
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { AdapterHost } from "./adapters/host.ts";
import { createAdapterHost } from "./adapters/wiring.ts";
import { ModelCheckResult } from "./agent/model-check-result.ts";
import { ModelRegistry } from "./agent/models.ts";
import { type SkillSyncReport, syncSkills } from "./agent/skills-sync.ts";
import { ToolRegistry } from "./agent/tools.ts";
import { mountRoutes } from "./api/wiring.ts";
import type { ApprovalService } from "./approvals/service.ts";
import { createApprovalService } from "./approvals/wiring.ts";
import type { AttachmentService } from "./attachments/service.ts";
import { attachmentDescriber, createAttachments } from "./attachments/wiring.ts";
import type { Config } from "./config.ts";
import { combineFinishRows, delegationFinishRows, setUpDelegation } from "./delegation/index.ts";
import { DispatcherRegistry } from "./dispatch/registry.ts";
import { registerCoreDispatchers } from "./dispatch/wiring.ts";
import type { DocumentService } from "./documents/service.ts";
import { createDocuments } from "./documents/wiring.ts";
import { deliveryOutcomeReporter } from "./events/delivery-outcomes.ts";
import type { EventService } from "./events/events.ts";
import type { GitAutoCommit } from "./events/git-auto-commit.ts";
import { HookWebhooks } from "./events/hook-webhooks.ts";
import type { NotificationService } from "./events/notifications.ts";
import { NotifierRegistry } from "./events/notifier-registry.ts";
import { createOutbound } from "./events/outbound.ts";
import type { OutboundServices } from "./events/outbound-types.ts";
import type { WebhookSubscriptionService } from "./events/webhook-subscriptions.ts";
import { HookRegistry } from "./hooks/lifecycle.ts";
import type { ApiKeyInfo } from "./http/api-key-setup.ts";
import { ApiKeyAuth } from "./http/auth.ts";
import { Metrics } from "./http/metrics.ts";
import { createHttpServer } from "./http/wiring.ts";
import { uuidv7 } from "./ids.ts";
import type { InstanceHeartbeat } from "./instances/heartbeat.ts";
import { createHeartbeat } from "./instances/wiring.ts";
import { integrationSources } from "./integrations/discovery.ts";
import type { IntegrationManager } from "./integrations/manager.ts";
import { ProcessSupervisor } from "./integrations/processes.ts";
import { createIntegrations } from "./integrations/wiring.ts";
import { LeaseService } from "./leases/exclusive.ts";
import { createLogger } from "./lib/logger.ts";
import { loadApp, openStore, startApp, stopApp } from "./lifecycle.ts";
import type { McpServices } from "./mcp/server.ts";
import { mcpServices } from "./mcp/wiring.ts";
import type { OutboundHttpClient } from "./outbox/http-client.ts";
import { createDeliveryWorker, createHttpClient } from "./outbox/wiring.ts";
import type { DeliveryWorker } from "./outbox/worker.ts";
import type { RuntimeService } from "./runtime/service.ts";
import { createRuntime } from "./runtime/wiring.ts";
import type { SchedulerLoop } from "./scheduler/loop.ts";
import type { JobRunner } from "./scheduler/runner.ts";
import type { JobService } from "./scheduler/service.ts";
import { createScheduler } from "./scheduler/wiring.ts";
import { SessionService } from "./sessions/service.ts";
import type { Store } from "./store/index.ts";
import type { SkillRepository } from "./store/skills.ts";
import { createTaskWorker } from "./tasks/wiring.ts";
import type { TaskWorker } from "./tasks/worker.ts";
import type { Telemetry } from "./telemetry/setup.ts";
import { wireTelemetry } from "./telemetry/wiring.ts";
import type { AppTuning } from "./tuning.ts";
import { VERSION } from "./version.ts";
import type { WakeupBus } from "./wakeups/bus.ts";
import { createWakeups, wakeWorkers } from "./wakeups/wiring.ts";

export type { AppTuning } from "./tuning.ts";
export { VERSION } from "./version.ts";

/** A built server. */
export class App {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly models: ModelRegistry;
  readonly tools = new ToolRegistry();
  /** Workspace runtimes: providers, scopes and the core workspace tools (src/runtime/). */
  readonly runtime: RuntimeService;
  /** The last start-up check of the bots' model endpoints (recorded by `switchyard serve`). */
  readonly modelCheck = new ModelCheckResult();
  readonly documents: DocumentService;
  readonly skills: SkillRepository;
  readonly hooks: HookRegistry;
  readonly dispatchers: DispatcherRegistry;
  /** Notification channels: core's `email` and `webhook`, and the integrations' `notifier.ts`. */
  readonly notifiers = new NotifierRegistry();
  readonly http: OutboundHttpClient;
  /** Files kept per scope (local folder or S3-compatible bucket). */
  readonly attachments: AttachmentService;
  /** Sessions: get-or-create, end, and the one injectMessage (REST, ctx, dispatchers). */
  readonly sessions: SessionService;
  readonly taskWorker: TaskWorker;
  /** Tool approvals: parking turns, decisions, expiry (`src/approvals/`). */
  readonly approvals: ApprovalService;
  /** Jobs: CRUD (REST, MCP, the jobs.ts sync). */
  readonly jobs: JobService;
  /** Fires due job slots and run-now requests. */
  readonly jobRunner: JobRunner;
  /** The scheduler loop: started at start(), stopped first at stop(). */
  readonly scheduler: SchedulerLoop;
  readonly deliveryWorker: DeliveryWorker;
  /** Event webhook subscriptions (register, list, delete; cached list for emission). */
  readonly webhooks: WebhookSubscriptionService;
  /** Events: emitEvent, core emission, tool-call mapping, the `event` outbox sender. */
  readonly events: EventService;
  /** The outbound services (webhooks, events, notifications, git, state): REST and MCP call these. */
  readonly outbound: OutboundServices;
  /** Notifications: send (through the outbox) and history. */
  readonly notifications: NotificationService;
  /** Git auto-commit of the workspace on selected events (`handleEvent`). */
  readonly gitAutoCommit: GitAutoCommit;
  readonly server: FastifyInstance;
  readonly apiKey: ApiKeyInfo;
  readonly integrations: IntegrationManager;
  readonly processes: ProcessSupervisor;
  /** Chat adapters: started at start(), stopped at stop(), replies sent through the outbox. */
  readonly adapters: AdapterHost;
  readonly hookWebhooks: HookWebhooks;
  /** Named leases: run work on one instance at a time (`ctx.exclusive`). */
  readonly leases: LeaseService;
  /** This instance's row of `instances`, written every few seconds (`/api/v1/admin/instances`). */
  readonly heartbeat: InstanceHeartbeat;
  readonly auth: ApiKeyAuth;
  readonly metrics: Metrics;
  /** Wake-ups between instances (LISTEN/NOTIFY on PostgreSQL): committed work starts at once. */
  readonly wakeups: WakeupBus;
  /** OpenTelemetry traces (when an OTLP endpoint is set) and job/instance metrics. */
  readonly telemetry: Telemetry;
  readonly owner = `${hostname()}:${process.pid}:${uuidv7().slice(-8)}`;
  readonly #tuning: AppTuning;
  #url: string | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(
    config: Config,
    log: Logger,
    store: Store,
    apiKey: ApiKeyInfo,
    tuning: AppTuning,
  ) {
    this.config = config;
    this.log = log;
    this.store = store;
    this.apiKey = apiKey;
    this.#tuning = tuning;
    this.models = new ModelRegistry(config);
    this.metrics = new Metrics(store);
    this.wakeups = createWakeups(store, {
      owner: this.owner,
      log,
      onEvent: tuning.onWakeupEvent,
      reconnectMs: tuning.wakeupReconnectMs,
    });
    this.documents = createDocuments({
      config,
      tuning,
      store,
      models: this.models,
      log,
      tools: this.tools,
    });
    this.runtime = createRuntime({ config, store, tools: this.tools });
    this.attachments = createAttachments({
      config,
      store,
      runtime: this.runtime,
      tools: this.tools,
    });
    this.skills = store.skills;
    this.hooks = new HookRegistry(log);
    this.dispatchers = new DispatcherRegistry(log);
    this.http = createHttpClient(config, tuning);

    this.deliveryWorker = createDeliveryWorker({
      config,
      tuning,
      store,
      dispatchers: this.dispatchers,
      log,
      owner: this.owner,
      onOutcome: deliveryOutcomeReporter({ metrics: this.metrics, events: () => this.events }),
      onPoke: () => this.wakeups.tell("delivery"),
    });
    this.metrics.watchBreakers(() => this.deliveryWorker.destinations());
    const outbound = createOutbound({
      config,
      store,
      log,
      http: this.http,
      deliveryWorker: this.deliveryWorker,
      notifiers: this.notifiers,
      metrics: this.metrics,
      resolver: tuning.resolver,
      smtpRetryDelayMs: tuning.httpRetryDelayMs,
      eventInlineWaitMs: tuning.eventInlineWaitMs,
    });
    this.webhooks = outbound.webhooks;
    this.events = outbound.events;
    this.notifications = outbound.notifications;
    this.gitAutoCommit = outbound.gitAutoCommit;
    this.outbound = outbound.services;
    this.approvals = createApprovalService({
      config,
      tuning,
      store,
      log,
      events: this.events,
      webhooks: this.webhooks,
      dispatchers: this.dispatchers,
      onRunnable: (sessionId) => this.taskWorker.taskCreated(sessionId),
      onOutbox: () => this.deliveryWorker.poke(),
    });
    this.taskWorker = createTaskWorker({
      config,
      tuning,
      store,
      log,
      owner: this.owner,
      models: this.models,
      tools: this.tools,
      skills: this.skills,
      hooks: this.hooks,
      events: this.events,
      approvals: this.approvals,
      attachments: this.attachments,
      finishRows: combineFinishRows(outbound.finishRows, delegationFinishRows),
      onOutbox: () => this.deliveryWorker.poke(),
      onPoke: () => this.wakeups.tell("task"),
    });
    this.sessions = new SessionService({
      store,
      onTaskCreated: (sessionId) => this.taskWorker.taskCreated(sessionId),
      onOutboxRows: () => this.deliveryWorker.poke(),
      rows: outbound.sessionRows,
      checkDispatch: (type, dispatchConfig) => this.dispatchers.check(type, dispatchConfig),
      describeAttachments: attachmentDescriber(store),
    });
    setUpDelegation({
      store,
      sessions: this.sessions,
      tools: this.tools,
      deliveryWorker: this.deliveryWorker,
      dispatchers: this.dispatchers,
      limits: {
        maxDepth: config.SWITCHYARD_DELEGATION_MAX_DEPTH,
        maxChildren: config.SWITCHYARD_DELEGATION_MAX_CHILDREN,
      },
    });

    const scheduler = createScheduler({
      store,
      sessions: this.sessions,
      log,
      tuning,
      onJobsChanged: () => this.wakeups.tell("job"),
    });
    this.jobs = scheduler.jobs;
    this.jobRunner = scheduler.runner;
    this.scheduler = scheduler.loop;
    wakeWorkers(this.wakeups, () => ({
      tasks: this.taskWorker,
      deliveries: this.deliveryWorker,
      scheduler: this.scheduler,
    }));

    registerCoreDispatchers(this.dispatchers, {
      config,
      tuning,
      http: this.http,
      sessions: this.sessions,
    });

    this.server = createHttpServer({ config, log, closing: () => this.#stopping !== undefined });
    this.auth = new ApiKeyAuth(store, config.SWITCHYARD_API_KEY, tuning.authCacheMs);
    this.hookWebhooks = new HookWebhooks({
      urls: config.HOOK_WEBHOOK_URLS,
      secret: config.HOOK_WEBHOOK_SECRET,
      store,
      deliveryWorker: this.deliveryWorker,
      http: this.http,
      log,
    });
    this.hookWebhooks.attach(this.hooks);
    this.leases = new LeaseService({
      leases: store.leases,
      owner: this.owner,
      ttlMs: tuning.leaseTtlMs,
      log,
      onEvent: tuning.onLeaseEvent,
    });
    this.processes = new ProcessSupervisor({ log, leases: this.leases });
    this.heartbeat = createHeartbeat({ store, owner: this.owner, tuning, log });
    this.adapters = createAdapterHost({
      config,
      tuning,
      store,
      sessions: this.sessions,
      dispatchers: this.dispatchers,
      deliveryWorker: this.deliveryWorker,
      log,
      approvals: this.approvals,
      attachments: this.attachments,
      http: this.http,
    });
    this.integrations = createIntegrations(this, tuning);
    mountRoutes(this, { tuning, url: () => this.#url });
    this.telemetry = wireTelemetry({
      env: config.env,
      log,
      owner: this.owner,
      version: VERSION,
      server: this.server,
      metrics: this.metrics,
      store,
      jobRunner: this.jobRunner,
      taskWorker: this.taskWorker,
      heartbeatMs: this.heartbeat.intervalMs,
    });
  }

  /** Where integrations are discovered, in order: repo, INTEGRATION_DIRS, workspace. */
  integrationSources(): string[] {
    return integrationSources(this.config);
  }

  /**
   * Opens the store (running migrations), creates or updates the env-owned `default` bot,
   * creates the API key on first start, wires everything and loads the integrations, skills
   * and jobs (./lifecycle.ts). Nothing listens until {@link start}.
   * @throws Error when the database cannot be opened, or loading fails (the store is closed)
   */
  static async create(
    config: Config,
    opts: { log?: Logger; tuning?: AppTuning } = {},
  ): Promise<App> {
    const log =
      opts.log ??
      createLogger({ level: config.SWITCHYARD_LOG_LEVEL, format: config.SWITCHYARD_LOG_FORMAT });
    const { store, apiKey } = await openStore(config, log);
    try {
      const app = new App(config, log, store, apiKey, opts.tuning ?? {});
      await loadApp(app);
      return app;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** Syncs the skill store with the loaded integrations' `skills/*.md` (done at create). */
  syncSkills(): Promise<SkillSyncReport> {
    return syncSkills(
      this.skills,
      this.integrations.list().map((r) => ({ integration: r.name, files: r.skills })),
      this.log,
    );
  }

  /** What the MCP tools call (over HTTP and stdio): the same services as REST. */
  get mcpServices(): McpServices {
    return mcpServices(this);
  }

  /** The base URL once listening, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    if (!this.#url) throw new Error("App is not listening");
    return this.#url;
  }

  /** Listens on HOST:PORT (PORT 0 picks a free port) and starts the workers (./lifecycle.ts). */
  start(): Promise<string> {
    return startApp(this, (url) => {
      this.#url = url;
    });
  }

  /**
   * Stops cleanly, in the order of ./lifecycle.ts: requests in flight and running tasks get
   * the grace period, leases are given back early, sends in flight finish, the database
   * closes. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= stopApp(
      this,
      this.#tuning.shutdownGraceMs ?? this.config.SWITCHYARD_SHUTDOWN_GRACE_SECONDS * 1000,
    );
    return this.#stopping;
  }
}
