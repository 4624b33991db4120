/**
 * Runtime providers by name: core's `host` and `bubblewrap` (built by the runtime service)
 * and each integration folder's `runtime.ts`, registered under the folder's name by the
 * integration manager (source `integration:<name>`) and removed when the folder reloads.
 */
import type { IntegrationContext } from "../sdk/context.ts";
import type { RuntimeProvider, RuntimeProviderDefinition } from "../sdk/runtime.ts";
import { DEFAULT_PROVIDER } from "./config.ts";

/** Names an integration cannot take. */
export const CORE_PROVIDERS: readonly string[] = ["host", "bubblewrap", DEFAULT_PROVIDER, "none"];

/** Registry of integration runtime providers. */
export class RuntimeRegistry {
  readonly #map = new Map<string, { provider: RuntimeProvider; source: string }>();

  /**
   * Registers `provider` as `name`.
   * @throws TypeError when the name is core's or another source's, or the provider lacks
   *   `get`/`stop` (caught at load, not at the first call)
   */
  register(name: string, provider: RuntimeProvider, source: string): void {
    if (CORE_PROVIDERS.includes(name))
      throw new TypeError(`runtime provider "${name}" is core's own`);
    const taken = this.#map.get(name);
    if (taken && taken.source !== source) {
      throw new TypeError(`runtime provider "${name}" is already ${taken.source}'s`);
    }
    if (typeof provider?.get !== "function" || typeof provider?.stop !== "function") {
      throw new TypeError(`runtime provider "${name}": must have get(scope) and stop(scope?)`);
    }
    this.#map.set(name, { provider, source });
  }

  /** Removes (and stops) every provider registered from `source`. */
  unregisterSource(source: string): void {
    for (const [name, entry] of this.#map) {
      if (entry.source !== source) continue;
      this.#map.delete(name);
      void entry.provider.stop().catch(() => {});
    }
  }

  /** The provider registered as `name`, if any. */
  get(name: string): RuntimeProvider | undefined {
    return this.#map.get(name)?.provider;
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.#map.keys()].sort();
  }

  /** Stops every registered provider (server stop). */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#map.values()].map((e) => e.provider.stop()));
  }
}

/**
 * Builds an integration's provider from its `runtime.ts` and registers it under the
 * folder's name; a failure is returned as the reason (the manager records it on the part).
 */
export function registerIntegrationRuntime(
  registry: RuntimeRegistry | undefined,
  name: string,
  definition: RuntimeProviderDefinition,
  ctx: IntegrationContext,
): string | undefined {
  if (!registry) return undefined;
  try {
    const provider = definition(ctx);
    if (!provider || typeof provider !== "object")
      throw new Error("must return a RuntimeProvider object");
    registry.register(name, provider, `integration:${name}`);
    return undefined;
  } catch (err) {
    return (err as Error)?.message ?? String(err);
  }
}
