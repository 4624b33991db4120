/**
 * The adapter contract (seed `002_…`, DESIGN §7): an integration's two-way chat boundary.
 * `adapter.ts` in an integration folder exports an {@link AdapterDefinition}; the adapter
 * host (core) builds it with the folder's `ctx`, mounts its `routes`, starts it with a
 * `handler` at start-up and stops it on shutdown. Replies never go straight from the turn
 * to the platform: the host makes each adapter the dispatcher of its dispatch type
 * (`name`), and the outbox's delivery worker is the only caller of `send`. See
 * docs/adapters.md.
 */
import type { IntegrationContext } from "./context.ts";
import type { RouterDefinition } from "./modules.ts";

/** Stable provider ids of one conversation: routing state, never a bearer token. */
export interface Conversation {
  /** Workspace, team or guild id, where the platform has one. */
  team?: string;
  /** Channel or chat id. */
  channel: string;
  /** Thread id, where the platform has threads: the session is then per thread. */
  thread?: string;
}

/** Who wrote an inbound message. */
export interface Author {
  id: string;
  displayName?: string;
  /**
   * True for the bot's own messages and other bots': such a message never triggers a turn
   * and is not stored.
   */
  isBot: boolean;
}

/**
 * An inbound file, by reference only (metadata; its bytes are not fetched yet). After the
 * host has found the message's session it asks the adapter's `attachmentSource` how to
 * download each one and stores it in that session's scope (docs/adapters.md "Files").
 */
export interface AttachmentRef {
  name: string;
  mediaType?: string;
  /** Size in bytes, when the provider says (a file over the limit is not downloaded). */
  bytes?: number;
  /** Provider's id or URL of the file; never a temporary capability. */
  ref: string;
}

/**
 * How to download one inbound file: a GET the host makes once through the server's
 * outbound client (SSRF guard, timeout, size limit while streaming), right away, and never
 * stores or logs (the URL or a header may carry the bot's token).
 */
export interface AttachmentSource {
  url: string;
  /** Request headers, e.g. `Authorization: Bearer <bot token>`. */
  headers?: Record<string, string>;
  /** A better file name than the ref's, when the provider's lookup gave one. */
  name?: string;
  /** A better media type than the ref's. */
  mediaType?: string;
}

/**
 * A file a reply carries out (a tool attached it): `send` receives one `file` output per
 * file, after the reply's text. `data()` streams the bytes from the attachment store.
 */
export interface OutboundFile {
  id: string;
  name: string;
  mediaType: string;
  /** Size in bytes. */
  bytes: number;
  data(): AsyncIterable<Uint8Array>;
}

/** What an adapter passes to `handler`: one normalized inbound message. */
export interface AdapterInput {
  /** The adapter's name; filled in (and overridden) by the host. */
  integration?: string;
  conversation: Conversation;
  author: Author;
  /** The user's words; stored as a `user` message, never as system text. */
  text: string;
  /** Whether the bot was mentioned (or replied to). */
  mentioned: boolean;
  /**
   * A direct message (one person and the bot): no mention needed unless a channel row
   * says so. Default false (a group conversation, where a mention is needed by default).
   */
  direct?: boolean;
  /** The provider's delivery or event id: the dedupe key (kept 7 days, in the store). */
  deliveryId: string;
  /**
   * The provider's id of the message itself, when it differs from `deliveryId` (an event id
   * names the delivery, not the message): what the reply's, and progress's,
   * `target.replyTo` carries, e.g. to react to the user's message. Default `deliveryId`.
   */
  replyTo?: string;
  attachments?: AttachmentRef[];
  /** Extra provider facts stored with the message (JSON; no temporary capabilities). */
  metadata?: Record<string, unknown>;
}

/**
 * What became of an input:
 * - `run`: stored, and a turn queued (its reply comes through `send`);
 * - `stored`: stored without a turn (no mention, channel with `passive_memory`);
 * - `ignored`: nothing stored (`reason`: `bot_author`, `no_mention`);
 * - `new_session`: `/new`; the conversation's session was ended and a fresh one started;
 * - `duplicate`: `deliveryId` was seen before: nothing was stored, ids are the first's.
 */
export type AdapterOutcome = "run" | "stored" | "ignored" | "new_session" | "duplicate";

