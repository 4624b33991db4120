/**
 * The adapter contract (seed `002_…`): an integration's two-way chat boundary. Types only
 * for now; the adapter host that starts adapters and routes their replies through the
 * outbox comes with the chat adapters.
 */
import type { IntegrationContext } from "./context.ts";

/** Stable provider ids of one conversation: routing state, never a bearer token. */
export interface Conversation {
  /** Workspace, team or guild id, where the platform has one. */
  team?: string;
  /** Channel or chat id. */
  channel: string;
  /** Thread id, where the platform has threads. */
  thread?: string;
}

/** Who wrote an inbound message. */
export interface Author {
  id: string;
  displayName?: string;
  isBot: boolean;
}

/** An inbound file, by reference only (its bytes are fetched by the attachment store). */
export interface AttachmentRef {
  name: string;
  mediaType?: string;
  bytes?: number;
  /** Provider's id or URL of the file; never a temporary capability. */
  ref: string;
}

/** What an adapter passes to `handler`: one normalized inbound message. */
export interface AdapterInput {
  /** The integration's name. */
  integration: string;
  conversation: Conversation;
  author: Author;
  text: string;
  /** Whether the bot was mentioned (or it is a direct message). */
  mentioned: boolean;
  /** The provider's delivery or event id: the dedupe key. */
  deliveryId: string;
  attachments?: AttachmentRef[];
  metadata?: Record<string, unknown>;
}

/** What `handler` returns once the message (and task) are committed. */
export interface AdapterHandlerResult {
  sessionId: string;
  messageId: string | null;
  taskId: string | null;
  /** True when `deliveryId` was seen before: nothing was stored. */
  duplicate: boolean;
}

/** The one inject path behind dedupe, as an adapter sees it. */
export type AdapterHandler = (input: AdapterInput) => Promise<AdapterHandlerResult>;

/** Where an output goes: the conversation, and the outbox's stable delivery id. */
export interface AdapterTarget {
  conversation: Conversation;
  /** Stable across retries: use it as the idempotency key or a marker. */
  deliveryId: string;
  /** Aborted shortly before the delivery's lease ends. */
  signal: AbortSignal;
}

/** One thing to send out. */
export type AdapterOutput =
  | { kind: "text"; text: string }
  | { kind: "approval"; approvalId: string; tool: string; args: unknown; text: string }
  | { kind: "progress"; text: string }
  | {
      kind: "attachment";
      attachmentId: string;
      name: string;
      mediaType?: string;
      caption?: string;
    };

/**
 * An adapter. `start` begins receiving (sockets, pollers or mounted routes) and calls
 * `handler` for each message; `send` is called only by the outbox's delivery worker and
 * throws a DeliveryError on failure; `stop` closes everything it opened.
 */
export interface Adapter {
  name: string;
  kind: string;
  start(opts: { handler: AdapterHandler; signal: AbortSignal }): Promise<void>;
  send(target: AdapterTarget, output: AdapterOutput): Promise<void>;
  stop(): Promise<void>;
}

/** `adapter.ts`: builds the integration's adapter from its context. */
export type AdapterDefinition = (ctx: IntegrationContext) => Adapter;
