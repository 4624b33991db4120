/**
 * The few Discord REST calls the adapter and its CLI make, through `ctx.http` (the server's
 * one outbound client) against `DISCORD_API_URL`. Every message body carries
 * `allowed_mentions: {parse: []}`, so no text from a model can ping @everyone, @here, a role
 * or a user (https://discord.com/developers/docs/resources/message#allowed-mentions-object).
 * A failure becomes a `DeliveryError`: 429 (with Discord's `retry_after`, seconds) and 5xx
 * are retryable, 401/403/404 and other 4xx are final
 * (https://discord.com/developers/docs/topics/rate-limits).
 */
import { createHash } from "node:crypto";
import type { DeliveryError, IntegrationContext, OutboundResult } from "switchyard";

/** Default REST root. */
export const DEFAULT_API_URL = "https://discord.com/api/v10";

/** Longest response body read (bytes): a message object or a command list. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** Mentions parsed in posted text: none. */
const NO_MENTIONS = { parse: [] as string[] };

/**
 * The nonce of a channel post: 25 characters (Discord's limit for a string nonce) of the
 * SHA-256 of the delivery id, stable across retries, so with `enforce_nonce: true` Discord
 * returns the message it already made instead of posting twice within a few minutes
 * (https://discord.com/developers/docs/resources/message#create-message-jsonform-params).
 */
export function nonceOf(deliveryId: string): string {
  return createHash("sha256").update(deliveryId).digest("base64url").slice(0, 25);
}

/** The REST root without a trailing slash. */
function apiRoot(ctx: IntegrationContext): string {
  return (ctx.settings.DISCORD_API_URL || DEFAULT_API_URL).replace(/\/+$/, "");
}

/** The DeliveryError of a failed call (`what` names the call; no token in it). */
export function failure(ctx: IntegrationContext, res: OutboundResult, what: string): DeliveryError {
  const err = ctx.errors.fromResult(res, what)!;
  if (res.status === 429 && err.retryAfterMs === undefined) {
    try {
      const secs = Number(JSON.parse(res.responseBody ?? "{}").retry_after);
      if (Number.isFinite(secs) && secs >= 0) err.retryAfterMs = Math.ceil(secs * 1000);
    } catch {}
  }
  return err;
}

/** One call; resolves with the parsed JSON answer (or undefined for 204). @throws DeliveryError */
async function call(
  ctx: IntegrationContext,
  method: string,
  path: string,
  what: string,
  o: { body?: unknown; bot?: boolean; signal?: AbortSignal },
): Promise<any> {
  const headers: Record<string, string> = {};
  if (o.body !== undefined) headers["content-type"] = "application/json";
  if (o.bot) {
    const token = ctx.settings.DISCORD_BOT_TOKEN;
    if (!token)
      throw new ctx.errors.DeliveryError("DISCORD_BOT_TOKEN is not set", { retryable: false });
    headers.authorization = `Bot ${token}`;
  }
  const res = await ctx.http.request(method, `${apiRoot(ctx)}${path}`, {
    headers,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    maxResponseBytes: MAX_RESPONSE_BYTES,
  });
  if (!res.ok) throw failure(ctx, res, what);
  try {
    return res.responseBody ? JSON.parse(res.responseBody) : undefined;
  } catch {
    return undefined;
  }
}

const appId = (ctx: IntegrationContext) => {
  const id = ctx.settings.DISCORD_APPLICATION_ID;
  if (!id)
    throw new ctx.errors.DeliveryError("DISCORD_APPLICATION_ID is not set", { retryable: false });
  return encodeURIComponent(id);
};

/**
 * Edits the original (deferred) response of an interaction: `PATCH
 * /webhooks/{application.id}/{interaction.token}/messages/@original`. Doing it twice leaves
 * the same message, so a retry is safe. No bot token: the interaction token is the credential.
 * @throws DeliveryError
 */
export function editOriginal(
  ctx: IntegrationContext,
  token: string,
  content: string,
  signal?: AbortSignal,
): Promise<unknown> {
  return call(
    ctx,
    "PATCH",
    `/webhooks/${appId(ctx)}/${encodeURIComponent(token)}/messages/@original`,
    "edit original response",
    {
      body: { content, allowed_mentions: NO_MENTIONS },
      signal,
    },
  );
}

/**
 * A follow-up message to an interaction: `POST /webhooks/{application.id}/{interaction.token}`.
 * Webhook execution has no nonce, and an interaction's follow-ups always show the
 * application's name and avatar (`username`/`avatar_url` do not apply to them).
 * @throws DeliveryError
 */
export function followUp(
  ctx: IntegrationContext,
  token: string,
  content: string,
  signal?: AbortSignal,
): Promise<unknown> {
  return call(
    ctx,
    "POST",
    `/webhooks/${appId(ctx)}/${encodeURIComponent(token)}`,
    "follow-up message",
    {
      body: { content, allowed_mentions: NO_MENTIONS },
      signal,
    },
  );
}

