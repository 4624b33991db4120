/**
 * `/api/v1/auth/session`: the admin UI's sign-in. `POST {api_key}` exchanges a key for a
 * session cookie (`switchyard_session`: HttpOnly, SameSite=Strict, Path=/, Secure over
 * https) lasting `SWITCHYARD_UI_SESSION_HOURS`; `GET` says which key the request stands
 * for (`{key_name, scopes, expires_at}`); `DELETE` signs out. The cookie holds 256 random
 * bits; the server keeps only their SHA-256. Failed sign-ins are limited per client
 * address ({@link SignInLimiter}).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { type ApiKeyAuth, checkSameOrigin, cookieValue, UI_SESSION_COOKIE } from "../http/auth.ts";
import { HttpError } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";

const signInBody = z.strictObject({ api_key: z.string().min(1).max(512) });

/** What authSessionApi needs. */
export interface AuthSessionApiOptions {
  /** How long a session lasts (ms). */
  sessionMs: number;
  /** The failed sign-in limiter (default: 10 failures per 15 minutes per address). */
  limiter?: SignInLimiter;
}

/**
 * Counts failed sign-ins per client address in a sliding window; past `max` the address
 * gets 429 until its oldest failure leaves the window. In memory, per instance: enough to
 * make guessing a 256-bit key by this door pointless, and a success never counts.
 */
export class SignInLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly max: number;
  readonly windowMs: number;
  /**
   * @param max failures allowed in the window
   * @param windowMs the window (ms)
   */
  constructor(max = 10, windowMs = 15 * 60_000) {
    this.max = max;
    this.windowMs = windowMs;
  }

  /** Seconds until `ip` may try again, or 0 when it may now. */
  retryAfter(ip: string, now = Date.now()): number {
    const list = (this.#failures.get(ip) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length) this.#failures.set(ip, list);
    else this.#failures.delete(ip);
    if (list.length < this.max) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - now) / 1000));
  }

  /** Records a failure of `ip`. */
  fail(ip: string, now = Date.now()): void {
    if (this.#failures.size > 10_000) this.#failures.clear();
    const list = this.#failures.get(ip) ?? [];
    list.push(now);
    this.#failures.set(ip, list);
  }
}

/** The Set-Cookie value of the session cookie (`maxAgeS` 0 clears it). */
function sessionCookie(req: FastifyRequest, value: string, maxAgeS: number): string {
  const secure = req.protocol === "https" ? "; Secure" : "";
  return `${UI_SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;
}

function clearCookie(req: FastifyRequest, reply: FastifyReply): void {
  reply.header("set-cookie", sessionCookie(req, "", 0));
}

/** Registers the sign-in routes. */
export const authSessionApi = apiPlugin<AuthSessionApiOptions & { auth: ApiKeyAuth }>(
  (routes, { auth, sessionMs, limiter = new SignInLimiter() }) => {
    routes.add({
      method: "POST",
      url: "/api/v1/auth/session",
      summary:
        "Sign in to the admin UI: {api_key} → sets the HttpOnly session cookie; 401 for an unknown key, 429 after too many failures",
      body: signInBody,
      responses: { 429: "Too many failed sign-ins from this address; see Retry-After" },
      async handler({ body, req }, reply) {
        const wait = limiter.retryAfter(req.ip);
        if (wait > 0) {
          reply.header("retry-after", String(wait));
          throw new HttpError(429, "Too many failed sign-ins; try again later");
        }
        const record = await auth.identify(body.api_key);
        if (!record) {
          limiter.fail(req.ip);
          throw new HttpError(401, "Invalid API key");
        }
        const session = await auth.signIn(record, sessionMs);
        reply.header("set-cookie", sessionCookie(req, session.id, Math.floor(sessionMs / 1000)));
        return {
          key_name: record.name,
          scopes: record.scopes,
          expires_at: new Date(session.expiresAt).toISOString(),
        };
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/auth/session",
      summary:
        "Who the request is: {key_name, scopes, expires_at} (expires_at null for a bearer key); 401 when signed out",
      async handler({ req }) {
        const session = req.headers.authorization ? undefined : await auth.session(req);
        if (session) {
          return {
            key_name: session.record.name,
            scopes: session.record.scopes,
            expires_at: new Date(session.expiresAt).toISOString(),
          };
        }
        const record = await auth.authenticate(req);
        return { key_name: record.name, scopes: record.scopes, expires_at: null };
      },
    });

    routes.add({
      method: "DELETE",
      url: "/api/v1/auth/session",
      summary: "Sign out: ends the session and clears the cookie (204, signed in or not)",
      status: 204,
      async handler({ req }, reply) {
        const id = cookieValue(req, UI_SESSION_COOKIE);
        if (id) {
          checkSameOrigin(req);
          await auth.signOut(id);
        }
        clearCookie(req, reply);
        return reply.code(204).send();
      },
    });
  },
);
