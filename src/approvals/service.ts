/**
 * Durable approvals (issue 13, DESIGN §7 "Approvals"). A tool call that needs approval
 * parks its task (`running` → `waiting_approval`, lease dropped) in one transaction with
 * its approval rows, the turn's messages so far (`turn_checkpoints`), the
 * `approval.requested` event rows and an `approval_request` output to the session's
 * adapter. A decision (REST, MCP, a chat control, the admin UI, or expiry) is a
 * compare-and-set on the row: exactly one wins whichever instance receives it; the winner
 * writes `approval.decided` and an `approval_decided` output in the same transaction, and
 * once no approval of the task is pending puts the task back in the queue, where any
 * instance claims it and the turn goes on (`./turn.ts`). Nothing waits in memory.
 */
import type { Logger } from "pino";
import { channelKey } from "../adapters/conversation.ts";
import { uuidv7 } from "../ids.ts";
import type {
  ApprovalDecisionInput,
  ApprovalDecisionResult,
  Conversation,
} from "../sdk/adapter.ts";
import type { Approval } from "../store/approvals.ts";
import type { Bot } from "../store/bots.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { Task } from "../store/tasks.ts";
import { toolNeedsApproval } from "./policy.ts";
import { type ParkedTurn, resumeMessages, type TurnApprovals } from "./turn.ts";
import { approvalJson, approvalView } from "./view.ts";

/** How events reach webhook subscribers inside a transaction (the EventService's way). */
export interface ApprovalEvents {
  /** Loads what `queue` needs, before the transaction. */
  prepare(): Promise<unknown>;
  queue(
    tx: Repositories,
    name: "approval.requested" | "approval.decided",
    data: Record<string, unknown>,
  ): Promise<number>;
}

/** What {@link ApprovalService} is built from. Times in ms. */
export interface ApprovalServiceOptions {
  store: Store;
  log: Logger;
  /** How long a request waits before it expires (`SWITCHYARD_APPROVAL_TTL_SECONDS`). */
  ttlMs: number;
  events: ApprovalEvents;
  /** True when a dispatch type is an adapter's: approval outputs are queued to it. */
  isAdapter(type: string): boolean;
  /** A parked task was put back in the queue (wake the task worker). */
  onRunnable(sessionId: string): void;
  /** Outbox rows were written (wake the delivery worker). */
  onOutbox(): void;
  /** How often expired requests are looked for; default min(5000, ttlMs). */
  sweepMs?: number;
  now?: () => number;
}

/** A decision as REST, MCP and the admin UI give it. */
export interface DecisionInput {
  decision: "approve" | "deny";
  reason?: string | null;
  /** Who decided: an API key's name, `<adapter>:<user id>`, or `expiry`. */
  decidedBy: string;
}

/** What {@link ApprovalService.decide} did. `approval` is the row after it (or the first decision's). */
export type DecisionResult =
  | { outcome: "decided"; approval: Approval; resumed: boolean }
  | { outcome: "already_decided"; approval: Approval }
  | { outcome: "not_found" }
  | { outcome: "forbidden"; approval: Approval };

/** Longest reason kept (characters). */
const MAX_REASON = 2000;

/** Parks turns on approvals and resolves them. */
export class ApprovalService {
  readonly #o: ApprovalServiceOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;

