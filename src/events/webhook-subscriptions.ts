/**
 * Webhook subscriptions as a service (seed 003: listWebhooks, registerWebhook,
 * deleteWebhook): input checks, the SSRF check at registration, the wire shape without
 * secrets, and an in-memory cache of the subscription list so that emitting an event
 * nobody subscribed to costs no database round trip.
 */
import type { Logger } from "pino";
import { redactUrl } from "../lib/redact.ts";
import { secretProblem } from "../outbox/signing.ts";
import { assertUrlAllowed, type Resolver, UrlNotAllowedError } from "../outbox/ssrf.ts";
import { SettingDecryptError } from "../store/integration-settings.ts";
import type {
  SubscriptionForSend,
  WebhookSubscription,
  WebhookSubscriptionRepository,
} from "../store/webhook-subscriptions.ts";
import {
  EVENT_NAMES,
  OutboundInputError,
  type RegisterWebhookInput,
  type WebhookSummary,
} from "./outbound-types.ts";

/** Longest accepted URL, in characters. */
const MAX_URL_LENGTH = 2048;
/** Longest accepted secret, in characters. */
const MAX_SECRET_LENGTH = 1024;

/** Settings of {@link WebhookSubscriptionService}. */
export interface WebhookSubscriptionServiceOptions {
  repo: WebhookSubscriptionRepository;
  log: Logger;
  /** `SWITCHYARD_ALLOW_PRIVATE_URLS`: skip the address check at registration. */
  allowPrivate: boolean;
  /** The resolver the outbound client uses (tests inject one); default the system's. */
  resolver?: Resolver;
  /**
   * How long (ms) the cached subscription list is used before it is read again, so that
   * other instances' changes are seen; default 2000. This process's own writes refresh
   * it at once.
   */
  cacheMs?: number;
}

/** The wire shape of a subscription: never its secret. */
export function webhookSummary(s: WebhookSubscription): WebhookSummary {
  return {
    id: s.id,
    url: s.url,
    events: s.events,
    has_secret: s.hasSecret,
    created_at: new Date(s.createdAt).toISOString(),
    updated_at: new Date(s.updatedAt).toISOString(),
    disabled_at: s.disabledAt == null ? null : new Date(s.disabledAt).toISOString(),
  };
}

/** True when `s` is enabled and subscribed to `event` (no events = every event). */
export function subscribedTo(s: WebhookSubscription, event: string): boolean {
  return s.disabledAt == null && (s.events.length === 0 || s.events.includes(event));
}

/** Registers, lists and deletes subscriptions; caches the list for event emission. */
export class WebhookSubscriptionService {
  readonly #o: WebhookSubscriptionServiceOptions;
  readonly #cacheMs: number;
  /** The list read at `at`, by id, and the secrets (kept here only, never returned). */
  #cache:
    | {
        at: number;
        subs: WebhookSubscription[];
        byId: Map<string, WebhookSubscription>;
        secrets: Map<string, string | null>;
      }
    | undefined;
  #loading: Promise<WebhookSubscription[]> | undefined;
  /** Bumped by every local write, so a read that started before it is not cached. */
  #generation = 0;

  constructor(opts: WebhookSubscriptionServiceOptions) {
    this.#o = opts;
    this.#cacheMs = opts.cacheMs ?? 2000;
  }

  /** Every subscription, oldest first, without secrets. */
  async listWebhooks(): Promise<WebhookSummary[]> {
    return (await this.fresh()).map(webhookSummary);
  }

