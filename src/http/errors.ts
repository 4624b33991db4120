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
