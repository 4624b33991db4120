/**
 * `GET /api/v1/sessions`: sessions newest first, filtered (bot, client_id prefix, open or
 * ended, since) and paged by cursor (see ./pages.ts). Also the wire shape of a session.
 */
import { z } from "zod";
import { apiPlugin } from "../http/routes.ts";
import { redactConfig } from "../lib/redact.ts";
import type { Store } from "../store/index.ts";
import type { Session } from "../store/sessions.ts";
import { page, pageQuery, queryText } from "./pages.ts";

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** The wire shape of a session (dispatch_config redacted; times ISO 8601). */
export function sessionJson(s: Session) {
  return {
    id: s.id,
    bot_id: s.botId,
    client_id: s.clientId,
    dispatch_config: redactConfig(s.dispatchConfig),
    created_at: iso(s.createdAt),
    ended_at: iso(s.endedAt),
  };
}

const listQuery = z.strictObject({
  bot: queryText(200).optional(),
  client_id: queryText(512).optional().describe("client_id prefix (case-sensitive)"),
  status: z.enum(["open", "ended"]).optional(),
  ...pageQuery,
});

/** What sessionListApi needs. */
export interface SessionListApiOptions {
  store: Store;
}

/** Registers `GET /api/v1/sessions`. */
export const sessionListApi = apiPlugin<SessionListApiOptions>((routes, { store }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/sessions",
    summary:
      "Sessions, newest first: filter by bot, client_id prefix, status (open|ended), since; page with cursor=<next_cursor> (limit ≤ 200, default 50)",
    scope: "sessions:read",
    query: listQuery,
    async handler({ query }) {
      const rows = await store.sessions.list({
        botId: query.bot,
        clientIdPrefix: query.client_id,
        state: query.status,
        since: query.since,
        after: query.cursor,
        limit: query.limit + 1,
      });
      return page(rows, query.limit, sessionJson);
    },
  });
});
