/**
 * The composition root: builds the store, registries, workers and HTTP server from a
 * {@link Config}; `start()` listens and starts the workers, `stop()` undoes it in order.
 */
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { runAgentTurn } from "./agent/loop.ts";
import { ModelRegistry } from "./agent/models.ts";
import { type SkillSyncReport, syncSkills } from "./agent/skills-sync.ts";
import { ToolRegistry } from "./agent/tools.ts";
import { adminBotRoutes } from "./api/admin-bots.ts";
import { adminIntegrationRoutes } from "./api/admin-integrations.ts";
import { deliveryRoutes } from "./api/deliveries.ts";
import { documentRoutes } from "./api/documents.ts";
import { notificationRoutes } from "./api/notifications.ts";
import { sessionRoutes } from "./api/sessions.ts";
import { skillRoutes } from "./api/skills.ts";
import { stateRoutes } from "./api/state.ts";
import { systemRoutes } from "./api/system.ts";
import { taskRoutes } from "./api/tasks.ts";
import { webhookRoutes } from "./api/webhooks.ts";
import type { Config } from "./config.ts";
import { createInternalDispatcher } from "./dispatch/internal.ts";
import { DispatcherRegistry } from "./dispatch/registry.ts";
import { createWebhookDispatcher } from "./dispatch/webhook.ts";
import { DocumentService } from "./documents/service.ts";
import { searchDocumentsTool } from "./documents/tool.ts";
import { EVENT_TARGET_TYPE, type EventService } from "./events/events.ts";
import type { GitAutoCommit } from "./events/git-auto-commit.ts";
import { HOOK_WEBHOOK_TARGET_TYPE, HookWebhooks } from "./events/hook-webhooks.ts";
import type { NotificationService } from "./events/notifications.ts";
import { createOutbound } from "./events/outbound.ts";
import type { OutboundServices } from "./events/outbound-types.ts";
import type { WebhookSubscriptionService } from "./events/webhook-subscriptions.ts";
import { HookRegistry } from "./hooks/lifecycle.ts";
import { type ApiKeyInfo, ensureApiKey } from "./http/api-key-setup.ts";
import { ApiKeyAuth } from "./http/auth.ts";
import { Metrics } from "./http/metrics.ts";
import { RouteTable } from "./http/routes.ts";
import { buildServer } from "./http/server.ts";
import { uuidv7 } from "./ids.ts";
import { createIntegrationContext } from "./integrations/context.ts";
import { integrationSources } from "./integrations/discovery.ts";
import { IntegrationManager } from "./integrations/manager.ts";
import { ProcessSupervisor } from "./integrations/processes.ts";
import { mountMcpHttp } from "./mcp/http.ts";
import type { Connector } from "./outbox/connector.ts";
import { OutboundHttpClient } from "./outbox/http-client.ts";
import type { Resolver } from "./outbox/ssrf.ts";
import { DeliveryWorker } from "./outbox/worker.ts";
import { MessageService } from "./sessions/inject.ts";
import { Store } from "./store/index.ts";
import { IntegrationSettingsRepository } from "./store/integration-settings.ts";
import { listTurnHistory } from "./store/messages.ts";
import type { Session } from "./store/sessions.ts";
import { SkillStore } from "./store/skills.ts";
import { setTaskWarnings, type Task } from "./store/tasks.ts";
import { insertToolCall } from "./store/tool-calls.ts";
import { TaskFinisher } from "./tasks/finish.ts";
import { TaskWorker } from "./tasks/worker.ts";

/** Package version, shown in the banner and the OpenAPI document. */
export const VERSION = "0.1.0";