/** What `handler` returns, once the message (and task) are committed. */
export interface AdapterHandlerResult {
  outcome: AdapterOutcome;
  /** Why nothing was stored, for `ignored`. */
  reason?: string;
  sessionId: string | null;
  messageId: string | null;
  taskId: string | null;
  /** True when `deliveryId` was seen before (outcome `duplicate`). */
  duplicate: boolean;
}

/**
 * The one inject path behind dedupe, as an adapter sees it. Resolves after the commit:
 * acknowledge the provider then.
 * @throws InvalidInputError (`name === "InvalidInputError"`) when the input is malformed
 * @throws AdapterNotRunningError (`name === "AdapterNotRunningError"`) when the adapter is
 *   stopped (answer 503 so the provider redelivers)
 */
export type AdapterHandler = (input: AdapterInput) => Promise<AdapterHandlerResult>;

/**
 * The replying bot's identity, for platforms that show a per-post sender (a chat API's
 * `username`/`icon_url`, a chat webhook's `username`/`avatar_url`).
 */
export interface SenderIdentity {
  /** The bot's `display_name`, when set. */
  displayName?: string;
  /** The bot's `avatar_url`, when set. */
  avatarUrl?: string;
  /**
   * What the integration's `user_attribution` hook (`hooks.ts` meta) returned for the bot
   * (`{display_name, avatar_url, integration_config}`); `{}` without a hook or when it threw.
   */
  extras: Record<string, unknown>;
}

/** Where an output goes. */
export interface AdapterTarget {
  conversation: Conversation;
  /**
   * Stable across retries: use it as the idempotency key or a marker in the post. A reply
   * split in parts has one per part (`<delivery id>` for a single part, else
   * `<delivery id>-<n>`, n from 1).
   */
  deliveryId: string;
  /**
   * The message this answers, when there is one: the input's `replyTo`, else its
   * `deliveryId`. Set for replies and for progress.
   */
  replyTo?: string;
  /** The task whose result this is, when there is one. */
  taskId?: string;
  /** Which part of a split reply this is (1-based) and how many there are. */
  part?: { index: number; count: number };
  /** Aborted shortly before the delivery's lease ends: pass it to `ctx.http` calls. */
  signal: AbortSignal;
  /** The bot that answers, when the output belongs to a task. */
  identity?: SenderIdentity;
}

/**
 * One thing to send out:
 * - `text`: (a part of) a reply, at most `maxTextLength` characters;
 * - `error`: the task failed: `"[Error: <reason>]"`, no stack trace, no secrets;
 * - `progress`: `start` while a turn is queued or running (typing indicator, a reaction),
 *   `clear` after its reply (or error) was sent. Sent once, never retried; an adapter
 *   without progress ignores it.
 * - `notice`: a short message from switchyard itself (e.g. after `/new`).
 * - `file`: a file of the reply (after its text parts), to upload to the conversation; an
 *   adapter that cannot upload throws a final DeliveryError.
 */
export type AdapterOutput =
  | { kind: "text"; text: string }
  | { kind: "error"; text: string }
  | { kind: "progress"; state: "start" | "clear" }
  | { kind: "notice"; text: string }
  | { kind: "file"; file: OutboundFile }
  | { kind: "approval_request"; approval: ApprovalView }
  | { kind: "approval_decided"; approval: ApprovalView; requestPost?: string };

/**
 * A tool call waiting for a person, as a conversation shows it (DESIGN §7, issue 13).
 * - `approval_request` output: show it with approve/deny controls (buttons, an inline
 *   keyboard, components, a signed callback) that carry `id`; a control pressed calls the
 *   `decide` given to `start`.
 * - `approval_decided` output: the decision (from the chat, REST, MCP, the admin UI or
 *   expiry): edit the request post (`requestPost`, what `send` returned for the request)
 *   to show it and drop its controls; without `requestPost`, post it as a notice.
 */
export interface ApprovalView {
  id: string;
  taskId: string;
  /** The tool's name. */
  tool: string;
  /** The call's arguments as JSON, secrets redacted. */
  args: unknown;
  /**
   * `args` as one line of JSON, cut at 1,200 characters (ending in `…` when cut): what a
   * chat message shows. Not escaped for any platform.
   */
  argsText: string;
  status: "pending" | "approved" | "denied" | "expired";
  /** When an undecided request expires (and counts as denied), ms since the epoch. */
  expiresAt: number;
  /** Who decided: an API key's name, or `<adapter>:<user id>` for a chat user. */
  decidedBy?: string;
  reason?: string;
}

