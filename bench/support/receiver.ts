/**
 * A lean webhook receiver for benchmarks: a bare node:http server on 127.0.0.1 that
 * timestamps each delivery (`performance.now()`) when its body has been fully received,
 * parses `task_id` from the JSON body and answers 200 at once. Unlike the test capture
 * server it keeps no headers or bodies, only `task_id → time`.
 */
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A running receiver. */
export interface Receiver {
  /** Webhook URL, e.g. `http://127.0.0.1:12345/hook`. */
  url: string;
  /** `performance.now()` at the first receipt of each task id. */
  readonly deliveredAt: Map<string, number>;
  /** Deliveries whose body had no task_id, and repeated task ids. */
  readonly stats: { malformed: number; duplicates: number };
  /** Resolves once every id in `ids` was received, or when `deadline` (performance.now()) passes. */
  waitFor(ids: Iterable<string>, deadline: number): Promise<boolean>;
  close(): Promise<void>;
}

const OK = Buffer.from('{"ok":true}');
const HEADERS = { "content-type": "application/json", "content-length": String(OK.length) };

/** Starts a receiver on a free port of 127.0.0.1. */
export async function startReceiver(): Promise<Receiver> {
  const deliveredAt = new Map<string, number>();
  const stats = { malformed: 0, duplicates: 0 };
  const sockets = new Set<Socket>();
  let waiting: { pending: Set<string>; done: (ok: boolean) => void } | null = null;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const at = performance.now();
      let taskId: unknown;
      try {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        taskId = JSON.parse(body.toString("utf8"))?.task_id;
      } catch {}
      if (typeof taskId !== "string") stats.malformed++;
      else if (deliveredAt.has(taskId)) stats.duplicates++;
      else deliveredAt.set(taskId, at);
      res.writeHead(200, HEADERS);
      res.end(OK);
      if (waiting && typeof taskId === "string" && waiting.pending.delete(taskId)) {
        if (waiting.pending.size === 0) waiting.done(true);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveredAt,
    stats,
    waitFor(ids, deadline) {
      const pending = new Set<string>();
      for (const id of ids) if (!deliveredAt.has(id)) pending.add(id);
      if (pending.size === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), Math.max(0, deadline - performance.now()));
        const done = (ok: boolean) => {
          clearTimeout(timer);
          waiting = null;
          resolve(ok);
        };
        waiting = { pending, done };
      });
    },
    async close() {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
}
