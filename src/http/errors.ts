/** HTTP errors with the API's shape: `{"detail": "…"}` and a status code. */

/** An error a route throws to answer `status` with `{"detail": message}`. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, detail: string) {
    super(detail);
    this.status = status;
  }
}

/** 404 with `{"detail": "<what> not found"}`. */
export function notFound(what: string): HttpError {
  return new HttpError(404, `${what} not found`);
}

/**
 * The `detail` of a 415: a body on a JSON route came without a JSON content type (curl's
 * `-d` sends `application/x-www-form-urlencoded`), so the answer says how to send one.
 */
export const NOT_JSON_DETAIL =
  "Request body must be JSON with a JSON content type; with curl add -H 'content-type: application/json'";

/** 415 with {@link NOT_JSON_DETAIL}. */
export function notJson(): HttpError {
  return new HttpError(415, NOT_JSON_DETAIL);
}

/**
 * The error policy as the API states it (README "Errors", OpenAPI `info.description`).
 * Every error answers `{"detail": "…"}` and echoes no secret.
 */
export const ERROR_POLICY = [
  'Every error answers {"detail": "…"}.',
  "400: the body is not valid JSON, or the request breaks the route's schema as published here (a wrong type, a missing or unknown field, a value outside its set or range, an unknown query parameter, a malformed cursor); the detail names the field.",
  "401: no API key or an unknown one (checked before the body is read); 403: the key lacks the route's scope.",
  "404: no such path, or no such resource (also for DELETE of an unknown id).",
  "405: the path exists under other methods; the Allow header lists them.",
  "409: the resource's state forbids the action (a finished task, a pending delivery).",
  "413: the body is larger than SWITCHYARD_MAX_BODY_BYTES.",
  "415: a body without a JSON content type (curl: -H 'content-type: application/json').",
  "422: a well-formed request refused on its meaning: it names a bot, setting or dispatch type the server does not have, a destination URL the SSRF guard refuses, or fields that cannot work together (a chat channel without webhook_url).",
].join("\n");