  /**
   * Registers `input.url`, or updates the subscription with that URL (seed 003): its
   * events (omitted: every event for a new one, unchanged for an existing one), its secret when one is given (`""` removes it, omitted
   * keeps the stored one, since a secret cannot be read back), and `updated_at`. A
   * subscription disabled by a 410 is enabled again.
   * @throws OutboundInputError 422 for a URL that is not http(s), too long, or refused by
   *   the SSRF check (loopback, private, link-local, CGNAT, metadata, IPv4-mapped… unless
   *   `allowPrivate`), for an unknown event name (the message lists the valid ones), or
   *   for an unusable secret
   */
  async registerWebhook(
    input: RegisterWebhookInput,
  ): Promise<{ created: boolean; webhook: WebhookSummary }> {
    const url = await this.#checkUrl(input.url);
    const events = input.events === undefined ? undefined : checkEvents(input.events);
    let secret: string | null | undefined = input.secret;
    if (typeof secret === "string") {
      if (secret === "") secret = null;
      else if (secret.length > MAX_SECRET_LENGTH) {
        throw new OutboundInputError(422, `secret must be at most ${MAX_SECRET_LENGTH} characters`);
      } else {
        const problem = secretProblem(secret);
        if (problem) throw new OutboundInputError(422, problem);
      }
    }
    const { created, sub } = await this.#o.repo.upsert({ url, events, secret });
    this.invalidate();
    this.#o.log.info(
      { webhook_id: sub.id, url: redactUrl(sub.url), events, created },
      created ? "webhook registered" : "webhook updated",
    );
    return { created, webhook: webhookSummary(sub) };
  }

  /** Deletes the subscription `webhookId`; `removed` is false when there was none. */
  async deleteWebhook(webhookId: string): Promise<{ removed: boolean; webhook_id: string }> {
    const removed = await this.#o.repo.delete(webhookId);
    this.invalidate();
    if (removed) this.#o.log.info({ webhook_id: webhookId }, "webhook deleted");
    return { removed, webhook_id: webhookId };
  }

  /**
   * Disables a subscription whose receiver answered 410 Gone (REFERENCE.md, Svix: "410
   * disables the endpoint"); later events skip it until it is registered again.
   */
  async disable(webhookId: string, reason: string): Promise<void> {
    const changed = await this.#o.repo.disable(webhookId, reason);
    this.invalidate();
    if (changed) this.#o.log.warn({ webhook_id: webhookId, reason }, "webhook disabled");
  }

  /**
   * The subscription with its secret, for one send; undefined when deleted. Taken from the
   * cached list while it is fresh (the same few seconds of staleness for other instances'
   * changes as event emission; this process's writes drop the cache), else read.
   * @throws Error (retryable: false) when the secret cannot be decrypted
   */
  async forSend(webhookId: string): Promise<SubscriptionForSend | undefined> {
    const c = this.#cache;
    if (c && Date.now() - c.at < this.#cacheMs) {
      const sub = c.byId.get(webhookId);
      const secret = c.secrets.get(webhookId);
      if (sub && secret !== undefined) return { ...sub, secret };
    }
    try {
      return await this.#o.repo.getForSend(webhookId);
    } catch (err) {
      if (err instanceof SettingDecryptError) {
        throw Object.assign(new Error("webhook secret cannot be decrypted"), { retryable: false });
      }
      throw err;
    }
  }

  /** The cached list when it is fresh, else undefined (never touches the database). */
  peek(): WebhookSubscription[] | undefined {
    const c = this.#cache;
    return c && Date.now() - c.at < this.#cacheMs ? c.subs : undefined;
  }

  /** The list, from the cache when fresh, else read once (concurrent callers share it). */
  cached(): Promise<WebhookSubscription[]> {
    const subs = this.peek();
    return subs ? Promise.resolve(subs) : this.fresh();
  }

  /** Reads the list now and caches it. */
  fresh(): Promise<WebhookSubscription[]> {
    if (this.#loading) return this.#loading;
    const generation = this.#generation;
    const at = Date.now();
    const p = this.#o.repo.listWithSecrets().then(({ subs, secrets }) => {
      if (generation === this.#generation) {
        this.#cache = { at, subs, byId: new Map(subs.map((s) => [s.id, s])), secrets };
      }
      return subs;
    });
    this.#loading = p;
    const clear = () => {
      if (this.#loading === p) this.#loading = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /**
   * The list as last read, however old, or undefined when none was read since the last
   * write: for code inside a transaction, which must not read (call {@link cached} first).
   */
  lastKnown(): WebhookSubscription[] | undefined {
    return this.#cache?.subs;
  }

  /** Drops the cached list (after a write of this process). */
  invalidate(): void {
    this.#generation++;
    this.#cache = undefined;
    this.#loading = undefined;
  }

  async #checkUrl(raw: unknown): Promise<string> {
    if (typeof raw !== "string" || raw.trim() === "") {
      throw new OutboundInputError(422, "url is required");
    }
    if (raw.length > MAX_URL_LENGTH) {
      throw new OutboundInputError(422, `url must be at most ${MAX_URL_LENGTH} characters`);
    }
    try {
      await assertUrlAllowed(raw.trim(), {
        allowPrivate: this.#o.allowPrivate,
        resolver: this.#o.resolver,
      });
    } catch (err) {
      if (!(err instanceof UrlNotAllowedError)) throw err;
      if (err.reason === "scheme" || err.reason === "invalid URL") {
        throw new OutboundInputError(422, "url must be an absolute http:// or https:// URL");
      }
      // The message names the host and the reason, never userinfo, path or query.
      throw new OutboundInputError(
        422,
        `url is not allowed: ${err.message.replace(/^destination not allowed: /, "")}` +
          (err.reason === "unresolvable host"
            ? ""
            : " (loopback, private, link-local, CGNAT and metadata addresses are refused)"),
      );
    }
    // Normalised (lower-case host, default port dropped), so one endpoint is one URL.
    return new URL(raw.trim()).href;
  }
}

/**
 * Checks event names against {@link EVENT_NAMES}; duplicates are dropped.
 * @throws OutboundInputError 422 naming the unknown ones and listing the valid ones
 */
export function checkEvents(events: unknown): string[] {
  if (!Array.isArray(events) || events.some((e) => typeof e !== "string")) {
    throw new OutboundInputError(422, "events must be an array of event names");
  }
  const valid: readonly string[] = EVENT_NAMES;
  const unknown = events.filter((e) => !valid.includes(e));
  if (unknown.length) {
    throw new OutboundInputError(
      422,
      `Unknown event${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}; valid events: ${EVENT_NAMES.join(", ")}`,
    );
  }
  return [...new Set(events as string[])];
}
