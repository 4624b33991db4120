/**
 * The wire shapes of switchyard's outbound domain (seed 003, "integrations"): webhook
 * subscriptions, events, notifications, git auto-commit and the state that gathers them.
 * REST (`/api/v1`) and the MCP tools return exactly these, from the same service calls.
 */

import type { NotificationPriority } from "../sdk/notifier.ts";

export type { NotificationPriority } from "../sdk/notifier.ts";

/** Notification priorities; `high` and `urgent` show in an email's subject and X-Priority. */
export const NOTIFICATION_PRIORITIES = [
  "low",
  "normal",
  "high",
  "urgent",
] as const satisfies readonly NotificationPriority[];

/**
 * A notification channel's name: core's `email` and `webhook`, or one an integration's
 * `notifier.ts` adds (the live list: `NotifierRegistry.channels()`).
 */
export type NotificationChannel = string;

/** Every event name a subscription may name (seed 003's INTEGRATION_EVENTS plus `task.failed`). */
export const EVENT_NAMES = [
  "session.start",
  "session.end",
  "task.created",
  "task.completed",
  "task.failed",
  "approval.requested",
  "approval.decided",
  "error",
  "roadmap.exported",
  "task.sync",
] as const;
/** One of {@link EVENT_NAMES}. */
export type EventName = (typeof EVENT_NAMES)[number];

/** A subscription as returned anywhere: never its secret. Times are ISO 8601. */
export interface WebhookSummary {
  id: string;
  url: string;
  /** Subscribed events; empty = all events. */
  events: string[];
  has_secret: boolean;
  created_at: string;
  updated_at: string;
  /** Set when the receiver answered 410 Gone (it gets no more deliveries), else null. */
  disabled_at: string | null;
}

/** Input of register-or-update (matched by URL). */
export interface RegisterWebhookInput {
  url: string;
  events?: string[];
  secret?: string;
}

/** One subscription's part of an emitted event. */
export interface EmitDelivery {
  webhook_id: string;
  /** The outbox delivery id, also sent as `webhook-id`. */
  delivery_id: string;
  /**
   * Outcome of the inline attempts: delivered, failed (retried later), dead, or pending:
   * not tried inline (destination parked or at its cap) or still being sent when the
   * answer was due; the outbox goes on with it.
   */
  status: "delivered" | "failed" | "dead" | "pending";
  http_status: number | null;
  /** Secret-free reason when not delivered. */
  error?: string;
}

/** Result of emitting an event. */
export interface EmitResult {
  event: string;
  /** Subscriptions that took it during the inline attempts. */
  sent: number;
  /** Subscriptions that did not (their deliveries stay in the outbox unless dead). */
  failed: number;
  /** Subscriptions whose delivery is pending: not tried inline, or still in flight. */
  pending: number;
  /** Subscriptions not subscribed to the event, or disabled. */
  skipped: number;
  deliveries: EmitDelivery[];
}

/** Input of sendNotification / integration_notify. */
export interface NotifyInput {
  channel: NotificationChannel;
  message: string;
  /** Default "normal". */
  priority?: NotificationPriority;
  /** Destination: the URL the body is POSTed to (an incoming-webhook URL for a chat channel); for email, the recipient address. */
  webhook_url?: string;
  attachments?: unknown[];
  /** Per-attempt timeout in ms (default 10 000). */
  timeout_ms?: number;
  /** Inline retries after the first attempt (default 2). */
  retry_count?: number;
}

/** Result of a notification. */
export interface NotificationResult {
  /** True when it was accepted (stored; delivered or queued for retry). */
  success: boolean;
  notification_id: string;
  /** True when the receiver took it during the inline attempts. */
  delivered: boolean;
  channel: NotificationChannel;
  priority: NotificationPriority;
  /** The outbox side: its id, status and reason, or null when nothing could be sent. */
  delivery: {
    delivery_id: string | null;
    /** `pending`: not tried inline (destination parked or at its cap); the outbox sends it. */
    status: "delivered" | "failed" | "dead" | "pending" | "not_sent";
    http_status: number | null;
    attempts: number;
    error?: string;
  };
}

/** One notification in the history (newest 200 kept). */
export interface NotificationRecord {
  id: string;
  channel: string;
  message: string;
  priority: string;
  delivered: boolean;
  created_at: string;
  meta: Record<string, unknown>;
}

/** Git auto-commit settings. */
export interface GitAutoCommitConfig {
  enabled: boolean;
  on_events: string[];
}

/** Events that trigger an auto-commit by default (seed 003's AUTO_COMMIT_DEFAULT_EVENTS). */
export const AUTO_COMMIT_DEFAULT_EVENTS = ["session.end", "roadmap.exported", "task.sync"];

/** The whole state, as `integrations_state` returns it. */
export interface IntegrationsState {
  version: number;
  updated_at: string;
  webhooks: WebhookSummary[];
  git_auto_commit: GitAutoCommitConfig;
  notifications: NotificationRecord[];
}

/**
 * Bad input to an outbound service: REST answers `status` with `{detail}`, MCP returns a
 * tool error with the same text.
 */
export class OutboundInputError extends Error {
  readonly status: 400 | 404 | 422;
  constructor(status: 400 | 404 | 422, message: string) {
    super(message);
    this.name = "OutboundInputError";
    this.status = status;
  }
}

/**
 * The outbound services, as REST and MCP call them. Each method throws
 * {@link OutboundInputError} for bad input; other errors are server faults.
 */
export interface OutboundServices {
  state(): Promise<IntegrationsState>;
  listWebhooks(): Promise<WebhookSummary[]>;
  registerWebhook(
    input: RegisterWebhookInput,
  ): Promise<{ created: boolean; webhook: WebhookSummary }>;
  deleteWebhook(webhookId: string): Promise<{ removed: boolean; webhook_id: string }>;
  getGitAutoCommit(): Promise<GitAutoCommitConfig>;
  setGitAutoCommit(input: {
    enabled?: boolean;
    on_events?: string[];
  }): Promise<GitAutoCommitConfig>;
  notify(input: NotifyInput): Promise<NotificationResult>;
  emitEvent(eventName: string, payload?: Record<string, unknown>): Promise<EmitResult>;
}
