/**
 * Row types of the traffic in and out: the outbox (deliveries and their attempts), inbound
 * receipts (dedupe), event webhook subscriptions and the notification history.
 * Times are milliseconds since the epoch (integers); JSON values are stored as text and
 * parsed by the repositories. Re-exported by ./schema.ts.
 */

/**
 * Where an outbox row is: `pending` and `failed` (its last attempt failed) are due at
 * `next_attempt_at`; `delivered` and `dead` (given up) are final.
 */
export type DeliveryStatus = "pending" | "delivered" | "failed" | "dead";

/** `deliveries`: the outbox, one row per outbound send. */
export interface DeliveriesTable {
  /** Stable delivery id; the receiver's idempotency key (`webhook-id`). */
  id: string;
  task_id: string | null;
  /** Dispatch type (dispatcher name) that sends it. */
  target_type: string;
  /** JSON dispatch_config. */
  target: string;
  /** JSON payload handed to the dispatcher. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  /** The webhook subscription an event delivery goes to, else null. */
  subscription_id: string | null;
  /** The receiver it goes to (`lib/destination.ts`): the unit of fairness and caps. */
  destination: string;
  /** W3C `traceparent` of the work that queued it (migration 0023), or null. */
  traceparent?: string | null;
}

/** One outbox attempt of a delivery (migration 0024). Times in ms since the epoch. */
export interface DeliveryAttemptsTable {
  id: string;
  delivery_id: string;
  /** The delivery's attempt count when this attempt was claimed (1 = first). */
  attempt: number;
  started_at: number;
  duration_ms: number;
  status: "delivered" | "failed" | "dead";
  http_status: number | null;
  error: string | null;
  /** HTTP requests the attempt made through the outbound client (its own retries included). */
  requests: number;
  /** The last request: method, URL cut to `scheme://host`, headers (JSON, secrets masked). */
  request_method: string | null;
  request_url: string | null;
  request_headers: string | null;
  /** The first bytes of the last response's body, as text. */
  response_excerpt: string | null;
  response_truncated: number;
}

/** Provider delivery ids already accepted: a redelivery with the same key creates nothing. */
export interface InboundReceiptsTable {
  /** Who issued the key (an integration name, `api`). */
  source: string;
  key: string;
  message_id: string | null;
  task_id: string | null;
  /** A digest of the request that used the key (Idempotency-Key), else null. */
  fingerprint: string | null;
  created_at: number;
}

/** Outbound event webhook subscriptions. */
export interface WebhookSubscriptionsTable {
  id: string;
  url: string;
  /** JSON array of event names; empty = all events. */
  events: string;
  /** The signing secret (AES-256-GCM ciphertext when `secret_encrypted`), or null. */
  secret: string | null;
  secret_encrypted: number;
  /** Set when the receiver answered 410 Gone (or an operator disabled it). */
  disabled_at: number | null;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
}

/** Notification history (newest 200 kept). */
export interface NotificationsTable {
  id: string;
  channel: string;
  message: string;
  priority: string;
  delivered: number;
  /** Its outbox row, when it was sent through one. */
  delivery_id: string | null;
  /** JSON object: webhook host, attachments count, reason when not delivered… */
  meta: string;
  created_at: number;
}
