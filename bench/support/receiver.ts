/**
 * A lean webhook receiver for benchmarks, on the shared fake-server harness: it answers
 * 200 `{"ok":true}` at once and counts requests. With `taskIds` (the default) it also
 * timestamps each delivery (`performance.now()`) when its body has been fully received,
 * keyed by the `task_id` of the JSON body; without, bodies are not even read. Unlike the
 * test capture server it keeps no headers or bodies: a throughput bench must not measure
 * its receiver's bookkeeping.
 */
import { readBody, startLocalServer } from "../../test/support/http-server.ts";

/** A running receiver. */
export interface Receiver {
  /** Base URL, e.g. `http://127.0.0.1:12345`; every path is answered. */
  url: string;
  /** Requests answered so far. */
  count(): number;
  /** `performance.now()` at the first receipt of each task id (with `taskIds`). */
  readonly deliveredAt: Map<string, number>;
  /** Deliveries whose body had no task_id, and repeated task ids (with `taskIds`). */
  readonly stats: { malformed: number; duplicates: number };
  /** Resolves once every id in `ids` was received, or when `deadline` (performance.now()) passes. */
  waitFor(ids: Iterable<string>, deadline: number): Promise<boolean>;
  close(): Promise<void>;
}

const OK = Buffer.from('{"ok":true}');
const HEADERS = { "content-type": "application/json", "content-length": String(OK.length) };

/** Starts a receiver on a free port of 127.0.0.1. @param opts.taskIds read task ids (default true) */
export async function startReceiver(opts: { taskIds?: boolean } = {}): Promise<Receiver> {
  const taskIds = opts.taskIds !== false;
  let n = 0;
  const deliveredAt = new Map<string, number>();
  const stats = { malformed: 0, duplicates: 0 };
  let waiting: { pending: Set<string>; done: (ok: boolean) => void } | null = null;

  /** Counts a request and records its task id (when `body` is given); returns that id. */
  const record = (body: Buffer | undefined): string | undefined => {
    n++;
    if (body === undefined) return undefined;
    const at = performance.now();
    let taskId: unknown;
    try {
      taskId = JSON.parse(body.toString("utf8"))?.task_id;
    } catch {}
    if (typeof taskId !== "string") {
      stats.malformed++;
      return undefined;
    }
    if (deliveredAt.has(taskId)) stats.duplicates++;
    else deliveredAt.set(taskId, at);
    return taskId;
  };

  const local = await startLocalServer(
    (req, res) => {
      const answer = (body?: Buffer) => {
        const taskId = record(body);
        res.writeHead(200, HEADERS);
        res.end(OK);
        if (waiting && taskId !== undefined && waiting.pending.delete(taskId)) {
          if (waiting.pending.size === 0) waiting.done(true);
        }
      };
      if (taskIds) readBody(req).then(answer, () => {});
      else req.resume().on("end", () => answer());
    },
    { keepAliveTimeoutMs: 60_000 },
  );

  return {
    url: local.url,
    count: () => n,
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
    close: () => local.close(),
  };
}
