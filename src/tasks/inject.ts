/**
 * `injectMessage`: the one path by which a message enters a session (REST, integration
 * routers and adapters all call it). The message and, when the agent should run, its
 * task are written in one transaction; the caller can acknowledge once it returns.
 */

import type { Store } from "../store/index.ts";
import { insertMessage, type MessageRole } from "../store/messages.ts";
import { type ExecutionConfig, insertTask } from "../store/tasks.ts";

/** Options of {@link MessageService.injectMessage}. */
export interface InjectOptions {
  content: string;
  role?: MessageRole;
  /** Where it came from (`api`, an integration name…); stored in metadata.source. */
  source?: string;
  metadata?: Record<string, unknown>;
  /** Queue an agent turn on this message (default false). */
  runAgent?: boolean;
  /** Deliver the result through the dispatcher (default true); false keeps it in the DB. */
  notify?: boolean;
  executionConfig?: ExecutionConfig | null;
  /** Where the result goes: `{type, ...}`; default the session's dispatch_config, else none. */
  dispatchConfig?: Record<string, unknown> | null;
  /** Overrides the `type` of `dispatchConfig`. */
  dispatchType?: string;
  callbackConfig?: Record<string, unknown> | null;
  /** Per-task limit (s); default TASK_MAX_RUN_SECONDS. */
  maxRunSeconds?: number | null;
}

/** What an injection created. */
export interface InjectResult {
  messageId: string;
  sessionId: string;
  taskId: string | null;
}

/** Thrown when the session does not exist. */
export class SessionNotFoundError extends Error {
  constructor() {
    super("Session not found");
  }
}

/** Writes messages (and tasks) into sessions. */
export class MessageService {
  readonly #store: Store;
  readonly #onTaskCreated: (sessionId: string) => void;
  constructor(store: Store, onTaskCreated: (sessionId: string) => void) {
    this.#store = store;
    this.#onTaskCreated = onTaskCreated;
  }

  /**
   * Stores a message in `sessionId` and, with `runAgent`, a pending task for it.
   * @throws SessionNotFoundError when the session does not exist
   */
  async injectMessage(sessionId: string, opts: InjectOptions): Promise<InjectResult> {
    const session = await this.#store.sessions.get(sessionId);
    if (!session) throw new SessionNotFoundError();
    const runAgent = opts.runAgent === true;
    let dispatchConfig = opts.dispatchConfig ?? session.dispatchConfig ?? null;
    let dispatchType =
      opts.dispatchType ??
      (typeof dispatchConfig?.type === "string" ? dispatchConfig.type : "none");
    if (opts.notify === false) {
      dispatchType = "none";
      dispatchConfig = null;
    }
    const result = await this.#store.transaction(async (trx) => {
      const message = await insertMessage(trx, {
        sessionId,
        role: opts.role ?? "user",
        content: opts.content,
        metadata: { ...opts.metadata, source: opts.source ?? "api" },
      });
      let taskId: string | null = null;
      if (runAgent) {
        const task = await insertTask(trx, {
          sessionId,
          botId: session.botId,
          messageId: message.id,
          prompt: opts.content,
          dispatchType,
          dispatchConfig,
          executionConfig: opts.executionConfig ?? null,
          callbackConfig: opts.callbackConfig ?? null,
          maxRunSeconds: opts.maxRunSeconds ?? null,
        });
        taskId = task.id;
      }
      return { messageId: message.id, sessionId, taskId };
    });
    if (result.taskId) this.#onTaskCreated(sessionId);
    return result;
  }
}
