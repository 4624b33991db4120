/**
 * Prometheus metrics (text exposition format 0.0.4, via `prom-client`) for `GET /metrics`.
 *
 * Counted in this process as things happen:
 * - `switchyard_delivery_attempts_total{target_type, outcome}`: outbox attempts by outcome
 *   (delivered, failed = will retry, dead);
 * - `switchyard_delivery_attempt_duration_seconds{target_type}`: time of each attempt,
 *   inline retries included;
 * - `switchyard_notifications_total{channel, delivered}`: notifications sent;
 * - `switchyard_delivery_destination_open{destination, state}`: 1 per destination whose
 *   circuit breaker is open (parked) or half_open (probing), from this process's breakers;
 * - `switchyard_delivery_destinations_parked`: how many destinations are parked now.
 *
 * Read from the database at scrape time (so they agree across instances):
 * - `switchyard_tasks{status}`: tasks by status;
 * - `switchyard_task_queue_depth`: pending tasks that are due;
 * - `switchyard_deliveries{status}`: outbox rows by status.
 *
 * Plus Node's process metrics (`process_*`, `nodejs_*`). Each App has its own registry,
 * so several apps in one process (tests) do not mix their figures.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { DestinationBreaker } from "../outbox/breaker.ts";
import type { Store } from "../store/index.ts";

/** The metrics of one App. */
export class Metrics {
  readonly registry = new Registry();
  readonly #deliveryAttempts: Counter<"target_type" | "outcome">;
  readonly #deliveryDuration: Histogram<"target_type">;
  readonly #notifications: Counter<"channel" | "delivered">;
  #breakers: () => DestinationBreaker[] = () => [];

  constructor(store: Store) {
    const breakers = () => this.#breakers();
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#deliveryAttempts = new Counter({
      name: "switchyard_delivery_attempts_total",
      help: "Outbox delivery attempts by target type and outcome (delivered, failed, dead)",
      labelNames: ["target_type", "outcome"],
      registers,
    });
    this.#deliveryDuration = new Histogram({
      name: "switchyard_delivery_attempt_duration_seconds",
      help: "Duration of one delivery attempt, inline retries included",
      labelNames: ["target_type"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#notifications = new Counter({
      name: "switchyard_notifications_total",
      help: "Notifications sent, by channel and whether they were delivered at once",
      labelNames: ["channel", "delivered"],
      registers,
    });
    new Gauge({
      name: "switchyard_tasks",
      help: "Tasks by status (from the database)",
      labelNames: ["status"],
      registers,
      async collect() {
        this.reset();
        for (const r of await store.tasks.countByStatus()) {
          this.set({ status: r.status }, r.count);
        }
      },
    });
    new Gauge({
      name: "switchyard_task_queue_depth",
      help: "Pending tasks that are due to run (from the database)",
      registers,
      async collect() {
        this.set(await store.tasks.countDue(Date.now()));
      },
    });
    new Gauge({
      name: "switchyard_delivery_destination_open",
      help: "1 per delivery destination whose circuit breaker is open (parked) or half_open (probing)",
      labelNames: ["destination", "state"],
      registers,
      collect() {
        this.reset();
        for (const b of breakers()) {
          if (b.state !== "closed") this.set({ destination: b.destination, state: b.state }, 1);
        }
      },
    });
    new Gauge({
      name: "switchyard_delivery_destinations_parked",
      help: "Delivery destinations parked by their circuit breaker now",
      registers,
      collect() {
        this.set(breakers().filter((b) => b.state === "open").length);
      },
    });
    new Gauge({
      name: "switchyard_deliveries",
      help: "Outbox deliveries by status (from the database)",
      labelNames: ["status"],
      registers,
      async collect() {
        this.reset();
        for (const r of await store.deliveries.countByStatus()) {
          this.set({ status: r.status }, r.count);
        }
      },
    });
  }

  /** Counts one delivery attempt of `targetType` that took `durationMs` (ms). */
  deliveryAttempt(targetType: string, outcome: string, durationMs: number): void {
    this.#deliveryAttempts.inc({ target_type: targetType, outcome });
    this.#deliveryDuration.observe({ target_type: targetType }, durationMs / 1000);
  }

  /** Reads the outbox's circuit breakers at scrape time from `source`. */
  watchBreakers(source: () => DestinationBreaker[]): void {
    this.#breakers = source;
  }

  /** Counts one notification. */
  notification(channel: string, delivered: boolean): void {
    this.#notifications.inc({ channel, delivered: String(delivered) });
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
