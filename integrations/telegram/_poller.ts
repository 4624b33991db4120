/**
 * Long polling (https://core.telegram.org/bots/api#getupdates), driven by hand with
 * `bot.api.getUpdates` rather than grammY's `bot.start()`: `bot.start()` confirms updates
 * by asking for the next offset as soon as its middleware returns and keeps the offset in
 * memory, and it retries errors on its own. Here:
 * - the offset lives in `ctx.state` (`poll_offset`) and moves past an update only after
 *   the handler committed it, so a restart neither loses nor replays updates (an update
 *   handled but whose offset write was lost comes again and is a `duplicate`);
 * - the loop runs inside `ctx.exclusive`, so one instance polls; it reads the offset when
 *   it gets the lease, since another instance may have moved it;
 * - `409 Conflict` (another getUpdates on the token, or a webhook set) is logged once in
 *   plain words, then retried with exponential backoff (1 s doubling, at most 60 s), like
 *   every other failure.
 */
import type { Bot } from "grammy";
import type { Update } from "grammy/types";
import type { IntegrationLogger, IntegrationState } from "switchyard";
import { apiErrorCode, describeError } from "./_errors.ts";
import { forGrammy } from "./_signal.ts";

/** The update kinds asked for: messages, and approval button presses. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/** The `ctx.state` key of the next update id to ask for. */
export const OFFSET_KEY = "poll_offset";

/** First and longest wait after a failed getUpdates, ms. */
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/** What the poller needs. */
export interface PollerDeps {
  bot: Bot;
  state: IntegrationState;
  log: IntegrationLogger;
  token: string;
  /** getUpdates `timeout`, seconds. */
  timeoutSeconds: number;
  /**
   * Handles one update; resolves once it is committed (or skipped for good). Throws when
   * it could not be stored: the offset then stays, and the update comes again.
   */
  handle(update: Update): Promise<void>;
}

/** Resolves after `ms` or when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Polls until `signal` aborts (the lease lost, or the adapter stopping). */
export async function pollUpdates(deps: PollerDeps, signal: AbortSignal): Promise<void> {
  const { bot, state, log } = deps;
  const stored = await state.get(OFFSET_KEY);
  let offset = typeof stored === "number" && Number.isSafeInteger(stored) ? stored : undefined;
  let backoff = 0;
  let conflict = false;
  while (!signal.aborted) {
    let updates: Update[];
    try {
      updates = await bot.api.getUpdates(
        {
          ...(offset !== undefined ? { offset } : {}),
          timeout: deps.timeoutSeconds,
          allowed_updates: [...ALLOWED_UPDATES],
        },
        forGrammy(signal),
      );
    } catch (err) {
      if (signal.aborted) break;
      backoff = Math.min(backoff ? backoff * 2 : BACKOFF_BASE_MS, BACKOFF_MAX_MS);
      if (apiErrorCode(err) === 409) {
        if (!conflict) {
          log.error(
            { retry_in_ms: backoff },
            "Telegram refused getUpdates with 409 Conflict: another process is polling this bot token (outside switchyard), or a webhook is set for it. Stop that process, or set TELEGRAM_WEBHOOK_URL to use webhook mode here, or delete the webhook; switchyard keeps retrying with backoff and says so once polling works again",
          );
        }
        conflict = true;
      } else {
        log.warn(
          { err: describeError(err, deps.token), retry_in_ms: backoff },
          "getUpdates failed; retrying",
        );
      }
      await pause(backoff, signal);
      continue;
    }
    if (conflict) log.info({}, "getUpdates works again; polling resumed");
    conflict = false;
    backoff = 0;
    for (const update of updates) {
      if (signal.aborted) return;
      if (offset !== undefined && update.update_id < offset) continue;
      try {
        await deps.handle(update);
      } catch (err) {
        if (signal.aborted) return;
        backoff = Math.min(backoff ? backoff * 2 : BACKOFF_BASE_MS, BACKOFF_MAX_MS);
        log.warn(
          { update_id: update.update_id, err: describeError(err, deps.token) },
          "update not stored; asking for it again",
        );
        await pause(backoff, signal);
        break;
      }
      offset = update.update_id + 1;
      await state.set(OFFSET_KEY, offset);
    }
  }
}
