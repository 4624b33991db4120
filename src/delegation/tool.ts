/**
 * The core `delegate` tool (issue 14, delegation): a bot given it may hand a prompt to
 * another bot. The call creates a task for that bot in a child session (client id
 * `delegate:<parent session id>`, one per parent session and child bot, so the child keeps
 * the conversation's thread of requests) through the one `injectMessage`, with a
 * `callback_config` kept apart from `dispatch_config`:
 * `{parent_session_id, parent_task_id, notify_parent, depth, chain}`. It returns at once
 * (`wait: false`); when the child finishes, its result is posted into the parent session
 * (`delegation/result.ts`).
 *
 * Refused with a tool error: an unknown bot, `wait: true`, a cycle (the target is the
 * caller or one of the bots that delegated to it), a depth beyond
 * `SWITCHYARD_DELEGATION_MAX_DEPTH`, and more than `SWITCHYARD_DELEGATION_MAX_CHILDREN`
 * delegations by one task.
 */
import type { AgentTool } from "../agent/tools.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Store } from "../store/index.ts";
import type { Task } from "../store/tasks.ts";

/** The `source` of the child's prompt message. */
export const DELEGATE_SOURCE = "delegate";

/** Limits of delegation (settings). */
export interface DelegationLimits {
  /** Longest chain of delegations from a task nobody delegated (1 = no grandchildren). */
  maxDepth: number;
  /** Most delegations one task may make. */
  maxChildren: number;
}

/** What the tool needs. */
export interface DelegateToolDeps {
  store: Store;
  sessions: Pick<SessionService, "getOrCreate" | "injectMessage">;
  limits: DelegationLimits;
}

/** Where a task stands in a delegation tree, read from its `callback_config`. */
export interface DelegationPlace {
  /** 0 for a task nobody delegated. */
  depth: number;
  /** The bots that delegated down to this task, root first (not the task's own bot). */
  chain: string[];
}

/** The depth and chain in `task.callback_config` (0 and [] when absent or malformed). */
export function placeOf(task: Pick<Task, "callbackConfig"> | undefined): DelegationPlace {
  const c = task?.callbackConfig ?? {};
  const depth = typeof c.depth === "number" && c.depth >= 0 ? Math.floor(c.depth) : 0;
  const chain = Array.isArray(c.chain) ? c.chain.filter((x) => typeof x === "string") : [];
  return { depth, chain };
}

/** A refusal the model sees as the tool's error. */
class DelegationRefused extends Error {}

/**
 * Runs `fn` after the earlier calls queued under `key` settled: one task's `delegate`
 * calls (the model may make several in one step, run in parallel) are counted one at a
 * time, so the fan-out limit holds. A task runs on one instance at a time.
 */
const queues = new Map<string, Promise<unknown>>();
function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = queues.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => {});
  queues.set(key, tail);
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return next;
}

/** Makes the `delegate` tool. */
export function delegateTool(deps: DelegateToolDeps): AgentTool {
  const { store, sessions, limits } = deps;
  return {
    name: "delegate",
    description:
      "Hand a task to another bot. It runs in the background; its result is posted into this conversation when it finishes (and, with notify_parent, you get a follow-up turn on it). Returns the new task's id at once.",
    parameters: {
      type: "object",
      properties: {
        bot_id: { type: "string", description: "The bot to hand the task to" },
        prompt: { type: "string", description: "What that bot should do" },
        wait: {
          type: "boolean",
          description: "Must be false (the default): the result arrives later",
        },
        notify_parent: {
          type: "boolean",
          description: "Run a follow-up turn here on the result (default true)",
        },
      },
      required: ["bot_id", "prompt"],
      additionalProperties: false,
    },
    execute(args: Record<string, unknown>, ctx) {
      return oneAtATime(ctx.taskId, () => delegate(args, ctx));
    },
  };

  async function delegate(
    args: Record<string, unknown>,
    ctx: { taskId: string; sessionId: string; botId: string },
  ) {
    const botId = args?.bot_id;
    const prompt = args?.prompt;
    if (typeof botId !== "string" || !botId) throw new DelegationRefused("bot_id is required");
    if (typeof prompt !== "string" || !prompt.trim()) {
      throw new DelegationRefused("prompt is required");
    }
    if (args.wait === true) {
      throw new DelegationRefused(
        "wait: true is not supported: the result is posted into this conversation when the task finishes",
      );
    }
    const notifyParent = args.notify_parent !== false;
    const parent = await store.tasks.get(ctx.taskId);
    if (!parent) throw new DelegationRefused("the calling task no longer exists");
    const child = await store.bots.get(botId);
    if (!child) throw new DelegationRefused(`unknown bot: ${botId}`);
    const place = placeOf(parent);
    const lineage = [...place.chain, ctx.botId];
    if (lineage.includes(botId)) {
      throw new DelegationRefused(
        `delegation cycle refused: ${[...lineage, botId].join(" → ")} (a bot cannot delegate to itself or to a bot that delegated to it)`,
      );
    }
    const depth = place.depth + 1;
    if (depth > limits.maxDepth) {
      throw new DelegationRefused(
        `delegation too deep: this task is already at depth ${place.depth} (SWITCHYARD_DELEGATION_MAX_DEPTH is ${limits.maxDepth})`,
      );
    }
    const made = await store.tasks.countChildren(parent.id);
    if (made >= limits.maxChildren) {
      throw new DelegationRefused(
        `too many delegations: this task already made ${made} (SWITCHYARD_DELEGATION_MAX_CHILDREN is ${limits.maxChildren})`,
      );
    }
    const { session } = await sessions.getOrCreate(botId, `delegate:${ctx.sessionId}`);
    const injected = await sessions.injectMessage(session.id, {
      content: prompt,
      source: DELEGATE_SOURCE,
      metadata: { parent_session_id: ctx.sessionId, parent_task_id: parent.id },
      runAgent: true,
      notify: false,
      callbackConfig: {
        parent_session_id: ctx.sessionId,
        parent_task_id: parent.id,
        notify_parent: notifyParent,
        depth,
        chain: lineage,
      },
    });
    return {
      status: "queued",
      task_id: injected.taskId,
      session_id: session.id,
      bot_id: botId,
      note: notifyParent
        ? "The result will be posted into this conversation and you will get a follow-up turn on it."
        : "The result will be posted into this conversation.",
    };
  }
}
