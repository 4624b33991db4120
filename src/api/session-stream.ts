/**
 * `GET /api/v1/sessions/{id}/stream` (scope sessions:read): server-sent events of a
 * session as they are committed — `message` (`{id, role, content, created_at, task_id}`,
 * SSE id = the message id) and `task` (`{id, status, error}` each time one of the
 * session's tasks changes status). It starts after the newest message, or after `after` /
 * the `Last-Event-ID` header (to resume), and reads the store, so it sees what any instance
 * wrote. A comment line every 15 s keeps proxies from closing it.
 */
import { z } from "zod";
import { notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { Store } from "../store/index.ts";

/** How often the stream looks for new rows (ms). */
const POLL_MS = 200;
/** Keep-alive comment interval (ms). */
const KEEPALIVE_MS = 15_000;

const idParams = z.object({ id: z.string().min(1).max(200) });
const streamQuery = z.strictObject({ after: z.string().min(1).max(200).optional() });

/** What sessionStreamApi needs. */
export interface SessionStreamApiOptions {
  store: Store;
}

/** Registers the session stream route. */
export const sessionStreamApi = apiPlugin<SessionStreamApiOptions>((routes, { store }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/sessions/:id/stream",
    summary:
      "Server-sent events of a session: message and task (status changes); resume with after=<message id> or Last-Event-ID",
    scope: "sessions:read",
    params: idParams,
    query: streamQuery,
    async handler({ params, query, req }, reply) {
      if (!(await store.sessions.get(params.id))) throw notFound("Session");
      const lastEventId = req.headers["last-event-id"];
      let after =
        query.after ??
        (typeof lastEventId === "string" && lastEventId ? lastEventId : undefined) ??
        (await store.messages.listRecent(params.id, 1))[0]?.id;
      const seen = new Map<string, string>();
      for (const t of await store.tasks.list({ sessionId: params.id, limit: 50 })) {
        seen.set(t.id, t.status);
      }
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      res.write(": stream open\n\n");
      let closed = false;
      let lastWrite = Date.now();
      const send = (event: string, data: unknown, id?: string) => {
        res.write(`${id ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        lastWrite = Date.now();
      };
      res.on("close", () => {
        closed = true;
      });
      while (!closed) {
        try {
          for (const m of await store.messages.listAfter(params.id, after, 100)) {
            send(
              "message",
              {
                id: m.id,
                role: m.role,
                content: m.content,
                created_at: new Date(m.createdAt).toISOString(),
                task_id: typeof m.metadata.task_id === "string" ? m.metadata.task_id : null,
              },
              m.id,
            );
            after = m.id;
          }
          for (const t of await store.tasks.list({ sessionId: params.id, limit: 50 })) {
            if (seen.get(t.id) === t.status) continue;
            seen.set(t.id, t.status);
            send("task", { id: t.id, status: t.status, error: t.error ?? null });
          }
          if (Date.now() - lastWrite > KEEPALIVE_MS) {
            res.write(": keep-alive\n\n");
            lastWrite = Date.now();
          }
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      res.end();
    },
  });
});
