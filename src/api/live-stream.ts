/**
 * `GET /api/v1/stream`: server-sent events of the whole server, for the admin UI's live
 * pages, filtered by the key's scopes:
 *
 * | event         | data                                                        | scope          |
 * |---------------|-------------------------------------------------------------|----------------|
 * | `task`        | `{id, session_id, bot_id, status, error}` on each change     | `tasks:read`   |
 * | `message`     | `{id, session_id, role, content, created_at, task_id}`       | `sessions:read`|
 * | `delivery`    | `{id, task_id, target_type, status, attempts, last_error}`   | `webhooks:read`|
 * | `integration` | `{id, status, adapter, process}` when one of them changes    | `admin`        |
 * | `approval`    | `{id, task_id, session_id, tool, status}` when requested or decided | `approvals:read` |
 *
 * It reads the store every `pollMs` (a window reaching a few seconds back, de-duplicated),
 * so it sees what any instance on the same database wrote — no in-process bus, which would
 * miss other instances' changes. It starts from "now": there is no `Last-Event-ID` resume;
 * a client re-fetches its lists when it (re)connects and applies events from then on.
 * Integration status is this instance's own view. A comment line every 15 s keeps proxies
 * from closing it.
 */
import type { AdapterStatus } from "../adapters/host.ts";
import type { ApiKeyAuth } from "../http/auth.ts";
import { apiPlugin } from "../http/routes.ts";
import type { IntegrationManager } from "../integrations/manager.ts";
import type { ProcessSupervisor } from "../integrations/processes.ts";
import { scopeAllows } from "../store/api-keys.ts";
import type { Store } from "../store/index.ts";

/** Keep-alive comment interval (ms). */
const KEEPALIVE_MS = 15_000;
/** How far back each poll reaches past the previous one (ms): covers commit lag and clocks. */
const OVERLAP_MS = 5_000;
/** Most rows of one kind read per poll. */
const BATCH = 200;

/** What liveStreamApi needs. */
export interface LiveStreamApiOptions {
  store: Store;
  integrations: () => IntegrationManager;
  processes: () => ProcessSupervisor;
  adapterStatus: (integration: string) => AdapterStatus | undefined;
  /** How often the store is read (ms); default 1000. */
  pollMs?: number;
}

/** Remembers what was sent, by id, and forgets entries older than the window. */
class Seen {
  readonly #map = new Map<string, { sig: string; at: number }>();
  /** True when `id` was not sent with this `sig` yet; records it. */
  fresh(id: string, sig: string, at: number): boolean {
    if (this.#map.get(id)?.sig === sig) return false;
    this.#map.set(id, { sig, at });
    return true;
  }
  prune(before: number): void {
    for (const [id, e] of this.#map) if (e.at < before) this.#map.delete(id);
  }
}

/** Registers the live stream route. */
export const liveStreamApi = apiPlugin<LiveStreamApiOptions & { auth: ApiKeyAuth }>(
  (routes, { auth, store, integrations, processes, adapterStatus, pollMs = 1000 }) => {
    const integrationSigs = () =>
      new Map(
        integrations()
          .list()
          .map((r) => {
            const data = {
              id: r.name,
              status: r.status,
              adapter: adapterStatus(r.name)?.state ?? null,
              process: processes().status(r.name)[0]?.state ?? null,
            };
            return [r.name, { data, sig: JSON.stringify(data) }] as const;
          }),
      );

    routes.add({
      method: "GET",
      url: "/api/v1/stream",
      summary:
        "Server-sent events of the server (task, message, delivery, integration, approval), filtered by the key's scopes; starts now, no resume: re-fetch lists on reconnect",
      async handler({ req }, reply) {
        const key = await auth.authenticate(req);
        const can = {
          tasks: scopeAllows(key.scopes, "tasks:read"),
          messages: scopeAllows(key.scopes, "sessions:read"),
          deliveries: scopeAllows(key.scopes, "webhooks:read"),
          integrations: scopeAllows(key.scopes, "admin"),
          approvals: scopeAllows(key.scopes, "approvals:read"),
        };
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        res.write(
          `: stream open; events: ${
            Object.keys(can)
              .filter((k) => can[k as keyof typeof can])
              .join(", ") || "none"
          }\n\n`,
        );
        let closed = false;
        res.on("close", () => {
          closed = true;
        });
        let lastWrite = Date.now();
        const send = (event: string, data: unknown) => {
          res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
          lastWrite = Date.now();
        };
        const seen = {
          tasks: new Seen(),
          messages: new Seen(),
          deliveries: new Seen(),
          approvals: new Seen(),
        };
        let since = Date.now();
        let integrationsBefore = can.integrations ? integrationSigs() : new Map();
        while (!closed) {
          await new Promise((r) => setTimeout(r, pollMs));
          if (closed) break;
          const pollStart = Date.now();
          const from = since - OVERLAP_MS;
          try {
            if (can.tasks) {
              for (const t of await store.tasks.listChangedSince(from, BATCH)) {
                const at = Math.max(t.createdAt, t.startedAt ?? 0, t.completedAt ?? 0);
                if (!seen.tasks.fresh(t.id, t.status, at)) continue;
                send("task", {
                  id: t.id,
                  session_id: t.sessionId,
                  bot_id: t.botId,
                  status: t.status,
                  error: t.error ?? null,
                });
              }
            }
            if (can.messages) {
              for (const m of await store.messages.listCreatedSince(from, BATCH)) {
                if (!seen.messages.fresh(m.id, "", m.createdAt)) continue;
                send("message", {
                  id: m.id,
                  session_id: m.sessionId,
                  role: m.role,
                  content: m.content,
                  created_at: new Date(m.createdAt).toISOString(),
                  task_id: typeof m.metadata.task_id === "string" ? m.metadata.task_id : null,
                });
              }
            }
            if (can.deliveries) {
              for (const d of await store.deliveries.listUpdatedSince(from, BATCH)) {
                if (!seen.deliveries.fresh(d.id, `${d.status}/${d.attempts}`, d.updatedAt))
                  continue;
                send("delivery", {
                  id: d.id,
                  task_id: d.taskId,
                  target_type: d.targetType,
                  status: d.status,
                  attempts: d.attempts,
                  last_error: d.lastError,
                });
              }
            }
            if (can.approvals) {
              for (const a of await store.approvals.listChangedSince(from, BATCH)) {
                if (!seen.approvals.fresh(a.id, a.status, a.decidedAt ?? a.requestedAt)) continue;
                send("approval", {
                  id: a.id,
                  task_id: a.taskId,
                  session_id: a.sessionId,
                  tool: a.tool,
                  status: a.status,
                });
              }
            }
            if (can.integrations) {
              const now = integrationSigs();
              for (const [id, { data, sig }] of now) {
                if (integrationsBefore.get(id)?.sig !== sig) send("integration", data);
              }
              integrationsBefore = now;
            }
            if (Date.now() - lastWrite > KEEPALIVE_MS) {
              res.write(": keep-alive\n\n");
              lastWrite = Date.now();
            }
          } catch {
            break;
          }
          since = pollStart;
          for (const s of Object.values(seen)) s.prune(from - OVERLAP_MS);
        }
        res.end();
      },
    });
  },
);