/** Knobs for tests and benchmarks; production uses the defaults. Times in ms. */
export interface AppTuning {
  /** Fallback poll of both workers (default 1000). */
  pollMs?: number;
  /** Task lease length (default 30 000). */
  taskLeaseMs?: number;
  /** Outbox retry delays (default 5 s … 10 h). */
  deliveryScheduleMs?: number[];
  /** Smallest outbox delay after a 429 or timeout (default 60 000). */
  minBackoffAfterThrottleMs?: number;
  /** LLM retries per model (default 2). */
  llmMaxRetries?: number;
  /** Outbound client: inline retry base delay (default 100) and timeout (default 15 000). */
  httpRetryDelayMs?: number;
  httpTimeoutMs?: number;
  /** DNS resolver and connector for the outbound client's SSRF guard (tests inject these). */
  resolver?: Resolver;
  connector?: Connector;
  /** Grace period for running tasks on stop (default 10 000). */
  shutdownGraceMs?: number;
  /** Start integrations' background processes (default true; `switchyard mcp` says false). */
  startProcesses?: boolean;
}

/** A built server. */
export class App {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly models: ModelRegistry;
  readonly tools = new ToolRegistry();
  readonly documents: DocumentService;
  readonly skills: SkillStore;
  readonly hooks: HookRegistry;
  readonly dispatchers: DispatcherRegistry;
  readonly http: OutboundHttpClient;
  readonly messages: MessageService;
  readonly taskWorker: TaskWorker;
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
  readonly hookWebhooks: HookWebhooks;
  readonly auth: ApiKeyAuth;
  readonly metrics: Metrics;
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
    this.documents = new DocumentService({
      store,
      models: this.models,
      embeddingModel: config.SWITCHYARD_EMBEDDING_MODEL,
      log,
      maxRetries: tuning.llmMaxRetries,
    });
    this.tools.register(searchDocumentsTool(this.documents));
    this.skills = new SkillStore(store.k);
    this.hooks = new HookRegistry(log);
    this.dispatchers = new DispatcherRegistry(log);
    this.http = new OutboundHttpClient({
      allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS,
      resolver: tuning.resolver,
      connector: tuning.connector,
      baseRetryDelayMs: tuning.httpRetryDelayMs,
      defaultTimeoutMs: tuning.httpTimeoutMs,
    });

