/**
 * A JSON client for a server's REST API under load: a dedicated undici keep-alive pool
 * (so the load generator's connections are its own) and the test API key.
 */
import { Agent, request } from "undici";
import { TEST_API_KEY } from "../../test/support/app.ts";

/** The status and body of an answer. */
export interface ApiAnswer {
  status: number;
  text: string;
  /** The body parsed as JSON (on first use), or the text when it is not JSON. */
  readonly json: any;
}

/** A client of one server. */
export interface ApiClient {
  post(path: string, body: unknown): Promise<ApiAnswer>;
  get(path: string): Promise<ApiAnswer>;
  /** Closes the pool. */
  close(): Promise<void>;
}

/** A client for `baseUrl` with up to `connections` pooled connections. */
export function apiClient(baseUrl: string, connections: number): ApiClient {
  const agent = new Agent({ connections, keepAliveTimeout: 30_000 });
  const headers = { authorization: `Bearer ${TEST_API_KEY}`, "content-type": "application/json" };
  const call = async (method: "GET" | "POST", path: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await request(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: agent,
    });
    const text = await res.body.text();
    let parsed: { value: any } | undefined;
    return {
      status: res.statusCode,
      text,
      get json() {
        if (!parsed) {
          try {
            parsed = { value: JSON.parse(text) };
          } catch {
            parsed = { value: text };
          }
        }
        return parsed.value;
      },
    };
  };
  return {
    post: (path, body) => call("POST", path, body),
    get: (path) => call("GET", path),
    close: () => agent.close(),
  };
}
