/**
 * The chaos suite's cluster: two `switchyard serve` processes (A and B) on one PostgreSQL
 * database, each with its own data dir, that a killer SIGKILLs in turn and restarts at once
 * on the same data dir and database; and a client that sends each request to an instance
 * that is up, failing over to the other when a connection is refused or cut.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type ServerProcess, startServerProcess } from "../support/serve-process.ts";

/** One of the two server processes, restarted after each kill (a new port each time). */
export class Instance {
  readonly name: string;
  readonly #env: Record<string, string>;
  #server: ServerProcess | undefined;
  /** Base URL while it is up and listening, else undefined. */
  url: string | undefined;
  /** SIGKILLs so far. */
  kills = 0;
  /** Periods it was down, `[from, to]` epoch ms (`to` is when it listened again). */
  readonly downtime: Array<[number, number]> = [];

  constructor(name: string, env: Record<string, string>) {
    this.name = name;
    this.#env = env;
  }

  /**
   * Starts the process and waits until it listens.
   * @throws Error with its output when it does not listen within 60 s
   */
  async start(): Promise<void> {
    this.#server = await startServerProcess(this.#env);
    this.url = this.#server.url;
  }

  /** SIGKILL (a crash), then a restart at once on the same data dir and database. */
  async crashAndRestart(): Promise<void> {
    const from = Date.now();
    this.url = undefined;
    this.kills++;
    await this.#server?.kill();
    await this.start();
    this.downtime.push([from, Date.now()]);
  }

  /** Stops it with SIGTERM (SIGKILL after 10 s). */
  async stop(): Promise<void> {
    this.url = undefined;
    await this.#server?.stop();
  }

  /** The last few kB of its output (for a failure message). */
  output(): string {
    return this.#server?.output() ?? "";
  }
}

/** How long one try of a request may take before it counts as cut, ms. */
const TRY_TIMEOUT_MS = 30_000;

/** How a request ended when no instance answered it. */
export type Unanswered = "refused" | "cut";

/** The answer of {@link Cluster.request}. */
export type ClusterAnswer =
  | { status: number; body: any; attempts: number; cut: number }
  | { status: Unanswered; body: undefined; attempts: number; cut: number };

/** Options of {@link Cluster.request}. */
export interface RequestOptions {
  headers?: Record<string, string>;
  /** A raw body (sent as is); else `body` as JSON. */
  raw?: string;
  body?: unknown;
  /**
   * Whether a request cut after it was sent (outcome unknown) may be sent again: true for
   * idempotent requests (an Idempotency-Key, a provider's event id). A refused connection
   * (nothing reached a server) or a 503 is always tried again on the other instance.
   */
  retryCut: boolean;
  /** Give up after this long, ms (default 300000: a client that keeps trying). */
  deadlineMs?: number;
  /** Called before each try with its number (0-based): a signed request re-signs here. */
  prepare?: (attempt: number) => { headers?: Record<string, string>; raw?: string };
}

/** Two instances on one database and the client that talks to whichever is up. */
export class Cluster {
  readonly instances: Instance[];
  readonly apiKey: string;
  #next = 0;

  constructor(instances: Instance[], apiKey: string) {
    this.instances = instances;
    this.apiKey = apiKey;
  }

  /** The URL of an instance that is up (round robin), waiting for one when both are down. */
  async liveUrl(): Promise<string> {
    for (;;) {
      for (let i = 0; i < this.instances.length; i++) {
        const inst = this.instances[this.#next++ % this.instances.length]!;
        if (inst.url) return inst.url;
      }
      await sleep(50);
    }
  }

  /**
   * Sends one request to an instance that is up, with the API key. A refused connection or
   * a 503 is sent again to an instance that is up; a connection cut after the request was
   * sent (or not answered within 30 s) is sent again only with `retryCut`.
   * @returns the final HTTP answer (any status), or how it went unanswered
   */
  async request(method: string, path: string, o: RequestOptions): Promise<ClusterAnswer> {
    const until = Date.now() + (o.deadlineMs ?? 300_000);
    let cut = 0;
    for (let attempt = 0; ; attempt++) {
      const url = await this.liveUrl();
      const p = o.prepare?.(attempt) ?? {};
      const raw = p.raw ?? o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.apiKey}`,
        ...(raw !== undefined ? { "content-type": "application/json" } : {}),
        ...o.headers,
        ...p.headers,
      };
      let outcome: Unanswered;
      try {
        const res = await fetch(`${url}${path}`, {
          method,
          headers,
          body: raw,
          signal: AbortSignal.timeout(TRY_TIMEOUT_MS),
        });
        const text = await res.text();
        if (res.status !== 503) {
          let body: any;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          return { status: res.status, body, attempts: attempt + 1, cut };
        }
        outcome = "refused";
      } catch (err) {
        outcome = refusedConnection(err) ? "refused" : "cut";
      }
      if (outcome === "cut") cut++;
      if ((outcome === "cut" && !o.retryCut) || Date.now() > until) {
        return { status: outcome, body: undefined, attempts: attempt + 1, cut };
      }
      await sleep(100);
    }
  }

  /**
   * {@link request} for an idempotent API call (a cut one is sent again) that must succeed.
   * @returns the parsed body
   * @throws Error naming the call when the answer is not 2xx or no instance answered
   */
  async api(method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.request(method, path, { body, retryCut: true });
    if (typeof r.status !== "number" || r.status >= 300) {
      throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    return r.body;
  }
}

/** Whether a fetch failure means no connection was made (nothing reached a server). */
function refusedConnection(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code === "ECONNREFUSED";
}

/** Options of {@link startKiller}. */
export interface KillerOptions {
  /** Mean pause between kills, ms (each pause is 0.5–1.5 × this). */
  everyMs: number;
  /** Stop after this many kills (default: no limit). */
  max?: number;
  /** Gets a line per kill: which instance, and how long its restart took. */
  log?: (line: string) => void;
}

/**
 * SIGKILLs instance A, then B, then A… every few seconds, each restarted at once; a kill
 * waits until the other instance is up, so one is up most of the time.
 * @returns `stop()`, which resolves once the current kill and restart are done
 */
export function startKiller(
  cluster: Cluster,
  o: KillerOptions,
): { reached(n: number): Promise<void>; stop(): Promise<void> } {
  let stopping = false;
  const kills = () => cluster.instances.reduce((n, i) => n + i.kills, 0);
  const ctl = new AbortController();
  const loop = (async () => {
    let n = 0;
    while (!stopping && (o.max === undefined || n < o.max)) {
      try {
        await sleep(o.everyMs * (0.5 + Math.random()), undefined, { signal: ctl.signal });
      } catch {
        break;
      }
      const victim = cluster.instances[n % cluster.instances.length]!;
      while (!stopping && cluster.instances.some((i) => i !== victim && !i.url)) await sleep(50);
      if (stopping) break;
      await victim.crashAndRestart();
      const [from, to] = victim.downtime.at(-1)!;
      o.log?.(`SIGKILL ${victim.name}, listening again after ${((to - from) / 1000).toFixed(1)} s`);
      n++;
    }
  })();
  return {
    /** Resolves once `n` kills were done and their instances are back. */
    async reached(n: number) {
      let ended = false;
      const watch = loop.finally(() => {
        ended = true;
      });
      while (!ended && (kills() < n || cluster.instances.some((i) => !i.url))) await sleep(50);
      if (ended) await watch; // a restart that failed rejects here
    },
    async stop() {
      stopping = true;
      ctl.abort();
      await loop;
    },
  };
}