    this.deliveryWorker = new DeliveryWorker({
      store,
      dispatchers: this.dispatchers,
      log,
      owner: this.owner,
      scheduleMs: tuning.deliveryScheduleMs,
      minBackoffAfterThrottleMs: tuning.minBackoffAfterThrottleMs,
      pollMs: tuning.pollMs,
      onOutcome: (d, o) => {
        this.metrics.deliveryAttempt(d.targetType, o.status, o.durationMs);
        // Never for an event delivery's own failure (that could loop), nor a hook webhook's.
        const quiet =
          d.targetType === EVENT_TARGET_TYPE || d.targetType === HOOK_WEBHOOK_TARGET_TYPE;
        if (o.status === "dead" && !quiet) {
          this.events.emit("error", {
            source: "delivery",
            delivery_id: d.id,
            target_type: d.targetType,
            task_id: d.taskId,
            http_status: o.httpStatus,
            error: o.error ?? null,
          });
        }
      },
    });
    const outbound = createOutbound({
      config,
      store,
      log,
      http: this.http,
      deliveryWorker: this.deliveryWorker,
      metrics: this.metrics,
      resolver: tuning.resolver,
      smtpRetryDelayMs: tuning.httpRetryDelayMs,
    });
    this.webhooks = outbound.webhooks;
    this.events = outbound.events;
    this.notifications = outbound.notifications;
    this.gitAutoCommit = outbound.gitAutoCommit;
    this.outbound = outbound.services;
    const finisher = new TaskFinisher(
      store,
      () => this.deliveryWorker.poke(),
      (task, status) => this.#taskFinished(task, status),
      outbound.finishRows,
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
      execute: (task, signal) => this.#execute(task, signal),
    });
    this.messages = new MessageService(
      store,
      (sessionId, _task, rows) => {
        this.taskWorker.taskCreated(sessionId);
        if (rows > 0) this.deliveryWorker.poke();
      },
      outbound.taskCreatedRows,
    );

    this.dispatchers.register("webhook", createWebhookDispatcher(this.http));
    this.dispatchers.register("internal", createInternalDispatcher(store.k, this.messages));

    this.server = buildServer({
      log,
      bodyLimit: config.SWITCHYARD_MAX_BODY_BYTES,
      closing: () => this.#stopping !== undefined,
    });
    this.auth = new ApiKeyAuth(store, config.SWITCHYARD_API_KEY);
    this.hookWebhooks = new HookWebhooks({
      urls: config.HOOK_WEBHOOK_URLS,
      secret: config.HOOK_WEBHOOK_SECRET,
      store,
      deliveryWorker: this.deliveryWorker,
      http: this.http,
      log,
    });
    this.hookWebhooks.attach(this.hooks);
    this.processes = new ProcessSupervisor({ log });
    this.integrations = new IntegrationManager({
      tools: this.tools,
      dispatchers: this.dispatchers,
      hooks: this.hooks,
      log,
      env: config.env,
      settingsStore: new IntegrationSettingsRepository(store.k, config.SWITCHYARD_SECRET_KEY),
      processes: tuning.startProcesses === false ? undefined : this.processes,
      makeContext: (name, settings) => {
        const ctx = createIntegrationContext(
          {
            store,
            log,
            http: this.http,
            messages: this.messages,
            documents: this.documents,
            auth: this.auth,
          },
          name,
          settings,
        );
        const getOrCreate = ctx.getOrCreateSession;
        ctx.getOrCreateSession = async (clientId, opts) => {
          const r = await getOrCreate(clientId, opts);
          if (r.created) {
            this.#sessionEvent("session.start", {
              id: r.sessionId,
              botId: opts?.botId ?? "default",
              clientId,
            });
          }
          return r;
        };
        return ctx;
      },
    });
    this.#routes();
  }

  /** Where integrations are discovered, in order: repo, INTEGRATION_DIRS, workspace. */
  integrationSources(): string[] {
    return integrationSources(this.config);
  }

  /** The URL users reach this server at (for webhook URLs in the admin API). */
  #publicUrl(): string {
    return this.#url ?? `http://${this.config.HOST}:${this.config.PORT}`;
  }

  /** Emits session.start / session.end {session_id, bot_id, client_id} (fire-and-forget). */
  #sessionEvent(
    name: "session.start" | "session.end",
    s: Pick<Session, "id" | "botId" | "clientId"> & { endedAt?: number | null },
  ): void {
    const ended = name === "session.end" ? { ended_at: new Date(s.endedAt ?? Date.now()) } : {};
    this.events.emit(name, {
      session_id: s.id,
      bot_id: s.botId,
      client_id: s.clientId,
      ...ended,
    });
  }

  /**
   * Fires `after_task_complete` {task_id, status} (fire-and-forget). task.completed /
   * task.failed were written with the task's final state (see the TaskFinisher above).
   */
  #taskFinished(task: Task, status: "complete" | "failed"): void {
    if (!this.hooks.has("after_task_complete")) return;
    this.store.sessions.get(task.sessionId).then(
      (session) =>
        this.hooks.fire("after_task_complete", {
          botId: task.botId,
          sessionId: task.sessionId,
          clientId: session?.clientId ?? null,
          correlationId: task.id,
          extra: { task_id: task.id, status },
        }),
      (err) => this.log.warn({ err, task_id: task.id }, "after_task_complete hook skipped"),
    );
  }

  /**
   * Opens the store (running migrations), creates the `default` bot and the API key on
   * first start, and wires everything. Nothing listens until {@link start}.
   * @throws Error when the database cannot be opened
   */
  static async create(
    config: Config,
    opts: { log?: Logger; tuning?: AppTuning } = {},
  ): Promise<App> {
    const log = opts.log ?? pino({ level: config.SWITCHYARD_LOG_LEVEL });
    mkdirSync(config.dataDir, { recursive: true });
    const store = await Store.open(config.databaseUrl, {
      onPoolError: (err) =>
        log.warn({ err: err.message }, "database connection lost; the pool replaces it"),
    });
    try {
      await store.bots.create({
        id: "default",
        name: "Default",
        model: config.SWITCHYARD_MODEL,
        systemPrompt: "You are a helpful assistant.",
      });
      const apiKey = await ensureApiKey(store, config);
      const app = new App(config, log, store, apiKey, opts.tuning ?? {});
      await app.documents.init();
      mkdirSync(join(config.workspaceDir, "integrations"), { recursive: true });
      await app.integrations.loadAll(app.integrationSources(), app.server);
      await app.integrations.loadToolDirs(config.toolDirs);
      await app.syncSkills();
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

  /** The base URL once listening, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    if (!this.#url) throw new Error("App is not listening");
    return this.#url;
  }

  /** Listens on HOST:PORT (PORT 0 picks a free port) and starts the workers. */
  async start(): Promise<string> {
    await this.server.listen({ host: this.config.HOST, port: this.config.PORT });
    const addr = this.server.server.address();
    const port = typeof addr === "object" && addr ? addr.port : this.config.PORT;
    const host = this.config.HOST.includes(":") ? `[${this.config.HOST}]` : this.config.HOST;
    this.#url = `http://${host}:${port}`;
    this.deliveryWorker.start();
    this.taskWorker.start();
    return this.#url;
  }

  /**
   * Stops cleanly: no new requests or claims, running tasks get the grace period and then
   * give their leases back, sends in flight finish, the database closes. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.server.close().catch(() => {});
      await this.processes.stopAll();
      await this.taskWorker.stop(
        this.#tuning.shutdownGraceMs ?? this.config.SWITCHYARD_SHUTDOWN_GRACE_SECONDS * 1000,
      );
      // Commits first: a failed one emits an `error` event, which the drain then sends.
      await this.gitAutoCommit.idle();
      await this.events.drain();
      await this.hookWebhooks.drain();
      await this.deliveryWorker.stop();
      await this.http.close();
      await this.store.close();
    })();
    return this.#stopping;
  }

  async #execute(task: Parameters<typeof runAgentTurn>[1]["task"], signal: AbortSignal) {
    const bot = await this.store.bots.get(task.botId);
    if (!bot) throw new Error(`Unknown bot: ${task.botId}`);
    const session = await this.store.sessions.get(task.sessionId);
    if (!session) throw new Error(`Session ${task.sessionId} no longer exists`);
    const history = await listTurnHistory(this.store.k, task.sessionId, task.messageId, 50);
    return runAgentTurn(
      {
        models: this.models,
        tools: this.tools,
        skills: this.skills,
        hooks: this.hooks,
        log: this.log,
        recordToolCall: (c) => {
          this.events.toolCalled(c);
          return insertToolCall(this.store.k, c);
        },
        recordWarnings: (id, warnings) => setTaskWarnings(this.store.k, id, warnings),
        maxRetries: this.#tuning.llmMaxRetries ?? 2,
        maxSteps: 10,
      },
      { task, bot, session, history, signal },
    );
  }

  #routes(): void {
    const routes = new RouteTable(this.server, this.auth);
    systemRoutes(routes, { store: this.store, metrics: this.metrics, version: VERSION });
    sessionRoutes(routes, this.store, this.messages, {
      started: (s) => this.#sessionEvent("session.start", s),
      ended: (s) => this.#sessionEvent("session.end", s),
    });
    taskRoutes(routes, this.store, (id) => this.taskWorker.abortLocal(id));
    webhookRoutes(routes, () => this.outbound);
    deliveryRoutes(routes, this.store, () => this.deliveryWorker.poke());
    notificationRoutes(
      routes,
      () => this.notifications,
      () => this.gitAutoCommit,
    );
    stateRoutes(routes, () => this.outbound.state());
    mountMcpHttp(this.server, this.auth, () => this.outbound, VERSION);
    documentRoutes(routes, this.documents);
    skillRoutes(routes, this.skills);
    adminBotRoutes(routes, this.store, this.config.SWITCHYARD_MODEL);
    adminIntegrationRoutes(
      routes,
      () => this.integrations,
      () => this.processes,
      () => this.#publicUrl(),
    );
  }
}
