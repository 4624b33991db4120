/**
 * The adapter handler: one normalized inbound message → the one `injectMessage`, behind
 * dedupe. It decides, in order: a bot author is ignored; the conversation's channel row
 * (or the adapter's default bot) names the bot; `/new` ends the conversation's session and
 * starts a fresh one; a message that is neither a mention nor in a conversation without
 * `require_mention` is ignored, or stored without a turn when the channel has
 * `passive_memory`; anything else is stored with a task whose reply goes back through the
 * adapter (its dispatch type). The text is always the user's words (role `user`), and
 * nothing in the input can set the execution config.
 */
import { z } from "zod";
import { describeIssue } from "../lib/zod-issues.ts";
import type {
  AdapterHandler,
  AdapterHandlerResult,
  AdapterInput,
  Conversation,
} from "../sdk/adapter.ts";
import { InvalidInputError } from "../sessions/errors.ts";
import type { InjectResult, SessionService } from "../sessions/service.ts";
import type { Channel } from "../store/channels.ts";
import type { Store } from "../store/index.ts";
import type { Session } from "../store/sessions.ts";
import { channelKey, conversationKey } from "./conversation.ts";

/** What the fast path answers when the slow path must decide (no open session, `/new`). */
const SLOW_PATH = "slow path";

/** The text that starts a fresh session for the conversation. */
export const NEW_SESSION_COMMAND = "/new";

/** What the notice after `/new` says. */
export const NEW_SESSION_NOTICE = "Started a new session.";

