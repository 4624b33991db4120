/**
 * What an outbox attempt sent and got back over HTTP, for its `delivery_attempts` row: the
 * delivery worker runs each attempt inside {@link collectExchanges}, and the outbound HTTP
 * client reports every request it makes there with {@link noteExchange} — however deep in a
 * dispatcher or an integration the call is, through Node's AsyncLocalStorage. Outside an
 * attempt (a tool's request, a download) nothing is kept.
 *
 * Secrets stay out: header values under secret-like names (`authorization`, `x-api-key`,
 * `*-token`…, see `lib/redact.ts`) and `cookie` are masked as `"****"`; the URL is cut to
 * `scheme://host[:port]`.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { isSecretName, redactUrl } from "../lib/redact.ts";

/** How much of a response body an attempt row keeps, characters. */
export const RESPONSE_EXCERPT_CHARS = 2048;

/** One HTTP request of an attempt, as recorded. */
export interface HttpExchange {
  method: string;
  /** `scheme://host[:port]` only. */
  url: string;
  /** Lower-case names; secret values masked. */
  requestHeaders: Record<string, string>;
  /** Null when no answer came (timeout, network error). */
  status: number | null;
  /** The first {@link RESPONSE_EXCERPT_CHARS} characters of the body, or null. */
  responseExcerpt: string | null;
  /** True when the body was longer than the excerpt. */
  responseTruncated: boolean;
}

const current = new AsyncLocalStorage<HttpExchange[]>();

/** `headers` with the values of secret-named headers (and cookies) masked. */
export function maskHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    out[name] = isSecretName(name) || name === "cookie" ? "****" : v;
  }
  return out;
}

/**
 * Runs `fn`, collecting the HTTP requests made inside it.
 * @returns what `fn` returned or threw (as `error`), and the exchanges in order
 */
export async function collectExchanges<T>(
  fn: () => Promise<T>,
): Promise<
  { exchanges: HttpExchange[] } & ({ ok: true; value: T } | { ok: false; error: unknown })
> {
  const exchanges: HttpExchange[] = [];
  return current.run(exchanges, async () => {
    try {
      return { ok: true as const, value: await fn(), exchanges };
    } catch (error) {
      return { ok: false as const, error, exchanges };
    }
  });
}

/** Records one request of the current attempt, if any (a no-op elsewhere). */
export function noteExchange(x: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  status: number | null;
  body?: string;
  truncated?: boolean;
}): void {
  const list = current.getStore();
  if (!list) return;
  const body = x.body ?? null;
  list.push({
    method: x.method.toUpperCase(),
    url: redactUrl(x.url),
    requestHeaders: maskHeaders(x.headers),
    status: x.status,
    responseExcerpt: body === null ? null : body.slice(0, RESPONSE_EXCERPT_CHARS),
    responseTruncated:
      (x.truncated ?? false) || (body !== null && body.length > RESPONSE_EXCERPT_CHARS),
  });
}
