/**
 * The adapter host (DESIGN §7): registers each integration's adapter as the dispatcher and
 * outbox sender of its dispatch type, starts every configured adapter at start-up with its
 * handler (./inbound.ts), and stops them on shutdown. An adapter whose `start` throws is
 * reported (state `failed`, its error, the next try) and started again with backoff
 * (1 s doubling to 5 min by default); the server keeps serving meanwhile. The dispatcher
 * face each adapter gets (`deliver`, `postMessage`) is ./dispatcher.ts.
 */
import type { Logger } from "pino";
import type { InboundSaver } from "../attachments/inbound.ts";
import type { DispatcherRegistry } from "../dispatch/registry.ts";
import type { DeliveryWorker } from "../outbox/worker.ts";
import type {
  Adapter,
  ApprovalDecisionInput,
  ApprovalDecisionResult,
  Conversation,
} from "../sdk/adapter.ts";
import { DeliveryError } from "../sdk/errors.ts";
import type { SessionService } from "../sessions/service.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";
import { currentTraceparent } from "../telemetry/spans.ts";
import { settingsPrefix } from "./conversation.ts";
import { type AdapterSend, adapterDispatcher } from "./dispatcher.ts";
import { AdapterNotRunningError, createAdapterHandler } from "./inbound.ts";
import { type AdapterSenderDeps, sendAdapterDelivery, type UserAttribution } from "./outbound.ts";

/** Where an adapter is: `not_configured` (required settings missing) is never started. */
export type AdapterState =
  | "registered"
  | "not_configured"
  | "starting"
  | "running"
  | "failed"
  | "stopped";

/** An adapter's status, as the banner, the CLI and the admin API show it. */
export interface AdapterStatus {
  /** The adapter's name (its dispatch type). */
  name: string;
  integration: string;
  kind: string;
  state: AdapterState;
  /** Why the last start failed (secret-free), while `failed`. */
  error: string | null;
  /** Failed starts in a row. */
  failures: number;
  /** When the next start is tried (ms since epoch), while `failed`. */
  nextRetryAt: number | null;
}

/** What the host is built from. Times in ms. */
export interface AdapterHostOptions {
  store: Store;
  sessions: SessionService;
  dispatchers: DispatcherRegistry;
  deliveryWorker: DeliveryWorker;
  log: Logger;
  /** The environment, for `<NAME>_BOT_ID` when the integration does not declare it. */
  env: Record<string, string | undefined>;
  /** First retry delay after a failed start; doubles up to `retryMaxMs`. Default 1000. */
  retryBaseMs?: number;
  /** Longest retry delay. Default 300 000. */
  retryMaxMs?: number;
  /**
   * Resolves approvals decided in a conversation of adapter `adapter` (each adapter's
   * `start` gets it bound to its name). Without it every decision is `not_found`.
   */
  decide?: (adapter: string, input: ApprovalDecisionInput) => Promise<ApprovalDecisionResult>;
  /**
   * Stores an adapter's inbound files in a scope (`attachments/inbound.ts`); without it
   * inbound files are noted by name only.
   */
  saveFiles?: InboundSaver;
  /** The files a task's reply carries (sent after its text); none without it. */
  replyFiles?: AdapterSenderDeps["replyFiles"];
}

interface Entry {
  integration: string;
  adapter: Adapter;
  settings: Record<string, string | undefined>;
  configured: () => boolean;
  userAttribution?: () => UserAttribution | undefined;
  status: AdapterStatus;
  controller?: AbortController;
  timer?: NodeJS.Timeout;
  starting?: Promise<void>;
}

/** Valid adapter names: they become dispatch types and settings prefixes. */
const NAME = /^[a-z][a-z0-9_-]{0,39}$/;

/** Starts, stops and sends to adapters. */
export class AdapterHost {
  readonly #o: AdapterHostOptions;
  readonly #entries = new Map<string, Entry>();
  #started = false;

  constructor(opts: AdapterHostOptions) {
    this.#o = opts;
  }