/** A decision made in a conversation, as an adapter passes it to `decide`. */
export interface ApprovalDecisionInput {
  approvalId: string;
  decision: "approve" | "deny";
  reason?: string;
  /**
   * Where the control was pressed: it must be the approval's own conversation (only its
   * members can decide), else the outcome is `forbidden`.
   */
  conversation: Conversation;
  /** Who pressed it; recorded as `<adapter>:<id>`. */
  actor: Author;
}

/**
 * What became of a decision:
 * - `decided`: this call resolved the approval (the turn resumes; an `approval_decided`
 *   output follows through the outbox);
 * - `already_decided`: another decision came first; `approval` shows it;
 * - `not_found`: no such approval;
 * - `forbidden`: not the approval's conversation.
 */
export interface ApprovalDecisionResult {
  outcome: "decided" | "already_decided" | "not_found" | "forbidden";
  approval?: ApprovalView;
}

/**
 * Resolves an approval from a conversation: exactly one decision wins across instances
 * and restarts.
 * @throws AdapterNotRunningError when the adapter is stopped (answer 503)
 */
export type ApprovalDecider = (input: ApprovalDecisionInput) => Promise<ApprovalDecisionResult>;

/** What `send` may return. */
export interface AdapterSendResult {
  /**
   * The provider's id of the post (the first part's), e.g. a message id or timestamp:
   * core keeps it for later edits (the `requestPost` of `approval_decided`).
   */
  postId?: string;
}

/**
 * An adapter. `start` begins receiving (sockets, pollers, or enables its mounted
 * `routes`) and calls `handler` for each inbound message; it may throw (the host reports
 * it and retries with backoff). `send` is called only by the outbox's delivery worker and
 * throws a DeliveryError (`ctx.errors`) on failure; `stop` closes everything it opened.
 */
export interface Adapter {
  /**
   * Its name: the dispatch type its replies go by, the conversation key's prefix and the
   * prefix of its settings (`<NAME>_BOT_ID`, upper case, `-` as `_`). Must not name another
   * dispatcher (`none`, `webhook`, `internal`…).
   */
  name: string;
  /** The platform kind, for display (`webhook`, a chat platform's name…). */
  kind: string;
  /** Longest text one post may carry (characters); longer replies are split. Default 4000. */
  maxTextLength?: number;
  /**
   * Routes receiving from the provider: a Fastify plugin mounted at `/integrations/<folder>/`
   * exactly like `router.ts` (each route states `config.auth`). Mounted at load, before the
   * server listens; until `start` has given a handler they should answer 503.
   */
  routes?: RouterDefinition;
  /**
   * `decide` resolves approvals from the conversation (see {@link ApprovalView}); adapters
   * without interactive controls ignore it.
   */
  start(opts: {
    handler: AdapterHandler;
    decide: ApprovalDecider;
    signal: AbortSignal;
  }): Promise<void>;
  // biome-ignore lint/suspicious/noConfusingVoidType: an adapter without post ids returns nothing
  send(target: AdapterTarget, output: AdapterOutput): Promise<void | AdapterSendResult>;
  /**
   * Optional, for platforms where a sender can find its own earlier post (message
   * metadata, a marker): called before re-sending after an attempt whose outcome is
   * unknown (a crash, a timeout). True means the output with `target.deliveryId` was
   * already posted, so it is not sent again.
   */
  findOwnPost?(target: AdapterTarget, output: AdapterOutput): Promise<boolean>;
  /**
   * Optional: how to download an inbound file this adapter passed in `attachments` (a
   * private file URL with the bot token, a file path from a lookup call, a CDN URL).
   * The host calls it once it has resolved the message's session, downloads the file
   * (see {@link AttachmentSource}) and stores it in the session's scope; the message then
   * carries the stored attachment's id, and the model sees the file. Without it, inbound
   * files are noted by name only.
   * @throws when the file cannot be found (the host notes the file as not fetched)
   */
  attachmentSource?(ref: AttachmentRef, signal: AbortSignal): Promise<AttachmentSource>;
  stop(): Promise<void>;
}

/** `adapter.ts`: builds the integration's adapter from its context (no side effects). */
export type AdapterDefinition = (ctx: IntegrationContext) => Adapter;
