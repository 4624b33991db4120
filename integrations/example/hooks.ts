/** Integration metadata and lifecycle hooks: every event is remembered for GET /events. */
import type { HookContext, HooksDefinition, LifecycleEvent } from "switchyard";
import { remember } from "./_events.ts";

const record = (event: LifecycleEvent) => (ctx: HookContext) =>
  remember({
    event,
    correlation_id: ctx.correlationId,
    session_id: ctx.sessionId,
    extra: ctx.extra,
  });

export default {
  meta: { integration_type: "example", client_id_prefix: "example:" },
  hooks: {
    before_context_assembly: record("before_context_assembly"),
    before_llm_call: record("before_llm_call"),
    after_llm_call: record("after_llm_call"),
    before_tool_execution: record("before_tool_execution"),
    after_tool_call: record("after_tool_call"),
    after_response: record("after_response"),
    after_task_complete: record("after_task_complete"),
  },
} satisfies HooksDefinition;