  /**
   * Registers the adapter of `integration` (replacing its earlier one): its dispatch type
   * and outbox sender are `adapter.name`. Started by {@link startAll} (or at once when
   * the host already started).
   * @throws Error when the adapter does not fit the contract or its name is another
   *   dispatcher's
   */
  register(
    integration: string,
    adapter: Adapter,
    opts: {
      settings: Record<string, string | undefined>;
      configured: () => boolean;
      /** The integration's current `user_attribution` hook (read at each send). */
      userAttribution?: () => UserAttribution | undefined;
    },
  ): void {
    const a = adapter as Partial<Adapter> | undefined;
    if (!a || typeof a !== "object") throw new Error("adapter.ts must return an Adapter object");
    if (typeof a.name !== "string" || !NAME.test(a.name)) {
      throw new Error(
        "adapter name must be 1–40 lower-case letters, digits, _ or -, starting with a letter",
      );
    }
    for (const m of ["start", "send", "stop"] as const) {
      if (typeof a[m] !== "function") throw new Error(`adapter ${a.name}: ${m}() is missing`);
    }
    const source = `adapter:${integration}`;
    const taken = this.#o.dispatchers.list().find((d) => d.type === a.name && d.source !== source);
    if (taken)
      throw new Error(`adapter name ${a.name} is already the dispatcher of ${taken.source}`);
    void this.unregister(integration);
    const entry: Entry = {
      integration,
      adapter,
      settings: opts.settings,
      configured: opts.configured,
      userAttribution: opts.userAttribution,
      status: {
        name: adapter.name,
        integration,
        kind: typeof adapter.kind === "string" ? adapter.kind : adapter.name,
        state: "registered",
        error: null,
        failures: 0,
        nextRetryAt: null,
      },
    };
    this.#entries.set(integration, entry);
    const send: AdapterSend = (d, signal) => this.#send(adapter.name, d, signal);
    this.#o.dispatchers.register(adapter.name, adapterDispatcher(adapter.name, send), source);
    this.#o.deliveryWorker.registerSender(adapter.name, send);
    if (this.#started) void this.#start(entry);
  }

  /** Stops and forgets the adapter of `integration` (before its folder reloads). */
  async unregister(integration: string): Promise<void> {
    const entry = this.#entries.get(integration);
    if (!entry) return;
    this.#entries.delete(integration);
    this.#o.dispatchers.unregisterSource(`adapter:${integration}`);
    await this.#stop(entry);
  }

  /** Every adapter's status, by name. */
  list(): AdapterStatus[] {
    return [...this.#entries.values()]
      .map((e) => ({ ...e.status }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The status of the adapter of `integration`, or undefined. */
  statusOf(integration: string): AdapterStatus | undefined {
    const e = this.#entries.get(integration);
    return e ? { ...e.status } : undefined;
  }

  /**
   * Starts every configured adapter; resolves when each has started or failed once (a
   * failed one is retried in the background). Never throws.
   */
  async startAll(): Promise<void> {
    this.#started = true;
    await Promise.all([...this.#entries.values()].map((e) => this.#start(e)));
  }

  /** Stops every adapter and cancels pending retries. */
  async stopAll(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#entries.values()].map((e) => this.#stop(e)));
  }

  /**
   * Queues an output of adapter `name` to `conversation` in the outbox (progress, notices);
   * the delivery worker sends it, with `replyTo` (the message answered) as `target.replyTo`.
   * Never throws (a failure is logged).
   */
  queue(
    name: string,
    conversation: Conversation,
    payload: Record<string, unknown>,
    replyTo?: string,
  ): void {
    const taskId = typeof payload.task_id === "string" ? payload.task_id : null;
    this.#o.store.deliveries
      .insert({
        taskId,
        targetType: name,
        target: { conversation, ...(replyTo ? { reply_to: replyTo } : {}) },
        payload,
        traceparent: currentTraceparent(), // a progress note of a turn joins its trace
      })
      .then(
        () => this.#o.deliveryWorker.poke(),
        (err) =>
          this.#o.log.warn(
            { adapter: name, err: (err as Error).message },
            "adapter output not queued",
          ),
      );
  }

  #defaultBotId(entry: Entry): string {
    const key = `${settingsPrefix(entry.adapter.name)}_BOT_ID`;
    return entry.settings[key] || this.#o.env[key] || "default";
  }

  async #start(entry: Entry): Promise<void> {
    if (!entry.configured()) {
      entry.status.state = "not_configured";
      return;
    }
    if (entry.starting) return entry.starting;
    const { log } = this.#o;
    const controller = new AbortController();
    entry.controller = controller;
    entry.status.state = "starting";
    const handler = createAdapterHandler(
      {
        store: this.#o.store,
        sessions: this.#o.sessions,
        queue: (n, c, p, r) => this.queue(n, c, p, r),
        ...(this.#o.saveFiles
          ? {
              saveFiles: (refs, sessionId) =>
                this.#o.saveFiles!(
                  entry.adapter,
                  refs,
                  { kind: "session", id: sessionId },
                  controller.signal,
                ),
            }
          : {}),
      },
      {
        name: entry.adapter.name,
        defaultBotId: () => this.#defaultBotId(entry),
        running: () => entry.status.state === "running",
      },
    );
    entry.starting = (async () => {
      try {
        // The state is running before start resolves, so messages arriving during start count.
        entry.status.state = "running";
        await entry.adapter.start({
          handler,
          decide: async (input) => {
            if (entry.status.state !== "running") {
              throw new AdapterNotRunningError(entry.adapter.name);
            }
            const decide = this.#o.decide;
            return decide ? decide(entry.adapter.name, input) : { outcome: "not_found" };
          },
          signal: controller.signal,
        });
        if (controller.signal.aborted) return;
        entry.status = {
          ...entry.status,
          state: "running",
          error: null,
          failures: 0,
          nextRetryAt: null,
        };
        log.info(
          { adapter: entry.adapter.name, integration: entry.integration },
          "adapter started",
        );
      } catch (err) {
        if (controller.signal.aborted) return;
        const failures = entry.status.failures + 1;
        const delay = Math.min(
          (this.#o.retryBaseMs ?? 1000) * 2 ** (failures - 1),
          this.#o.retryMaxMs ?? 300_000,
        );
        entry.status = {
          ...entry.status,
          state: "failed",
          error: (err as Error)?.message ?? String(err),
          failures,
          nextRetryAt: Date.now() + delay,
        };
        log.error(
          { adapter: entry.adapter.name, error: entry.status.error, failures, retry_in_ms: delay },
          "adapter failed to start; retrying",
        );
        await entry.adapter.stop().catch(() => {});
        entry.timer = setTimeout(() => {
          entry.timer = undefined;
          if (this.#entries.get(entry.integration) === entry && this.#started)
            void this.#start(entry);
        }, delay);
        entry.timer.unref();
      } finally {
        entry.starting = undefined;
      }
    })();
    return entry.starting;
  }

  async #stop(entry: Entry): Promise<void> {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.controller?.abort();
    await entry.starting?.catch(() => {});
    const was = entry.status.state;
    if (was === "running" || was === "starting") {
      entry.status.state = "stopped";
      try {
        await entry.adapter.stop();
      } catch (err) {
        this.#o.log.warn(
          { adapter: entry.adapter.name, err: (err as Error)?.message },
          "adapter stop failed",
        );
      }
    } else if (was === "failed") {
      entry.status = { ...entry.status, state: "stopped", nextRetryAt: null };
    }
  }

  #entryByName(name: string): Entry | undefined {
    for (const e of this.#entries.values()) if (e.adapter.name === name) return e;
    return undefined;
  }

  async #send(name: string, d: Delivery, signal: AbortSignal): Promise<void> {
    const entry = this.#entryByName(name);
    if (!entry || entry.status.state === "not_configured") {
      throw new DeliveryError(`adapter ${name} is not configured`);
    }
    const attribution = entry.userAttribution?.();
    await sendAdapterDelivery(
      {
        store: this.#o.store,
        log: this.#o.log,
        ...(typeof attribution === "function" ? { userAttribution: attribution } : {}),
        ...(this.#o.replyFiles ? { replyFiles: this.#o.replyFiles } : {}),
      },
      entry.adapter,
      d,
      signal,
    );
  }
}