const id = z.string().min(1).max(200);
const inputSchema = z.object({
  integration: z.string().optional(),
  conversation: z.strictObject({ team: id.optional(), channel: id, thread: id.optional() }),
  author: z.object({ id, displayName: z.string().max(200).optional(), isBot: z.boolean() }),
  text: z.string(),
  mentioned: z.boolean(),
  direct: z.boolean().optional(),
  deliveryId: id,
  replyTo: id.optional(),
  attachments: z
    .array(
      z.strictObject({
        name: z.string().max(500),
        mediaType: z.string().max(200).optional(),
        bytes: z.number().int().nonnegative().optional(),
        ref: z.string().max(2000),
      }),
    )
    .max(100)
    .optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** What the handler is built from. */
export interface InboundDeps {
  store: Store;
  sessions: SessionService;
  /**
   * Queues an output to the conversation through the outbox (progress, notices); `replyTo`
   * (the message answered) becomes the target's `reply_to`.
   */
  queue(
    adapter: string,
    conversation: Conversation,
    payload: Record<string, unknown>,
    replyTo?: string,
  ): void;
  /**
   * Stores the input's files in the session's scope (`attachments/inbound.ts`); returns the
   * stored ids and the files that could not be had. Without it files are noted by name.
   */
  saveFiles?(
    refs: NonNullable<AdapterInput["attachments"]>,
    sessionId: string,
  ): Promise<{ ids: string[]; failed: Array<{ name: string; reason: string }> }>;
}

/** What the handler needs to know about its adapter. */
export interface InboundAdapter {
  name: string;
  /** The bot of conversations without a channel row (`<NAME>_BOT_ID`, default `default`). */
  defaultBotId(): string;
  /** True while the adapter runs; the handler refuses input otherwise. */
  running(): boolean;
}

/** The handler was called while its adapter is not running. */
export class AdapterNotRunningError extends Error {
  constructor(name: string) {
    super(`Adapter ${name} is not running`);
    this.name = "AdapterNotRunningError";
  }
}

const result = (
  outcome: AdapterHandlerResult["outcome"],
  ids: Partial<AdapterHandlerResult> = {},
): AdapterHandlerResult => ({
  outcome,
  sessionId: null,
  messageId: null,
  taskId: null,
  duplicate: outcome === "duplicate",
  ...ids,
});

/**
 * Makes the handler of `adapter`.
 * @returns the handler; it throws InvalidInputError for a malformed input,
 *   AdapterNotRunningError when the adapter is stopped, and the session service's errors
 *   (UnknownBotError when the channel's bot is gone)
 */
export function createAdapterHandler(deps: InboundDeps, adapter: InboundAdapter): AdapterHandler {
  const { store, sessions } = deps;
  const name = adapter.name;
  const dedupeScope = `adapter:${name}`;

  /** The conversation's open session, creating its next generation when there is none. */
  async function activeSession(botId: string, conv: Conversation): Promise<Session> {
    const key = conversationKey(name, conv);
    const open = await store.sessions.latestOpen(botId, key);
    if (open) return open;
    const n = await store.sessions.generations(botId, key);
    const clientId = n === 0 ? key : `${key}#${n + 1}`;
    const { session } = await sessions.getOrCreate(botId, clientId, {
      type: name,
      conversation: conv,
    });
    return session;
  }

  return async (raw: AdapterInput) => {
    const parsed = inputSchema.safeParse(raw);
    if (!parsed.success) {
      const { field, problem } = describeIssue(parsed.error.issues[0]!, "input");
      throw new InvalidInputError(field, problem);
    }
    const input = parsed.data as AdapterInput;
    if (!adapter.running()) throw new AdapterNotRunningError(name);
    if (input.author.isBot) return result("ignored", { reason: "bot_author" });
    const conv: Conversation = {
      ...(input.conversation.team ? { team: input.conversation.team } : {}),
      channel: input.conversation.channel,
      ...(input.conversation.thread ? { thread: input.conversation.thread } : {}),
    };
    const text = input.text.trim();

    const metadata: Record<string, unknown> = {
      ...input.metadata,
      author: {
        id: input.author.id,
        ...(input.author.displayName ? { display_name: input.author.displayName } : {}),
      },
      conversation: conv,
      mentioned: input.mentioned,
      delivery_id: input.deliveryId,
    };
    const replyTo = input.replyTo ?? input.deliveryId;
    const dispatch = { type: name, config: { type: name, conversation: conv, reply_to: replyTo } };
    const message = (runAgent: boolean, files?: string[]) => ({
      // A message of files alone still needs words: name them.
      content: text || `(files: ${(input.attachments ?? []).map((a) => a.name).join(", ")})`,
      role: "user" as const,
      source: name,
      metadata,
      runAgent,
      dedupeKey: input.deliveryId,
      dedupeScope,
      ...(files?.length ? { attachments: files } : {}),
    });
    /**
     * The bot (the channel's, else the adapter's default) and whether the message is
     * addressed to it: a mention, or a conversation that needs none (the channel's
     * `require_mention`; without a channel, direct messages only).
     */
    const routeOf = (channel: Channel | undefined) => ({
      botId: channel?.botId ?? adapter.defaultBotId(),
      addressed: input.mentioned || !(channel?.requireMention ?? input.direct !== true),
    });
    const chanKey = channelKey(name, conv);
    const sessionKey = conversationKey(name, conv);

    // The common case in one step of the shared (group-commit) transaction: the channel and
    // the open session are read there, then the message is stored. A conversation without
    // an open session, and `/new`, take the slow path below.
    const fast = await sessions.injectRouted<AdapterHandlerResult | typeof SLOW_PATH>(
      dispatch,
      async (reads) => {
        const channel = await reads.channel(chanKey);
        const { botId, addressed } = routeOf(channel);
        if (!addressed && !channel?.passiveMemory) {
          return { skip: result("ignored", { reason: "no_mention" }) };
        }
        // Files are fetched into the session's scope first: not inside the shared transaction.
        if (input.attachments?.length) return { skip: SLOW_PATH };
        if (!text) return { skip: result("ignored", { reason: "empty" }) };
        if (addressed && text.toLowerCase() === NEW_SESSION_COMMAND) return { skip: SLOW_PATH };
        const session = await reads.openSession(botId, sessionKey);
        if (!session) return { skip: SLOW_PATH };
        return {
          session,
          message: message(addressed),
          ...(channel ? { channel } : {}),
        };
      },
    );
    if (!("skip" in fast)) return stored(fast);
    if (fast.skip !== SLOW_PATH) return fast.skip;

    // Slow path: no open session yet (it is created, with its session.start event), or `/new`.
    const channel = await store.channels.byClientId(chanKey);
    const { botId, addressed } = routeOf(channel);
    if (!addressed && !channel?.passiveMemory) return result("ignored", { reason: "no_mention" });
    if (!text && !input.attachments?.length) return result("ignored", { reason: "empty" });
    const session = await activeSession(botId, conv);
    let files: string[] | undefined;
    if (input.attachments?.length) {
      // Stored in the session's scope before the message, so its turn sees them; not
      // fetched again for a redelivery.
      if (deps.saveFiles && !(await store.receipts.has(dedupeScope, input.deliveryId))) {
        const saved = await deps.saveFiles(input.attachments, session.id);
        files = saved.ids;
        if (saved.failed.length) metadata.attachments_failed = saved.failed;
      } else if (!deps.saveFiles) {
        metadata.attachments_failed = input.attachments.map((a) => ({
          name: a.name,
          reason: "files are not stored",
        }));
      }
    }
    const isNew = addressed && text.toLowerCase() === NEW_SESSION_COMMAND;
    const injected = await sessions.injectMessage(session.id, {
      ...message(addressed && !isNew, files),
      dispatchConfig: dispatch.config,
    });
    if (injected.duplicate || !isNew) {
      if (!injected.duplicate && channel && channel.activeSessionId !== session.id) {
        await store.channels.setActiveSession(channel.id, session.id);
      }
      return stored(injected);
    }
    await sessions.end(session.id);
    const fresh = await activeSession(botId, conv);
    if (channel) await store.channels.setActiveSession(channel.id, fresh.id);
    deps.queue(name, conv, { kind: "notice", text: NEW_SESSION_NOTICE });
    return result("new_session", {
      sessionId: fresh.id,
      messageId: injected.messageId,
      taskId: injected.taskId,
    });

    /** The outcome of a message that went into a session: duplicate, run (progress queued) or stored. */
    function stored(injected: InjectResult): AdapterHandlerResult {
      const ids = {
        sessionId: injected.sessionId,
        messageId: injected.messageId,
        taskId: injected.taskId,
      };
      if (injected.duplicate) return result("duplicate", ids);
      if (!injected.taskId) return result("stored", ids);
      deps.queue(
        name,
        conv,
        { kind: "progress", state: "start", task_id: injected.taskId },
        replyTo,
      );
      return result("run", ids);
    }
  };
}