  constructor(opts: ApprovalServiceOptions) {
    this.#o = opts;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * What one run of `task` needs (`AgentTurnInput.approvals`): the bot's policy tightened
   * by the run's `execution_config.approval`, and, when the task was parked, its turn
   * with the decisions appended.
   */
  async forRun(task: Task, bot: Bot): Promise<TurnApprovals> {
    const { approvals } = this.#o.store;
    const cp = await approvals.checkpoint(task.id);
    const rows = cp ? await approvals.listForTask(task.id) : [];
    const asked = new Set(rows.map((a) => a.toolCallId));
    const approved = new Set(rows.filter((a) => a.status === "approved").map((a) => a.toolCallId));
    const tightening = task.executionConfig?.approval;
    return {
      // A call asked about before keeps needing approval, or the SDK would refuse its
      // approval as one the server never issued (the policy may have changed meanwhile).
      needsApproval: (tool, callId) =>
        asked.has(callId) || toolNeedsApproval(tool, bot.approval, tightening),
      beforeRun: async (callId) => {
        if (!approved.has(callId)) return null;
        if (await approvals.markExecuted(task.id, callId, this.#now())) return null;
        return "This approved tool call was already started by an earlier run that was cut off (a crash or restart); it is not run a second time.";
      },
      ...(cp
        ? {
            resume: {
              messages: resumeMessages(cp, rows),
              model: cp.model,
              steps: cp.steps,
              toolCalls: cp.toolCalls,
            },
          }
        : {}),
    };
  }

  /**
   * Parks `task` (running, leased by `task.leaseOwner`) on `parked.requests`, all in one
   * transaction. False when the task was no longer this run's (cancelled, taken over):
   * nothing is written then.
   */
  async park(task: Task, parked: ParkedTurn): Promise<boolean> {
    const owner = task.leaseOwner;
    if (!owner) return false;
    const now = this.#now();
    const rows: Approval[] = parked.requests.map((r) => ({
      id: uuidv7(),
      taskId: task.id,
      sessionId: task.sessionId,
      botId: task.botId,
      tool: r.toolName,
      toolCallId: r.toolCallId,
      sdkApprovalId: r.approvalId,
      args: r.input ?? null,
      status: "pending",
      requestedAt: now,
      expiresAt: now + this.#o.ttlMs,
      decidedBy: null,
      decidedAt: null,
      reason: null,
      requestPost: null,
      executedAt: null,
    }));
    await this.#o.events.prepare();
    let outputs = 0;
    const ok = await this.#o.store.transaction(async (tx) => {
      if (!(await tx.approvals.parkTask(task.id, owner))) return false;
      await tx.approvals.saveCheckpoint({
        taskId: task.id,
        messages: parked.messages,
        model: parked.model,
        steps: parked.steps,
        toolCalls: parked.toolCalls,
      });
      await tx.approvals.insert(rows);
      for (const a of rows) {
        outputs += await this.#o.events.queue(tx, "approval.requested", approvalJson(a));
        outputs += await this.#queueOutput(tx, task, "approval_request", a);
      }
      return true;
    });
    if (ok) {
      this.#o.log.info(
        { task_id: task.id, approvals: rows.map((a) => a.id), tools: rows.map((a) => a.tool) },
        "task waiting for approval",
      );
      if (outputs) this.#o.onOutbox();
    }
    return ok;
  }

  /**
   * Resolves approval `id`: exactly one decision wins (compare-and-set). The winner's
   * transaction also writes `approval.decided`, the `approval_decided` output and, when
   * no approval of the task is pending any more, puts the task back in the queue.
   * @param check refuses the decision (`forbidden`) when it returns false for the row and its task
   */
  async decide(
    id: string,
    d: DecisionInput,
    check?: (a: Approval, task: Task | undefined) => boolean,
  ): Promise<DecisionResult> {
    return this.#resolve(id, d.decision === "approve" ? "approved" : "denied", d, check);
  }

  /**
   * A decision made in a conversation (the `decide` given to adapters): only the
   * approval's own conversation may decide; recorded as `<adapter>:<user id>`.
   */
  async decideFromConversation(
    adapter: string,
    input: ApprovalDecisionInput,
  ): Promise<ApprovalDecisionResult> {
    const id = typeof input?.approvalId === "string" ? input.approvalId : "";
    if (!id || (input.decision !== "approve" && input.decision !== "deny")) {
      return { outcome: "not_found" };
    }
    const actor = String(input.actor?.id ?? "unknown");
    const r = await this.decide(
      id,
      {
        decision: input.decision,
        reason: typeof input.reason === "string" ? input.reason : null,
        decidedBy: `${adapter}:${actor}`,
      },
      (_a, task) => sameConversation(adapter, task, input.conversation),
    );
    if (r.outcome === "not_found") return { outcome: "not_found" };
    return { outcome: r.outcome, approval: approvalView(r.approval) };
  }

