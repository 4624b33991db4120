/**
 * `/api/v1/admin/channels…` (admin scope): which bot answers an outside conversation
 * (DESIGN §3). A channel is named by its adapter (`integration`, the adapter's name), the
 * provider's team id (optional) and channel id; messages of a conversation without a
 * channel go to the adapter's default bot (`<NAME>_BOT_ID`). `require_mention` null means
 * "by the conversation": true in groups, false in direct messages.
 */
import { z } from "zod";
import { channelKey } from "../adapters/conversation.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import type { Channel } from "../store/channels.ts";
import type { Store } from "../store/index.ts";

const idParams = z.object({ id: z.string().min(1).max(200) });
const providerId = z.string().min(1).max(200);
const createBody = z.strictObject({
  integration: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, "must be an adapter name"),
  team: providerId.nullable().optional(),
  channel: providerId,
  bot_id: z.string().min(1).max(200).optional(),
  require_mention: z.boolean().nullable().optional(),
  passive_memory: z.boolean().optional(),
});
const updateBody = z.strictObject({
  bot_id: z.string().min(1).max(200).optional(),
  require_mention: z.boolean().nullable().optional(),
  passive_memory: z.boolean().optional(),
});
const listQuery = z.strictObject({
  integration: z.string().min(1).max(40).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const iso = (ms: number) => new Date(ms).toISOString();

/** The wire shape of a channel (times ISO 8601). */
export function channelJson(c: Channel) {
  return {
    id: c.id,
    client_id: c.clientId,
    integration: c.integration,
    team: c.team,
    channel: c.channel,
    bot_id: c.botId,
    active_session_id: c.activeSessionId,
    require_mention: c.requireMention,
    passive_memory: c.passiveMemory,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

/** What adminChannelsApi needs. */
export interface AdminChannelsApiOptions {
  store: Store;
}

/** Registers the channel routes. */
export const adminChannelsApi = apiPlugin<AdminChannelsApiOptions>((routes, { store }) => {
  const botMustExist = async (botId: string) => {
    if (!(await store.bots.get(botId))) throw new HttpError(422, `Bot ${botId} does not exist`);
  };
  routes.add({
    method: "GET",
    url: "/api/v1/admin/channels",
    summary: "Channels, newest first; filter by integration (the adapter's name)",
    scope: "admin",
    query: listQuery,
    async handler({ query }) {
      const list = await store.channels.list({
        integration: query.integration,
        limit: query.limit,
      });
      return list.map(channelJson);
    },
  });
  routes.add({
    method: "GET",
    url: "/api/v1/admin/channels/:id",
    summary: "A channel",
    scope: "admin",
    params: idParams,
    async handler({ params }) {
      const c = await store.channels.get(params.id);
      if (!c) throw notFound("Channel");
      return channelJson(c);
    },
  });
  routes.add({
    method: "POST",
    url: "/api/v1/admin/channels",
    summary:
      "Bind a conversation (integration, team?, channel) to a bot; 409 when it is bound already, 422 when the bot does not exist",
    scope: "admin",
    body: createBody,
    status: 201,
    async handler({ body }) {
      const botId = body.bot_id ?? "default";
      await botMustExist(botId);
      const conv = { team: body.team ?? undefined, channel: body.channel };
      const c = await store.channels.insert({
        clientId: channelKey(body.integration, conv),
        integration: body.integration,
        team: body.team ?? null,
        channel: body.channel,
        botId,
        requireMention: body.require_mention ?? null,
        passiveMemory: body.passive_memory ?? false,
      });
      if (!c) throw new HttpError(409, "This conversation has a channel already");
      return channelJson(c);
    },
  });
  routes.add({
    method: "PUT",
    url: "/api/v1/admin/channels/:id",
    summary: "Change a channel's bot, require_mention or passive_memory",
    scope: "admin",
    params: idParams,
    body: updateBody,
    async handler({ params, body }) {
      if (!(await store.channels.get(params.id))) throw notFound("Channel");
      if (body.bot_id !== undefined) await botMustExist(body.bot_id);
      const c = await store.channels.update(params.id, {
        botId: body.bot_id,
        requireMention: body.require_mention,
        passiveMemory: body.passive_memory,
      });
      return channelJson(c!);
    },
  });
  routes.add({
    method: "DELETE",
    url: "/api/v1/admin/channels/:id",
    summary: "Delete a channel (its conversation goes back to the adapter's default bot)",
    scope: "admin",
    params: idParams,
    status: 204,
    async handler({ params }, reply) {
      if (!(await store.channels.delete(params.id))) throw notFound("Channel");
      return reply.code(204).send();
    },
  });
});
