/** Knobs of a built server that tests and benchmarks turn (see `App.create`). */
import type { LeaseEvent } from "./leases/exclusive.ts";
import type { Connector } from "./outbox/connector.ts";
import type { Resolver } from "./outbox/ssrf.ts";
import type { WakeupEvent } from "./wakeups/bus.ts";

/** Knobs for tests and benchmarks; production uses the defaults. Times in ms. */
export interface AppTuning {
  /** Fallback poll of both workers (default 1000). */
  pollMs?: number;
  /**
   * How long an API key or UI session lookup is reused (default 5000). A revocation through
   * this instance drops its entries at once whatever this is; other instances see it when
   * their entries expire.
   */
  authCacheMs?: number;
  /** How often `GET /api/v1/stream` reads the store (ms); default 1000. */
  streamPollMs?: number;
  /** How often expired approvals are looked for (default 5000, or the TTL if shorter). */
  approvalSweepMs?: number;
  /** Task lease length (default 30 000). */
  taskLeaseMs?: number;
  /**
   * Outbox delivery lease, one attempt (default `SWITCHYARD_DELIVERY_LEASE_SECONDS`, else
   * the HTTP timeout + 5 000); a send is aborted shortly before it ends.
   */
  deliveryLeaseMs?: number;
  /** Circuit breaker cool-off (default `SWITCHYARD_DELIVERY_BREAKER_COOLOFF_SECONDS`). */
  deliveryBreakerCoolOffMs?: number;
  /** Longest wait of `POST /api/v1/events` for its inline attempts (default 3000). */
  eventInlineWaitMs?: number;
  /** Outbox retry delays (default 5 s … 10 h). */
  deliveryScheduleMs?: number[];
  /** Smallest outbox delay after a 429 or timeout (default 60 000). */
  minBackoffAfterThrottleMs?: number;
  /** The outbox's clock and jitter source for retry times (default `Date.now`, `Math.random`). */
  deliveryNow?: () => number;
  deliveryRandom?: () => number;
  /** LLM retries per model (default 2). */
  llmMaxRetries?: number;
  /** Outbound client: inline retry base delay (default 100) and timeout (default 15 000). */
  httpRetryDelayMs?: number;
  httpTimeoutMs?: number;
  /** DNS resolver and connector for the outbound client's SSRF guard (tests inject these). */
  resolver?: Resolver;
  connector?: Connector;
  /** Grace period for running tasks on stop (default 10 000). */
  shutdownGraceMs?: number;
  /** Start integrations' background processes (default true; `switchyard mcp` says false). */
  startProcesses?: boolean;
  /** First retry delay after an adapter failed to start, doubling (default 1000). */
  adapterRetryMs?: number;
  /** Length of `ctx.exclusive` leases when the caller does not say (default 30 000). */
  leaseTtlMs?: number;
  /** Time between this instance's heartbeats (default 5 000); live = within 3 of them. */
  instanceHeartbeatMs?: number;
  /** Told of every `ctx.exclusive` lease event (tests wait on these). */
  onLeaseEvent?: (e: LeaseEvent) => void;
  /** The scheduler's clock (default `Date.now`): tests move it instead of waiting. */
  schedulerNow?: () => number;
  /** Longest sleep of the scheduler loop between passes (default `pollMs`, else 1000). */
  schedulerPollMs?: number;
  /** Told of every wake-up bus event (listening, lost, received, sent): tests wait on these. */
  onWakeupEvent?: (e: WakeupEvent) => void;
  /** First reconnect delay of the wake-up listener (default 250, doubling to 5000). */
  wakeupReconnectMs?: number;
}
