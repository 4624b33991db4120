/**
 * Sending to an adapter, from the outbox only. Rows of target type `<adapter name>` are
 * written by the task finisher (a reply: `{task_id, status, result, task}`) and by the
 * adapter host (`{kind: "progress" | "notice", …}`); this sender turns each into
 * `adapter.send` calls:
 * - a reply is split at the adapter's `maxTextLength`, each part with its own stable id
 *   (`<delivery id>` or `<delivery id>-<n>`), sent in order, then progress is cleared;
 * - a failed task is sent as `"[Error: <reason>]"`: the first line of its error, URLs cut
 *   to their host, credentials masked, at most 300 characters;
 * - on a retry (an earlier attempt's outcome unknown or failed), a part the adapter finds
 *   already posted (`findOwnPost`) is not sent again;
 * - progress is sent once and never retried, and `start` is skipped once the task is done;
 * - the files a reply carries (a tool attached them) follow its text, one `file` output each.
 */
import type { Logger } from "pino";
import { isApprovalOutput, sendApprovalOutput } from "../approvals/outputs.ts";
import { redactUrl } from "../lib/redact.ts";
import type {
  Adapter,
  AdapterOutput,
  AdapterTarget,
  Conversation,
  OutboundFile,
  SenderIdentity,
} from "../sdk/adapter.ts";
import type { DispatchTask } from "../sdk/dispatch.ts";
import { DeliveryError } from "../sdk/errors.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";
import { splitText } from "./split.ts";

/** Default longest text of one post (characters). */
export const DEFAULT_MAX_TEXT_LENGTH = 4000;

/** Longest error reason shown in a chat (characters). */
const MAX_ERROR_CHARS = 300;

/**
 * The chat text of a task error: `"[Error: <reason>]"`, the reason being the error's first
 * line (never a stack trace), URLs cut to scheme and host, `Bearer …`, `sk-…`-like keys and
 * `key=value` credentials masked, cut at 300 characters.
 */
