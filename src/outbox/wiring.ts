/**
 * Builds the server's outbox parts from the settings and the test knobs (`AppTuning`): the
 * one outbound HTTP client (`SWITCHYARD_ALLOW_PRIVATE_URLS`) and the delivery worker
 * (`SWITCHYARD_DELIVERY_*`); app.ts calls this.
 */
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Store } from "../store/index.ts";
import type { AppTuning } from "../tuning.ts";
import { OutboundHttpClient } from "./http-client.ts";
import { DeliveryWorker, type DeliveryWorkerOptions } from "./worker.ts";

/** What {@link createDeliveryWorker} needs besides the settings. */
export interface DeliveryWorkerWiring {
  config: Pick<
    Config,
    | "SWITCHYARD_DELIVERY_LEASE_SECONDS"
    | "SWITCHYARD_DELIVERY_PER_DESTINATION"
    | "SWITCHYARD_DELIVERY_BREAKER_FAILURES"
    | "SWITCHYARD_DELIVERY_BREAKER_COOLOFF_SECONDS"
    | "SWITCHYARD_DELIVERY_SCHEDULE_SECONDS"
  >;
  tuning: AppTuning;
  store: Store;
  dispatchers: DeliveryWorkerOptions["dispatchers"];
  log: Logger;
  owner: string;
  onOutcome: DeliveryWorkerOptions["onOutcome"];
  onPoke: DeliveryWorkerOptions["onPoke"];
}

/**
 * The delivery worker. Its lease covers one attempt: `SWITCHYARD_DELIVERY_LEASE_SECONDS`
 * when set, else the HTTP timeout (15 s by default) plus 5 s.
 */
export function createDeliveryWorker(w: DeliveryWorkerWiring): DeliveryWorker {
  const { config, tuning } = w;
  return new DeliveryWorker({
    store: w.store,
    dispatchers: w.dispatchers,
    log: w.log,
    owner: w.owner,
    leaseMs:
      tuning.deliveryLeaseMs ??
      (config.SWITCHYARD_DELIVERY_LEASE_SECONDS
        ? config.SWITCHYARD_DELIVERY_LEASE_SECONDS * 1000
        : (tuning.httpTimeoutMs ?? 15_000) + 5_000),
    perDestination: config.SWITCHYARD_DELIVERY_PER_DESTINATION,
    breakerFailures: config.SWITCHYARD_DELIVERY_BREAKER_FAILURES,
    breakerCoolOffMs:
      tuning.deliveryBreakerCoolOffMs ?? config.SWITCHYARD_DELIVERY_BREAKER_COOLOFF_SECONDS * 1000,
    scheduleMs:
      tuning.deliveryScheduleMs ??
      config.SWITCHYARD_DELIVERY_SCHEDULE_SECONDS?.map((s) => Math.round(s * 1000)),
    minBackoffAfterThrottleMs: tuning.minBackoffAfterThrottleMs,
    now: tuning.deliveryNow,
    random: tuning.deliveryRandom,
    pollMs: tuning.pollMs,
    onOutcome: w.onOutcome,
    onPoke: w.onPoke,
  });
}

/**
 * The one outbound HTTP client: private destinations refused unless
 * `SWITCHYARD_ALLOW_PRIVATE_URLS`; resolver, connector, retry delay and timeout from `tuning`
 * (tests), else the client's defaults.
 */
export function createHttpClient(
  config: Pick<Config, "SWITCHYARD_ALLOW_PRIVATE_URLS">,
  tuning: Pick<AppTuning, "resolver" | "connector" | "httpRetryDelayMs" | "httpTimeoutMs">,
): OutboundHttpClient {
  return new OutboundHttpClient({
    allowPrivate: config.SWITCHYARD_ALLOW_PRIVATE_URLS,
    resolver: tuning.resolver,
    connector: tuning.connector,
    baseRetryDelayMs: tuning.httpRetryDelayMs,
    defaultTimeoutMs: tuning.httpTimeoutMs,
  });
}