/**
 * A message in a channel with the bot token: `POST /channels/{channel.id}/messages`
 * (https://discord.com/developers/docs/resources/message#create-message), with the
 * delivery's nonce and `enforce_nonce: true`. Posted as the bot user: its name and avatar
 * are the bot's own, not changeable per message.
 * @throws DeliveryError
 */
export function postToChannel(
  ctx: IntegrationContext,
  channelId: string,
  content: string,
  deliveryId: string,
  signal?: AbortSignal,
  components?: unknown[],
): Promise<{ id?: string } | undefined> {
  return call(
    ctx,
    "POST",
    `/channels/${encodeURIComponent(channelId)}/messages`,
    "channel message",
    {
      body: {
        content,
        allowed_mentions: NO_MENTIONS,
        nonce: nonceOf(deliveryId),
        enforce_nonce: true,
        ...(components ? { components } : {}),
      },
      bot: true,
      signal,
    },
  );
}

/**
 * Edits a message the bot posted in a channel: `PATCH /channels/{channel.id}/messages/{message.id}`
 * (https://discord.com/developers/docs/resources/message#edit-message) with new content and
 * components (`[]` removes them). Doing it twice leaves the same message.
 * @throws DeliveryError
 */
export function editChannelMessage(
  ctx: IntegrationContext,
  channelId: string,
  messageId: string,
  content: string,
  components: unknown[],
  signal?: AbortSignal,
): Promise<unknown> {
  return call(
    ctx,
    "PATCH",
    `/channels/${encodeURIComponent(channelId)}/messages/${encodeURIComponent(messageId)}`,
    "edit channel message",
    { body: { content, components, allowed_mentions: NO_MENTIONS }, bot: true, signal },
  );
}

/**
 * Shows "<bot> is typing…" in a channel for about 10 s: `POST /channels/{channel.id}/typing`
 * (https://discord.com/developers/docs/resources/channel#trigger-typing-indicator).
 * @throws DeliveryError
 */
export function triggerTyping(
  ctx: IntegrationContext,
  channelId: string,
  signal?: AbortSignal,
): Promise<unknown> {
  return call(ctx, "POST", `/channels/${encodeURIComponent(channelId)}/typing`, "typing", {
    bot: true,
    signal,
  });
}

/**
 * Replaces the application's commands with `commands` (bulk overwrite): `PUT
 * /applications/{application.id}/commands`, or `…/guilds/{guild.id}/commands` for one guild
 * (https://discord.com/developers/docs/interactions/application-commands#bulk-overwrite-global-application-commands).
 * @returns the commands as Discord stored them
 * @throws DeliveryError
 */
export function overwriteCommands(
  ctx: IntegrationContext,
  commands: unknown[],
  guildId?: string,
): Promise<Array<{ id?: string; name: string }>> {
  const where = guildId ? `/guilds/${encodeURIComponent(guildId)}` : "";
  return call(ctx, "PUT", `/applications/${appId(ctx)}${where}/commands`, "register commands", {
    body: commands,
    bot: true,
  });
}

/**
 * Uploads one file as a message: a follow-up of the interaction (`POST
 * /webhooks/{application.id}/{token}`) when `token` is given, else a channel message with the
 * bot token. The body is multipart/form-data with `payload_json` and `files[0]`
 * (https://discord.com/developers/docs/reference#uploading-files); the file is read whole
 * (Discord's upload limit is far below the attachment limit's default).
 * @throws DeliveryError
 */
export async function uploadFile(
  ctx: IntegrationContext,
  where: { token: string } | { channel: string; deliveryId: string },
  file: { name: string; mediaType: string; data(): AsyncIterable<Uint8Array> },
  signal?: AbortSignal,
): Promise<void> {
  const chunks: Uint8Array[] = [];
  for await (const c of file.data()) chunks.push(c);
  const payload: Record<string, unknown> = {
    allowed_mentions: NO_MENTIONS,
    attachments: [{ id: 0, filename: file.name }],
  };
  const headers: Record<string, string> = {};
  let path: string;
  if ("token" in where) {
    path = `/webhooks/${appId(ctx)}/${encodeURIComponent(where.token)}`;
  } else {
    const token = ctx.settings.DISCORD_BOT_TOKEN;
    if (!token)
      throw new ctx.errors.DeliveryError("DISCORD_BOT_TOKEN is not set", { retryable: false });
    headers.authorization = `Bot ${token}`;
    path = `/channels/${encodeURIComponent(where.channel)}/messages`;
    Object.assign(payload, { nonce: nonceOf(where.deliveryId), enforce_nonce: true });
  }
  const form = new FormData();
  form.append("payload_json", JSON.stringify(payload));
  form.append("files[0]", new Blob([Buffer.concat(chunks)], { type: file.mediaType }), file.name);
  const encoded = new Response(form);
  headers["content-type"] = encoded.headers.get("content-type")!;
  const res = await ctx.http.request("POST", `${apiRoot(ctx)}${path}`, {
    headers,
    body: new Uint8Array(await encoded.arrayBuffer()),
    ...(signal ? { signal } : {}),
    maxResponseBytes: MAX_RESPONSE_BYTES,
  });
  if (!res.ok) throw failure(ctx, res, "file upload");
}
