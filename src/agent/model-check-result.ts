/**
 * The last start-up check of the bots' model endpoints (see `checkBotModels`), kept for the
 * admin API to show. Nothing here probes: `switchyard serve` records what its banner probe
 * found, and readers see that result (or that no check ran yet, e.g. in `switchyard mcp`).
 */
import { redactUrl } from "../lib/redact.ts";
import type { ModelUse } from "./bot-models.ts";

/** One checked model spec as the API shows it: the endpoint is cut to `scheme://host`. */
export interface CheckedModel {
  spec: string;
  ok: boolean;
  /** The endpoint asked, `scheme://host[:port]` only ("" when the spec is unusable). */
  endpoint: string;
  /** Why it did not answer, with any URL in it cut to `scheme://host`; null when it answered. */
  reason: string | null;
  bots: Array<{ id: string; fallback: boolean }>;
}

/** Cuts every URL in `text` to `scheme://host[:port]` (a base URL may carry a token). */
function scrubUrls(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s)'"]+/gi, (u) => redactUrl(u));
}

/** Holds the latest model check of this instance. */
export class ModelCheckResult {
  #last: { checkedAt: number; models: CheckedModel[] } | undefined;

  /** Records a finished check made at `checkedAt` (ms since the epoch). */
  record(uses: ModelUse[], checkedAt = Date.now()): void {
    this.#last = {
      checkedAt,
      models: uses.map((u) => ({
        spec: u.spec,
        ok: u.ok,
        endpoint: u.endpoint ? redactUrl(u.endpoint) : "",
        reason: u.ok ? null : scrubUrls(u.reason ?? "unknown"),
        bots: u.bots.map((b) => ({ id: b.id, fallback: b.fallback })),
      })),
    };
  }

  /** The latest check, or undefined when none has finished on this instance. */
  get(): { checkedAt: number; models: CheckedModel[] } | undefined {
    return this.#last;
  }
}
