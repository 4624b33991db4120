/**
 * Errors of Bot API calls, told without the token. grammY puts the token in every request
 * URL (`<apiRoot>/bot<token>/<method>`), and a network failure's inner error (node-fetch's)
 * names that URL; grammY leaves it out of its own message unless `sensitiveLogs` is on, and
 * these helpers never read the inner message without masking. A Bot API refusal
 * (https://core.telegram.org/bots/api#making-requests: `{ok: false, error_code,
 * description, parameters: {retry_after}}`) keeps its code and description.
 */
import { GrammyError, HttpError } from "grammy";
import type { IntegrationErrors } from "switchyard";

/** `text` with the token, and anything shaped like a bot token in a URL, masked. */
export function redactToken(text: string, token: string | undefined): string {
  let out = token ? text.split(token).join("****") : text;
  out = out.replace(/bot\d+:[A-Za-z0-9_-]+/g, "bot****");
  return out;
}

/** A one-line, token-free account of a failed Bot API call. */
export function describeError(err: unknown, token: string | undefined): string {
  if (err instanceof GrammyError) {
    return redactToken(`${err.method}: ${err.error_code} ${err.description}`, token);
  }
  if (err instanceof HttpError) {
    const inner = (err.error as Error | undefined)?.message;
    return redactToken(inner ? `${err.message} (${inner})` : err.message, token);
  }
  return redactToken((err as Error)?.message ?? String(err), token);
}

/** The Bot API's error code of `err`, when it is a Bot API refusal. */
export function apiErrorCode(err: unknown): number | undefined {
  return err instanceof GrammyError ? err.error_code : undefined;
}

/**
 * The DeliveryError of a failed send: 429 (after `parameters.retry_after` seconds) and 5xx
 * and network failures are retried on the outbox schedule; other refusals (400 chat not
 * found, 403 bot blocked or kicked, 401 wrong token) are final.
 */
export function toDeliveryError(
  errors: IntegrationErrors,
  err: unknown,
  token: string | undefined,
): Error {
  const message = describeError(err, token);
  if (err instanceof GrammyError) {
    const status = err.error_code;
    const retryAfter = err.parameters?.retry_after;
    return new errors.DeliveryError(message, {
      status,
      retryable: status === 429 || status >= 500,
      ...(typeof retryAfter === "number" ? { retryAfterMs: retryAfter * 1000 } : {}),
    });
  }
  return new errors.DeliveryError(message, { retryable: true });
}
