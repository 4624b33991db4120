/**
 * `callback_query` updates (https://core.telegram.org/bots/api#callbackquery): an approval
 * button pressed. Read into a decision for core, decided through the adapter's `decide`,
 * always answered (`answerCallbackQuery`), and remembered by `update_id` so that a
 * redelivered update (a webhook answer lost, a poll replayed after a crash) is answered
 * with the first outcome and never decided twice.
 */
import type { Bot } from "grammy";
import type { Update } from "grammy/types";
import type {
  ApprovalDecider,
  ApprovalDecisionInput,
  ApprovalDecisionResult,
  IntegrationLogger,
  IntegrationState,
} from "switchyard";
import { answerText, CALLBACK_RE } from "./_approval.ts";
import { describeError } from "./_errors.ts";

/** The `ctx.state` key of the recently handled callback updates. */
export const SEEN_KEY = "callbacks_seen";

/** How many handled callback updates are remembered (the oldest go first). */
const SEEN_MAX = 200;

/** A press read from an update. */
export type Press =
  | { kind: "decision"; queryId: string; input: ApprovalDecisionInput }
  /** Not an approval button (or no chat to tell where): answered, nothing decided. */
  | { kind: "other"; queryId: string };

/** The press of a `callback_query` update; undefined for any other update. */
export function pressOf(update: Update): Press | undefined {
  const q = update.callback_query;
  if (!q || typeof q.id !== "string") return undefined;
  const m = typeof q.data === "string" ? CALLBACK_RE.exec(q.data) : null;
  const msg = q.message;
  if (!m || !msg || !q.from) return { kind: "other", queryId: q.id };
  const thread =
    "is_topic_message" in msg && msg.is_topic_message && msg.message_thread_id !== undefined
      ? String(msg.message_thread_id)
      : undefined;
  const name = [q.from.first_name, q.from.last_name].filter(Boolean).join(" ") || q.from.username;
  return {
    kind: "decision",
    queryId: q.id,
    input: {
      approvalId: m[2]!,
      decision: m[1] as "approve" | "deny",
      conversation: { channel: String(msg.chat.id), ...(thread ? { thread } : {}) },
      actor: {
        id: String(q.from.id),
        ...(name ? { displayName: name.slice(0, 200) } : {}),
        isBot: q.from.is_bot === true,
      },
    },
  };
}

type Seen = Array<[number, string]>;

const seenList = async (state: IntegrationState): Promise<Seen> => {
  const v = await state.get(SEEN_KEY);
  return Array.isArray(v) ? (v as Seen) : [];
};

/** The answer given to update `updateId` before, when it was handled already. */
export async function seenAnswer(
  state: IntegrationState,
  updateId: number,
): Promise<string | undefined> {
  return (await seenList(state)).find(([id]) => id === updateId)?.[1];
}

/**
 * Records that update `updateId` was answered `text`. Two instances writing at once may
 * lose one entry: that update, if redelivered, is decided again and core answers
 * `already_decided` (never a second resolution).
 */
export async function rememberAnswer(
  state: IntegrationState,
  updateId: number,
  text: string,
): Promise<void> {
  const list = (await seenList(state)).filter(([id]) => id !== updateId);
  list.push([updateId, text]);
  await state.set(SEEN_KEY, list.slice(-SEEN_MAX));
}

/** What {@link handlePress} needs: the adapter's current parts, read when they are used. */
export interface PressDeps {
  state: IntegrationState;
  log: IntegrationLogger;
  /** The adapter's `decide` while it runs; undefined once stopped. */
  decide: () => ApprovalDecider | undefined;
  /** The adapter's bot while it runs (answers the query); undefined before start. */
  bot: () => Bot | undefined;
  /** The bot token, kept out of what is logged. */
  token: () => string;
}

/**
 * Decides one approval button press (once per update id) and always answers the
 * callback query, so the person's client stops its spinner. Resolves with the outcome:
 * `ignored` (not an approval button), `duplicate` (update handled before: its first answer
 * is given again), core's outcome, or `error` when `decide` failed (nothing remembered, so
 * a redelivery decides again).
 * @throws AdapterNotRunningError (from `decide`, or when the adapter has none): the update
 *   comes again
 */
export async function handlePress(
  deps: PressDeps,
  updateId: number,
  press: Press,
): Promise<string> {
  let text: string | undefined;
  let status: string = press.kind === "other" ? "ignored" : "duplicate";
  if (press.kind === "decision") {
    text = await seenAnswer(deps.state, updateId);
    if (text === undefined) {
      const decideFn = deps.decide();
      if (!decideFn) {
        const err = new Error("The Telegram adapter is not running");
        err.name = "AdapterNotRunningError";
        throw err;
      }
      let r: ApprovalDecisionResult | undefined;
      try {
        r = await decideFn(press.input);
      } catch (err) {
        if ((err as Error)?.name === "AdapterNotRunningError") throw err;
        deps.log.warn({ err: (err as Error)?.message }, "telegram approval decision failed");
      }
      text = answerText(r, press.input.decision);
      status = r?.outcome ?? "error";
      if (r) await rememberAnswer(deps.state, updateId, text);
    }
  }
  try {
    await deps.bot()?.api.answerCallbackQuery(press.queryId, text ? { text } : {});
  } catch (err) {
    // Too old (answered before, or after 15 s): the decision stands all the same.
    deps.log.debug({ err: describeError(err, deps.token()) }, "answerCallbackQuery failed");
  }
  return status;
}
