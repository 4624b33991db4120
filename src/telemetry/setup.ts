/**
 * Starting and stopping the OpenTelemetry SDK (traces only). Off unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; then, at
 * {@link Telemetry.start}, the SDK packages are imported (never before, so a server without
 * an endpoint does not even load them), and a tracer provider with a batch processor and
 * the OTLP/HTTP JSON exporter, the AsyncLocalStorage context manager and the W3C Trace
 * Context propagator are registered globally, where `./spans.ts` finds them.
 *
 * Settings read (OpenTelemetry's own names,
 * https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
 * - `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL; spans go to `<it>/v1/traces`;
 * - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: the full traces URL, used as is (wins);
 * - `OTEL_SERVICE_NAME`: `service.name` (default `switchyard`);
 * - `OTEL_BSP_SCHEDULE_DELAY`: ms between batch exports (default 5000).
 * Other `OTEL_EXPORTER_OTLP_*` settings (headers, timeout) are read by the exporter from
 * the process environment.
 */
import type { TracerProvider as SdkTracerProvider } from "@opentelemetry/sdk-trace";
import type { Logger } from "pino";
import { setTracingEnabled } from "./spans.ts";

/** What the telemetry is started from. */
export interface TelemetryOptions {
  /** The merged environment (config.env). */
  env: Record<string, string | undefined>;
  /** `service.version`. */
  version: string;
  /** `service.instance.id`: this instance's owner id (as in its leases). */
  instanceId: string;
  log: Pick<Logger, "warn" | "info">;
}

/** The traces URL configured in `env`, or undefined when tracing is off. */
export function tracesUrl(env: Record<string, string | undefined>): string | undefined {
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (full) return full;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

/** The process's tracing: started with the server, flushed and shut down with it. */
export class Telemetry {
  readonly #o: TelemetryOptions;
  readonly url: string | undefined;
  #provider: SdkTracerProvider | undefined;
  #unregister: (() => void) | undefined;

  constructor(opts: TelemetryOptions) {
    this.#o = opts;
    this.url = tracesUrl(opts.env);
  }

  /** True when an OTLP endpoint is configured. */
  get enabled(): boolean {
    return this.url !== undefined;
  }

  /**
   * Imports and registers the SDK when enabled; does nothing otherwise, or when started.
   * If another tracer provider is registered in this process already (a second server in
   * one process), that one stays in charge (spans go there), this one does nothing more
   * (its stop neither flushes nor unregisters the other) and a warning is logged.
   */
  async start(): Promise<void> {
    if (!this.url || this.#provider) return;
    const [api, sdk, hooks, core, resources, otlp] = await Promise.all([
      import("@opentelemetry/api"),
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/context-async-hooks"),
      import("@opentelemetry/core"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/exporter-trace-otlp-http"),
    ]);
    const { env, log } = this.#o;
    const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
    const provider = new sdk.TracerProvider({
      resource: resources.resourceFromAttributes({
        "service.name": env.OTEL_SERVICE_NAME?.trim() || "switchyard",
        "service.version": this.#o.version,
        "service.instance.id": this.#o.instanceId,
      }),
      spanProcessors: [
        new sdk.BatchSpanProcessor({
          exporter: new otlp.OTLPTraceExporter({ url: this.url }),
          ...(Number.isFinite(delay) && delay > 0 ? { scheduledDelayMillis: delay } : {}),
        }),
      ],
    });
    // One SDK per process: a second server in the same process (tests) leaves the first's
    // in charge, and its spans go there.
    if (!api.trace.setGlobalTracerProvider(provider)) {
      log.warn("an OpenTelemetry SDK is registered in this process already; spans go there");
      await provider.shutdown();
      return;
    }
    api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
    api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
    // Export failures are reported, once per kind, as warnings in the server's log.
    api.diag.setLogger(
      {
        error: (msg) => log.warn({ detail: String(msg).slice(0, 300) }, "trace export failed"),
        warn: (msg) => log.warn({ detail: String(msg).slice(0, 300) }, "opentelemetry warning"),
        info: () => {},
        debug: () => {},
        verbose: () => {},
      },
      api.DiagLogLevel.WARN,
    );
    this.#provider = provider;
    this.#unregister = () => {
      api.trace.disable();
      api.propagation.disable();
      api.context.disable();
      api.diag.disable();
    };
    setTracingEnabled(true);
    log.info({ url: this.url }, "OpenTelemetry tracing on");
  }

  /** Exports the spans still buffered, then shuts the SDK down and unregisters it. Never throws. */
  async stop(): Promise<void> {
    const provider = this.#provider;
    if (!provider) return;
    this.#provider = undefined;
    setTracingEnabled(false);
    try {
      await provider.forceFlush();
      await provider.shutdown();
    } catch (err) {
      this.#o.log.warn({ err: (err as Error)?.message }, "trace export at shutdown failed");
    }
    this.#unregister?.();
  }
}
