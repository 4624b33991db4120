/**
 * `delivery_attempts` (migration 0024): one row per outbox attempt, written in the same
 * transaction as the attempt's outcome (`DeliveryRepository.recordAttempts`), read by
 * `GET /api/v1/deliveries/{id}/attempts`. Rows are never changed; they are kept as long as
 * their delivery (deliveries are not pruned today).
 */
import type { Kysely } from "kysely";
import { uuidv7 } from "../ids.ts";
import { fromJson } from "./json.ts";
import type { Database, DeliveryAttemptsTable } from "./schema.ts";

/** What one attempt did (times in ms); the worker fills it. */
export interface AttemptDetails {
  /** The delivery's attempt count at the claim (1 = first). */
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** HTTP requests made through the outbound client during the attempt. */
  requests: number;
  /** The last of those requests, or null when none went through the client. */
  last: {
    method: string;
    /** `scheme://host[:port]`. */
    url: string;
    /** Its HTTP status; null when no answer came. */
    responseStatus: number | null;
    /** Secret values already masked. */
    requestHeaders: Record<string, string>;
    responseExcerpt: string | null;
    responseTruncated: boolean;
  } | null;
}

/** An attempt as read back. */
export interface DeliveryAttempt extends AttemptDetails {
  id: string;
  deliveryId: string;
  status: DeliveryAttemptsTable["status"];
  httpStatus: number | null;
  error: string | null;
}

/** The rows of `attempts` (each with its delivery, outcome and details), for one insert. */
export function attemptRows(
  attempts: Array<{
    deliveryId: string;
    status: DeliveryAttemptsTable["status"];
    httpStatus: number | null;
    error: string | null;
    details: AttemptDetails;
  }>,
): DeliveryAttemptsTable[] {
  return attempts.map((a) => ({
    id: uuidv7(),
    delivery_id: a.deliveryId,
    attempt: a.details.attempt,
    started_at: Math.round(a.details.startedAt),
    duration_ms: Math.round(a.details.durationMs),
    status: a.status,
    http_status: a.httpStatus ?? a.details.last?.responseStatus ?? null,
    error: a.error || null,
    requests: a.details.requests,
    request_method: a.details.last?.method ?? null,
    request_url: a.details.last?.url ?? null,
    request_headers: a.details.last ? JSON.stringify(a.details.last.requestHeaders) : null,
    response_excerpt: a.details.last?.responseExcerpt ?? null,
    response_truncated: a.details.last?.responseTruncated ? 1 : 0,
  }));
}

/** Reads attempts. */
export class DeliveryAttemptRepository {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The attempts of a delivery, oldest first, at most `limit` (the newest ones). */
  async list(deliveryId: string, limit = 100): Promise<DeliveryAttempt[]> {
    const rows = await this.#db
      .selectFrom("delivery_attempts")
      .selectAll()
      .where("delivery_id", "=", deliveryId)
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    return rows.reverse().map((r) => ({
      id: r.id,
      deliveryId: r.delivery_id,
      attempt: r.attempt,
      startedAt: Number(r.started_at),
      durationMs: r.duration_ms,
      status: r.status,
      httpStatus: r.http_status,
      error: r.error,
      requests: r.requests,
      last:
        r.request_method == null
          ? null
          : {
              method: r.request_method,
              url: r.request_url ?? "",
              responseStatus: r.http_status,
              requestHeaders: fromJson(r.request_headers, {}) as Record<string, string>,
              responseExcerpt: r.response_excerpt,
              responseTruncated: Boolean(r.response_truncated),
            },
    }));
  }
}
