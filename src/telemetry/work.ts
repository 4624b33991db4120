/**
 * Spans of the queued work, each a child of the trace stored with its row (migration 0023),
 * so one trace runs from the inbound request through the task to the delivery even when
 * they happen later, on another instance:
 * - `invoke_agent <bot>` (INTERNAL) per task run, under the task's `traceparent` (the
 *   request that created it), with `gen_ai.operation.name=invoke_agent`, `gen_ai.agent.id`,
 *   `gen_ai.conversation.id` (the session), `switchyard.task.id` and
 *   `switchyard.task.attempt`; the model and tool spans of the turn are inside it, and so
 *   is the finishing transaction, whose delivery rows store this span's `traceparent`;
 * - `send <target_type>` (PRODUCER) per delivery attempt, under the delivery's
 *   `traceparent`, with `switchyard.delivery.id`, `.target_type`, `.attempt`,
 *   `switchyard.task.id` (when it has a task) and, once known, `.outcome` (delivered,
 *   failed, dead); the outbound HTTP request carries its
 *   `traceparent` header (outbox/http-client.ts).
 */
import type { Delivery } from "../store/deliveries.ts";
import type { Task } from "../store/tasks.ts";
import {
  DELIVERY_ATTEMPT,
  DELIVERY_ID,
  DELIVERY_OUTCOME,
  DELIVERY_TARGET_TYPE,
  GEN_AI_AGENT_ID,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  OP_INVOKE_AGENT,
  TASK_ATTEMPT,
  TASK_ID,
} from "./attributes.ts";
import { inSpan, SpanKind } from "./spans.ts";

/** Runs one claim of `task` (`fn`) in its `invoke_agent` span. */
export function inTaskSpan<T>(task: Task, fn: () => Promise<T>): Promise<T> {
  return inSpan(
    `${OP_INVOKE_AGENT} ${task.botId}`,
    {
      parent: task.traceparent ?? null,
      attributes: {
        [GEN_AI_OPERATION_NAME]: OP_INVOKE_AGENT,
        [GEN_AI_AGENT_ID]: task.botId,
        [GEN_AI_CONVERSATION_ID]: task.sessionId,
        [TASK_ID]: task.id,
        [TASK_ATTEMPT]: task.attempts,
      },
    },
    fn,
  );
}

/**
 * Runs one attempt of delivery `d` (`fn`) in its `send` span; `fn`'s result's
 * `outcome.status` (delivered, failed, dead) is recorded as the outcome.
 */
export function inDeliverySpan<T extends { outcome: { status: string } }>(
  d: Delivery,
  fn: () => Promise<T>,
): Promise<T> {
  return inSpan(
    `send ${d.targetType}`,
    {
      kind: SpanKind.PRODUCER,
      parent: d.traceparent ?? null,
      attributes: {
        [DELIVERY_ID]: d.id,
        [DELIVERY_TARGET_TYPE]: d.targetType,
        [DELIVERY_ATTEMPT]: d.attempts,
        ...(d.taskId ? { [TASK_ID]: d.taskId } : {}),
      },
    },
    async (span) => {
      const out = await fn();
      span.setAttribute(DELIVERY_OUTCOME, out.outcome.status);
      return out;
    },
  );
}
