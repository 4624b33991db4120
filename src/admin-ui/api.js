// The one way the UI talks to the server: /api/v1 with the session cookie (same origin).

/** An API error: the status and the server's `detail`. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** Calls the API; returns the parsed JSON (undefined for 204) or throws ApiError. */
export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) {
    if (res.status === 401 && path !== "/api/v1/auth/session")
      window.dispatchEvent(new Event("signed-out"));
    throw new ApiError(res.status, data?.detail ?? `HTTP ${res.status}`);
  }
  return data;
}

/** True when `granted` scopes cover `required` (admin covers all; X:write covers X:read). */
export function scopeAllows(granted, required) {
  if (granted.includes("admin") || granted.includes(required)) return true;
  return required.endsWith(":read") && granted.includes(required.replace(/:read$/, ":write"));
}

const listeners = new Set();
let source;

/**
 * Subscribes to the live stream (GET /api/v1/stream). `onEvent(type, data)` gets task,
 * message, delivery and integration events; `onOpen()` runs on every (re)connect, when the
 * page should re-fetch its lists (the stream does not replay missed events).
 * @returns the unsubscribe function
 */
export function subscribe(onEvent, onOpen) {
  const entry = { onEvent, onOpen };
  listeners.add(entry);
  if (!source) {
    source = new EventSource("/api/v1/stream");
    source.onopen = () => {
      for (const l of listeners) l.onOpen?.();
    };
    for (const type of ["task", "message", "delivery", "integration", "approval"]) {
      source.addEventListener(type, (e) => {
        const data = JSON.parse(e.data);
        for (const l of listeners) l.onEvent(type, data);
      });
    }
  }
  return () => {
    listeners.delete(entry);
  };
}

/** Closes the live stream (on sign-out). */
export function closeStream() {
  source?.close();
  source = undefined;
}

/** Formats an ISO time for people, or "—". */
export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

/** Goes to an /admin path without reloading the page. */
export function navigate(href) {
  history.pushState(null, "", href);
  window.dispatchEvent(new Event("popstate"));
}