  /** Expires every pending request whose time ran out (treated as denied). Never throws. */
  sweep(): Promise<void> {
    this.#sweeping ??= (async () => {
      try {
        for (;;) {
          const ids = await this.#o.store.approvals.expiredIds(this.#now(), 100);
          for (const id of ids) {
            await this.#resolve(id, "expired", { decision: "deny", decidedBy: "expiry" });
          }
          if (ids.length < 100) break;
        }
      } catch (err) {
        this.#o.log.warn({ err: (err as Error)?.message }, "approval expiry sweep failed");
      } finally {
        this.#sweeping = undefined;
      }
    })();
    return this.#sweeping;
  }

  /**
   * Settles the pending requests of a task that stopped waiting (cancelled): each expires
   * with the reason, with its `approval.decided` event and, in a chat, its request message
   * edited, so nothing is left pending until the TTL. Never throws (the expiry sweep and a
   * late decision settle whatever this misses).
   * @param by recorded as the decider, e.g. `cancel:<api key name>`
   */
  async settleForTask(taskId: string, by: string): Promise<void> {
    try {
      const rows = await this.#o.store.approvals.listForTask(taskId);
      for (const a of rows) {
        if (a.status !== "pending") continue;
        await this.#resolve(a.id, "expired", { decision: "deny", decidedBy: by });
      }
    } catch (err) {
      this.#o.log.warn(
        { err: (err as Error)?.message, task_id: taskId },
        "approvals of a cancelled task not settled",
      );
    }
  }

  /** Starts the expiry sweep (every instance runs one; the compare-and-set keeps it single). */
  start(): void {
    const every = this.#o.sweepMs ?? Math.min(5000, this.#o.ttlMs);
    this.#timer = setInterval(() => void this.sweep(), every);
    this.#timer.unref();
    void this.sweep();
  }

  /** Stops the sweep; resolves after a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  async #resolve(
    id: string,
    status: "approved" | "denied" | "expired",
    d: DecisionInput,
    check?: (a: Approval, task: Task | undefined) => boolean,
  ): Promise<DecisionResult> {
    const reason = d.reason ? String(d.reason).slice(0, MAX_REASON) : null;
    await this.#o.events.prepare();
    let outputs = 0;
    let sessionId: string | undefined;
    const r = await this.#o.store.transaction(async (tx): Promise<DecisionResult> => {
      const a = await tx.approvals.get(id);
      if (!a) return { outcome: "not_found" };
      const task = await tx.tasks.get(a.taskId);
      if (check && !check(a, task)) return { outcome: "forbidden", approval: a };
      const taskStatus = await tx.approvals.lockTask(a.taskId);
      const now = this.#now();
      // A task no longer waiting (cancelled, failed, gone) can run nothing: its requests expire.
      const stale = taskStatus !== "waiting_approval";
      const decided = await tx.approvals.decide(
        id,
        stale
          ? {
              status: "expired",
              decidedBy: d.decidedBy,
              reason: `the task is no longer waiting (${taskStatus ?? "deleted"})`,
            }
          : { status, decidedBy: d.decidedBy, reason },
        now,
      );
      if (!decided) return { outcome: "already_decided", approval: (await tx.approvals.get(id))! };
      const resumed = await tx.approvals.resumeTask(a.taskId, now);
      outputs += await this.#o.events.queue(tx, "approval.decided", approvalJson(decided));
      if (task) outputs += await this.#queueOutput(tx, task, "approval_decided", decided);
      if (resumed) sessionId = a.sessionId;
      return { outcome: "decided", approval: decided, resumed };
    });
    if (r.outcome === "decided") {
      this.#o.log.info(
        {
          approval_id: id,
          task_id: r.approval.taskId,
          status: r.approval.status,
          decided_by: d.decidedBy,
        },
        "approval decided",
      );
      if (outputs) this.#o.onOutbox();
      if (sessionId) this.#o.onRunnable(sessionId);
    }
    return r;
  }

  /** Queues an approval output to the task's adapter, when its dispatch type is one. */
  async #queueOutput(
    tx: Repositories,
    task: Task,
    kind: "approval_request" | "approval_decided",
    a: Approval,
  ): Promise<number> {
    if (!this.#o.isAdapter(task.dispatchType)) return 0;
    await tx.deliveries.insert({
      taskId: task.id,
      targetType: task.dispatchType,
      target: task.dispatchConfig ?? {},
      payload: { kind, task_id: task.id, approval_id: a.id },
    });
    return 1;
  }
}

/**
 * Whether `conv` (where a control was pressed in adapter `adapter`) is the conversation
 * of `task`: the task replies through that adapter to the same team and channel, and, when
 * both name a thread, the same thread.
 */
function sameConversation(adapter: string, task: Task | undefined, conv: Conversation): boolean {
  if (!task || task.dispatchType !== adapter || !conv || typeof conv.channel !== "string") {
    return false;
  }
  const own = task.dispatchConfig?.conversation as Conversation | undefined;
  if (!own || typeof own.channel !== "string") return false;
  if (channelKey(adapter, own) !== channelKey(adapter, conv)) return false;
  return !(own.thread && conv.thread && own.thread !== conv.thread);
}