export function errorText(error: string | null | undefined): string {
  let reason = (error ?? "").split("\n")[0]!.trim() || "the task failed";
  reason = reason
    .replace(/\bhttps?:\/\/[^\s"'<>]+/gi, (u) => redactUrl(u))
    .replace(/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 ****")
    .replace(/\b(sk|pk|xox[abpr]|ghp|gho|whsec)[-_][A-Za-z0-9_-]{6,}/g, "****")
    .replace(/\b(api[_-]?key|token|secret|password)\s*[=:]\s*\S+/gi, "$1=****");
  if (reason.length > MAX_ERROR_CHARS) reason = `${reason.slice(0, MAX_ERROR_CHARS - 1)}…`;
  return `[Error: ${reason}]`;
}

/** The `user_attribution` hook of an integration's `hooks.ts` meta. */
export type UserAttribution = (user: Record<string, unknown>) => Record<string, unknown>;

/** What the sender needs. */
export interface AdapterSenderDeps {
  store: Store;
  log: Logger;
  /** The adapter's integration's `user_attribution` hook, when it has one. */
  userAttribution?: UserAttribution;
  /** The files the reply of a task carries, in order (`attachments/reply-files.ts`). */
  replyFiles?: (taskId: string) => Promise<OutboundFile[]>;
}

/**
 * The identity of the bot that ran `taskId`: its display name and avatar, plus what the
 * integration's `user_attribution` hook makes of `{display_name, avatar_url,
 * integration_config}` (a hook that throws or returns a non-object gives `{}`, logged).
 * Undefined when there is no task or the bot is gone.
 */
export async function senderIdentity(
  deps: AdapterSenderDeps,
  taskId: string | undefined,
): Promise<SenderIdentity | undefined> {
  if (!taskId) return undefined;
  const task = await deps.store.tasks.get(taskId);
  const bot = task ? await deps.store.bots.get(task.botId) : undefined;
  if (!bot) return undefined;
  let extras: Record<string, unknown> = {};
  if (deps.userAttribution) {
    try {
      const r = deps.userAttribution({
        display_name: bot.displayName ?? null,
        avatar_url: bot.avatarUrl ?? null,
        integration_config: bot.integrationConfig,
      });
      if (r && typeof r === "object" && !Array.isArray(r)) extras = r;
    } catch (err) {
      deps.log.warn({ err: (err as Error)?.message }, "user_attribution hook failed");
    }
  }
  return {
    ...(bot.displayName ? { displayName: bot.displayName } : {}),
    ...(bot.avatarUrl ? { avatarUrl: bot.avatarUrl } : {}),
    extras,
  };
}

/**
 * Sends one outbox row of `adapter`.
 * @throws DeliveryError (or the adapter's error) when a send failed: the outbox retries a
 *   reply on its schedule; a progress row is never retried (`retryable: false`)
 */
export async function sendAdapterDelivery(
  deps: AdapterSenderDeps,
  adapter: Adapter,
  d: Delivery,
  signal: AbortSignal,
): Promise<void> {
  const conversation = d.target.conversation as Conversation | undefined;
  if (!conversation || typeof conversation.channel !== "string") {
    throw new DeliveryError("dispatch_config.conversation is missing", { retryable: false });
  }
  const replyTo = typeof d.target.reply_to === "string" ? d.target.reply_to : undefined;
  const taskId =
    d.taskId ?? (typeof d.payload.task_id === "string" ? d.payload.task_id : undefined);
  const base = {
    conversation,
    signal,
    ...(replyTo ? { replyTo } : {}),
    ...(taskId ? { taskId } : {}),
  };
  const kind = d.payload.kind;
  const identity = await senderIdentity(deps, taskId);
  if (identity) Object.assign(base, { identity });

  if (kind === "progress") {
    const state = d.payload.state === "clear" ? "clear" : "start";
    if (state === "start" && taskId) {
      const task = await deps.store.tasks.get(taskId);
      if (task && !["pending", "running", "waiting_approval"].includes(task.status)) return;
    }
    try {
      await adapter.send({ ...base, deliveryId: d.id }, { kind: "progress", state });
    } catch (err) {
      throw new DeliveryError(`progress not sent: ${(err as Error)?.message ?? err}`, {
        retryable: false,
      });
    }
    return;
  }

  if (isApprovalOutput(kind)) return sendApprovalOutput(deps.store, adapter, d, base);

  const outputs: AdapterOutput[] = [];
  if (kind === "notice") {
    outputs.push({ kind: "notice", text: String(d.payload.text ?? "") });
  } else {
    const task = d.payload.task as Partial<DispatchTask> | undefined;
    if (d.payload.status === "failed") {
      outputs.push({ kind: "error", text: errorText(task?.error) });
    } else {
      const text = typeof d.payload.result === "string" ? d.payload.result : "";
      const max = adapter.maxTextLength ?? DEFAULT_MAX_TEXT_LENGTH;
      for (const part of splitText(text, max)) outputs.push({ kind: "text", text: part });
      if (taskId && deps.replyFiles) {
        for (const file of await deps.replyFiles(taskId)) outputs.push({ kind: "file", file });
      }
    }
  }
  const count = outputs.length;
  for (const [i, output] of outputs.entries()) {
    const target: AdapterTarget = {
      ...base,
      deliveryId: count > 1 ? `${d.id}-${i + 1}` : d.id,
      ...(count > 1 ? { part: { index: i + 1, count } } : {}),
    };
    // An earlier attempt may have posted this part before its outcome was recorded.
    if (d.attempts > 1 && adapter.findOwnPost && (await adapter.findOwnPost(target, output))) {
      continue;
    }
    await adapter.send(target, output);
  }
  if (kind !== "notice") {
    try {
      await adapter.send({ ...base, deliveryId: d.id }, { kind: "progress", state: "clear" });
    } catch (err) {
      deps.log.warn(
        { adapter: adapter.name, delivery_id: d.id, err: (err as Error)?.message },
        "progress not cleared",
      );
    }
  }
}
