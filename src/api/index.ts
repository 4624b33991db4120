/**
 * The REST API (`/api/v1/*`, health, metrics, OpenAPI, the page at `/about`, the admin UI
 * at `/admin`): every resource is
 * a Fastify plugin (see `http/routes.ts` `apiPlugin`), mounted here with the services it
 * needs. The OpenAPI document is collected from the same zod declarations as the routes
 * register.
 */
import type { FastifyInstance } from "fastify";
import type { ApiKeyAuth } from "../http/auth.ts";
import { OpenApiCollector } from "../http/routes.ts";
import { type AdminBotsApiOptions, adminBotsApi } from "./admin-bots.ts";
import { type AdminChannelsApiOptions, adminChannelsApi } from "./admin-channels.ts";
import { type AdminInstancesApiOptions, adminInstancesApi } from "./admin-instances.ts";
import { type AdminIntegrationsApiOptions, adminIntegrationsApi } from "./admin-integrations.ts";
import { type AdminKeysApiOptions, adminKeysApi } from "./admin-keys.ts";
import { type AdminModelsApiOptions, adminModelsApi } from "./admin-models.ts";
import { type AdminToolsApiOptions, adminToolsApi } from "./admin-tools.ts";
import { adminUi } from "./admin-ui.ts";
import { type ApprovalsApiOptions, approvalsApi } from "./approvals.ts";
import { type AuthSessionApiOptions, authSessionApi } from "./auth-session.ts";
import { type DeliveriesApiOptions, deliveriesApi } from "./deliveries.ts";
import { deliveryAttemptsApi } from "./delivery-attempts.ts";
import { type DocumentsApiOptions, documentsApi } from "./documents.ts";
import { type HomePageOptions, homePage } from "./home.ts";
import { type JobsApiOptions, jobsApi } from "./jobs.ts";
import { type LiveStreamApiOptions, liveStreamApi } from "./live-stream.ts";
import { type NotificationsApiOptions, notificationsApi } from "./notifications.ts";
import { type SessionListApiOptions, sessionListApi } from "./session-list.ts";
import { type SessionStreamApiOptions, sessionStreamApi } from "./session-stream.ts";
import { type SessionsApiOptions, sessionsApi } from "./sessions.ts";
import { type SkillsApiOptions, skillsApi } from "./skills.ts";
import { type StateApiOptions, stateApi } from "./state.ts";
import { type SystemApiOptions, systemApi } from "./system.ts";
import { taskTimelineApi } from "./task-timeline.ts";
import { type TasksApiOptions, tasksApi } from "./tasks.ts";
import { type WebhooksApiOptions, webhooksApi } from "./webhooks.ts";

/** Every resource's options, by resource. */
export interface ApiDeps {
  auth: ApiKeyAuth;
  system: Omit<SystemApiOptions, "openApi">;
  sessions: SessionsApiOptions & SessionListApiOptions;
  tasks: TasksApiOptions;
  jobs: JobsApiOptions;
  webhooks: WebhooksApiOptions;
  deliveries: DeliveriesApiOptions;
  notifications: NotificationsApiOptions;
  state: StateApiOptions;
  documents: DocumentsApiOptions;
  skills: SkillsApiOptions;
  adminBots: AdminBotsApiOptions;
  adminIntegrations: AdminIntegrationsApiOptions;
  home: HomePageOptions;
  adminKeys: AdminKeysApiOptions;
  adminChannels: AdminChannelsApiOptions;
  sessionStream: SessionStreamApiOptions;
  authSession: AuthSessionApiOptions;
  liveStream: LiveStreamApiOptions;
  adminModels: AdminModelsApiOptions;
  adminTools: AdminToolsApiOptions;
  adminInstances: AdminInstancesApiOptions;
  approvals: ApprovalsApiOptions;
}

/**
 * Registers every API plugin on `server`. Routes are added when Fastify loads the plugins
 * (at `ready()`/`listen()`), in this order.
 */
export function mountApi(server: FastifyInstance, deps: ApiDeps): void {
  const openApi = new OpenApiCollector();
  openApi.attach(server);
  const { auth } = deps;
  server.register(systemApi, { auth, ...deps.system, openApi });
  server.register(sessionsApi, { auth, ...deps.sessions });
  server.register(sessionListApi, { auth, ...deps.sessions });
  server.register(tasksApi, { auth, ...deps.tasks });
  server.register(taskTimelineApi, { auth, store: deps.tasks.store });
  server.register(approvalsApi, { auth, ...deps.approvals });
  server.register(jobsApi, { auth, ...deps.jobs });
  server.register(webhooksApi, { auth, ...deps.webhooks });
  server.register(deliveriesApi, { auth, ...deps.deliveries });
  server.register(deliveryAttemptsApi, { auth, store: deps.deliveries.store });
  server.register(notificationsApi, { auth, ...deps.notifications });
  server.register(stateApi, { auth, ...deps.state });
  server.register(documentsApi, { auth, ...deps.documents });
  server.register(skillsApi, { auth, ...deps.skills });
  server.register(adminBotsApi, { auth, ...deps.adminBots });
  server.register(adminIntegrationsApi, { auth, ...deps.adminIntegrations });
  server.register(homePage, { auth, ...deps.home });
  server.register(adminKeysApi, { auth, ...deps.adminKeys });
  server.register(adminChannelsApi, { auth, ...deps.adminChannels });
  server.register(sessionStreamApi, { auth, ...deps.sessionStream });
  server.register(authSessionApi, { auth, ...deps.authSession });
  server.register(liveStreamApi, { auth, ...deps.liveStream });
  server.register(adminModelsApi, { auth, ...deps.adminModels });
  server.register(adminToolsApi, { auth, ...deps.adminTools });
  server.register(adminInstancesApi, { auth, ...deps.adminInstances });
  server.register(adminUi);
}
