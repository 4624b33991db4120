/**
 * The composition root: builds the store, registries, workers and HTTP server from a
 * {@link Config}; `start()` listens and starts the workers, `stop()` undoes it in order.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { AdapterHost } from "./adapters/host.ts";
import { envDefaultBot } from "./agent/bot-models.ts";
import { budgetErrorEvent } from "./agent/budget.ts";
import { ModelCheckResult } from "./agent/model-check-result.ts";
import { ModelRegistry } from "./agent/models.ts";
import { type SkillSyncReport, syncSkills } from "./agent/skills-sync.ts";
import { ToolRegistry } from "./agent/tools.ts";
import { mountApi } from "./api/index.ts";
import { apiDeps } from "./api/wiring.ts";
import type { ApprovalService } from "./approvals/service.ts";
import { createApprovalService } from "./approvals/wiring.ts";
import { inboundSaver } from "./attachments/inbound.ts";
import { replyFiles } from "./attachments/reply-files.ts";
import type { AttachmentService } from "./attachments/service.ts";
import { attachmentServiceFromEnv } from "./attachments/settings.ts";
import {
  attachmentDescriber,
  attachmentTools,
  modelContent,
  mountAttachmentsApi,
} from "./attachments/wiring.ts";
import type { Config } from "./config.ts";
import { combineFinishRows, delegationFinishRows, setUpDelegation } from "./delegation/index.ts";
import { createInternalDispatcher } from "./dispatch/internal.ts";
import { DispatcherRegistry } from "./dispatch/registry.ts";
import { createWebhookDispatcher } from "./dispatch/webhook.ts";
import { DocumentService } from "./documents/service.ts";
import { searchDocumentsTool } from "./documents/tool.ts";
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
import { type ApiKeyInfo, ensureApiKey } from "./http/api-key-setup.ts";
import { ApiKeyAuth } from "./http/auth.ts";
import { Metrics } from "./http/metrics.ts";
import { buildServer, closeServer, listen } from "./http/server.ts";
import { uuidv7 } from "./ids.ts";
import { InstanceHeartbeat } from "./instances/heartbeat.ts";
import { integrationSources } from "./integrations/discovery.ts";
import type { IntegrationManager } from "./integrations/manager.ts";
import { ProcessSupervisor } from "./integrations/processes.ts";
import { createIntegrations } from "./integrations/wiring.ts";
import { LeaseService } from "./leases/exclusive.ts";
import { createLogger } from "./lib/logger.ts";
import { mountMcpHttp } from "./mcp/http.ts";
import type { McpServices } from "./mcp/server.ts";
import { OutboundHttpClient } from "./outbox/http-client.ts";
import { createDeliveryWorker } from "./outbox/wiring.ts";
import type { DeliveryWorker } from "./outbox/worker.ts";
import type { RuntimeService } from "./runtime/service.ts";
import { createRuntime } from "./runtime/wiring.ts";
import type { SchedulerLoop } from "./scheduler/loop.ts";
import type { JobRunner } from "./scheduler/runner.ts";
import type { JobService } from "./scheduler/service.ts";
import { jobSources, syncJobs } from "./scheduler/sync.ts";
import { createScheduler } from "./scheduler/wiring.ts";
import { SessionService } from "./sessions/service.ts";
import { Store } from "./store/index.ts";
import type { SkillRepository } from "./store/skills.ts";
import { TaskFinisher } from "./tasks/finish.ts";
import { createTaskFinishedHook } from "./tasks/finished-hook.ts";
import { createTurnRunner } from "./tasks/run-turn.ts";
import { TaskWorker } from "./tasks/worker.ts";
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
    this.documents = new DocumentService({
      store,
      models: this.models,
      embeddingModel: config.SWITCHYARD_EMBEDDING_MODEL,
      log,
      maxRetries: tuning.llmMaxRetries,
    });
    this.tools.register(searchDocumentsTool(this.documents));
    this.runtime = createRuntime({ config, store, tools: this.tools });
    this.attachments = attachmentServiceFromEnv(config.env, config.dataDir, store);
    for (const tool of attachmentTools({
      store,
      attachments: this.attachments,
      runtime: this.runtime,
      workspaceDir: config.workspaceDir,
    })) {
      this.tools.register(tool);
    }
    this.skills = store.skills;
    this.hooks = new HookRegistry(log);
    this.dispatchers = new DispatcherRegistry(log);
    this.http = new OutboundHttpClient({
      allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS,
      resolver: tuning.resolver,
      connector: tuning.connector,
      baseRetryDelayMs: tuning.httpRetryDelayMs,
      defaultTimeoutMs: tuning.httpTimeoutMs,
    });

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
    const finisher = new TaskFinisher(
      store,
      () => this.deliveryWorker.poke(),
      createTaskFinishedHook({ store, hooks: this.hooks, log }),
      combineFinishRows(outbound.finishRows, delegationFinishRows),
    );
    this.taskWorker = new TaskWorker({
      store,
      finisher,
      log,
      owner: this.owner,
      concurrency: config.SWITCHYARD_WORKER_CONCURRENCY,
      leaseMs: tuning.taskLeaseMs ?? config.SWITCHYARD_TASK_LEASE_SECONDS * 1000,
      pollMs: tuning.pollMs,
      defaultMaxRunSeconds: config.TASK_MAX_RUN_SECONDS,
      onPoke: () => this.wakeups.tell("task"),
      execute: createTurnRunner({
        store,
        models: this.models,
        tools: this.tools,
        skills: this.skills,
        hooks: this.hooks,
        log,
        onToolCall: (call) => this.events.toolCalled(call),
        maxRetries: tuning.llmMaxRetries,
        approvals: this.approvals,
        userContent: modelContent(this.attachments),
        maxRepeatedToolCalls: config.SWITCHYARD_MAX_REPEATED_TOOL_CALLS,
        onBudgetExceeded: (task, err) => this.events.emit("error", budgetErrorEvent(task, err)),
      }),
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

    this.dispatchers.register(
      "webhook",
      createWebhookDispatcher(this.http, {
        allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS,
        resolver: tuning.resolver,
      }),
    );
    this.dispatchers.register("internal", createInternalDispatcher(this.sessions));

    this.server = buildServer({
      log,
      bodyLimit: config.SWITCHYARD_MAX_BODY_BYTES,
      closing: () => this.#stopping !== undefined,
      timeouts: {
        requestMs: config.SWITCHYARD_REQUEST_TIMEOUT_SECONDS * 1000,
        headersMs: config.SWITCHYARD_HEADERS_TIMEOUT_SECONDS * 1000,
        keepAliveMs: config.SWITCHYARD_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      },
    });
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
    this.heartbeat = new InstanceHeartbeat({
      instances: store.instances,
      id: this.owner,
      version: VERSION,
      hostname: hostname(),
      intervalMs: tuning.instanceHeartbeatMs,
      log,
    });
    this.adapters = new AdapterHost({
      store,
      sessions: this.sessions,
      dispatchers: this.dispatchers,
      deliveryWorker: this.deliveryWorker,
      log,
      env: config.env,
      retryBaseMs: tuning.adapterRetryMs,
      decide: (adapter, input) => this.approvals.decideFromConversation(adapter, input),
      saveFiles: inboundSaver({ attachments: this.attachments, http: this.http, log }),
      replyFiles: replyFiles(store, this.attachments),
    });
    this.integrations = createIntegrations(this, tuning);
    // The REST API (one Fastify plugin per resource) and MCP over HTTP.
    mountApi(this.server, apiDeps(this, { tuning, url: () => this.#url }));
    mountAttachmentsApi(this.server, { auth: this.auth, store, attachments: this.attachments });
    mountMcpHttp(this.server, this.auth, () => this.mcpServices, VERSION);
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
   * creates the API key on first start, and wires everything. Nothing listens until {@link start}.
   * @throws Error when the database cannot be opened
   */
  static async create(
    config: Config,
    opts: { log?: Logger; tuning?: AppTuning } = {},
  ): Promise<App> {
    const log =
      opts.log ??
      createLogger({ level: config.SWITCHYARD_LOG_LEVEL, format: config.SWITCHYARD_LOG_FORMAT });
    mkdirSync(config.dataDir, { recursive: true });
    const store = await Store.open(config.databaseUrl, {
      secretKey: config.SWITCHYARD_SECRET_KEY,
      onPoolError: (err) =>
        log.warn({ err: err.message }, "database connection lost; the pool replaces it"),
    });
    try {
      // Follows SWITCHYARD_MODEL at every start until it is edited through the admin API.
      await store.bots.syncFromEnv(envDefaultBot(config.SWITCHYARD_MODEL));
      const apiKey = await ensureApiKey(store, config);
      const app = new App(config, log, store, apiKey, opts.tuning ?? {});
      await app.documents.init();
      mkdirSync(join(config.workspaceDir, "integrations"), { recursive: true });
      await app.integrations.loadAll(app.integrationSources(), app.server);
      await app.integrations.loadToolDirs(config.toolDirs);
      await app.syncSkills();
      await syncJobs(app.jobs, store, jobSources(app.integrations.list()), log);
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
    return {
      outbound: this.outbound,
      core: { sessions: this.sessions, documents: this.documents, store: this.store },
      jobs: { jobs: this.jobs, runner: this.jobRunner, store: this.store },
      approvals: { store: this.store, approvals: this.approvals },
    };
  }

  /** The base URL once listening, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    if (!this.#url) throw new Error("App is not listening");
    return this.#url;
  }

  /** Listens on HOST:PORT (PORT 0 picks a free port) and starts the workers. */
  async start(): Promise<string> {
    await this.telemetry.start();
    this.#url = await listen(this.server, this.config.HOST, this.config.PORT);
    await this.heartbeat.start();
    this.deliveryWorker.start();
    this.taskWorker.start();
    this.approvals.start();
    this.scheduler.start();
    this.wakeups.start();
    await this.adapters.startAll();
    return this.#url;
  }

  /**
   * Stops cleanly: no new requests or claims; requests in flight and running tasks get the
   * grace period (then connections are cut, tasks aborted and their leases given back),
   * sends in flight finish, the database closes. Leases (`ctx.exclusive` runs, singleton
   * processes) are given back early, right after the adapters stop, so another instance
   * takes that work over at once rather than after the leases expire. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const graceMs =
        this.#tuning.shutdownGraceMs ?? this.config.SWITCHYARD_SHUTDOWN_GRACE_SECONDS * 1000;
      await this.scheduler.stop();
      await this.adapters.stopAll();
      // Aborts every remaining exclusive run (a singleton process's child is stopped by its
      // own) and releases the leases, alongside the grace period rather than before it.
      const leasesGiven = this.leases.stop();
      const tasksStopped = this.taskWorker.stop(graceMs);
      await closeServer(this.server, graceMs);
      await this.processes.stopAll();
      await leasesGiven;
      await tasksStopped;
      await this.approvals.stop();
      await this.runtime.stop();
      // Tasks given back at shutdown: another instance starts them now, not on its next poll.
      this.wakeups.tell("task");
      // Commits first: a failed one emits an `error` event, which the drain then sends.
      await this.gitAutoCommit.idle();
      await this.events.drain();
      await this.hookWebhooks.drain();
      await this.deliveryWorker.stop();
      await this.wakeups.stop();
      await this.http.close();
      await this.heartbeat.stop();
      await this.attachments.close();
      await this.store.close();
      await this.telemetry.stop(); // exports the spans still buffered
    })();
    return this.#stopping;
  }
}
