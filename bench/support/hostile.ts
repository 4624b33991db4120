/**
 * Hostile webhook receivers for the deliveries benchmark's hostile cell, on 127.0.0.1:
 * - `hanging`: reads the request and never answers;
 * - `huge`: answers 200 with a 10 MB body;
 * - `trickle`: answers 200 headers at once, then one body byte every 500 ms, never ending.
 * Each counts requests; `close()` destroys every open connection.
 */
import { readBody, startLocalServer } from "../../test/support/http-server.ts";

/** A running hostile receiver. */
export interface HostileReceiver {
  url: string;
  count(): number;
  close(): Promise<void>;
}

/** Bytes of the `huge` receiver's answer. */
const HUGE_BYTES = 10 * 1024 * 1024;

/** Starts a hostile receiver of the given kind. */
export async function startHostile(kind: "hanging" | "huge" | "trickle"): Promise<HostileReceiver> {
  let n = 0;
  const huge = kind === "huge" ? Buffer.alloc(HUGE_BYTES, 0x61) : undefined;
  const local = await startLocalServer(async (req, res) => {
    n++;
    await readBody(req).catch(() => undefined);
    if (kind === "hanging") return;
    if (huge) {
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(huge.length) });
      res.end(huge);
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    const drip = () => {
      if (res.destroyed || local.closed) return;
      res.write(" ");
      local.later(500, drip);
    };
    drip();
  });
  return { url: local.url, count: () => n, close: () => local.close() };
}
