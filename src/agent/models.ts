/**
 * The model registry: turns `provider:model` strings into AI SDK language models.
 * Providers: `openai`, `anthropic`, `ollama` (its OpenAI-compatible `/v1` API) and
 * `openai-compatible` (any server that speaks `/chat/completions`: vLLM, LM Studio,
 * llama.cpp, …). Provider instances are made once and cached.
 *
 * Each provider's SDK is imported when a model of that provider is first asked for, so a
 * server pays only for the providers its bots use (an SDK with its own copy of
 * `@ai-sdk/provider-utils` holds 1–2 MB of memory once loaded).
 */
import type { EmbeddingModel, LanguageModel } from "ai";
import { z } from "zod";
import { type Config, MODEL_PROVIDERS } from "../config.ts";

/** The provider settings a model registry needs (a subset of {@link Config}). */
export type ModelSettings = Pick<
  Config,
  | "SWITCHYARD_LLM_BASE_URL"
  | "SWITCHYARD_LLM_API_KEY"
  | "OPENAI_API_KEY"
  | "OPENAI_BASE_URL"
  | "ANTHROPIC_API_KEY"
  | "OLLAMA_BASE_URL"
>;

/** Thrown for a malformed `provider:model` or a provider that is not configured. */
export class ModelSpecError extends Error {}

/** Splits `provider:model`. @throws ModelSpecError */
export function parseModelSpec(spec: string): { provider: string; model: string } {
  const i = spec.indexOf(":");
  const provider = i > 0 ? spec.slice(0, i) : "";
  const model = i > 0 ? spec.slice(i + 1) : "";
  if (!provider || !model || !(MODEL_PROVIDERS as readonly string[]).includes(provider)) {
    throw new ModelSpecError(
      `Invalid model "${spec}": expected provider:model with provider one of ${MODEL_PROVIDERS.join(", ")}`,
    );
  }
  return { provider, model };
}

/**
 * A `provider:model` string, as {@link parseModelSpec} accepts it: the one schema for a bot's
 * model and fallbacks and a run's `execution_config.model_override`.
 */
export const modelSpecSchema = z.string().refine(
  (v) => {
    try {
      parseModelSpec(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: `expected provider:model (${MODEL_PROVIDERS.join(", ")})` },
);

function trimSlash(u: string): string {
  return u.replace(/\/+$/, "");
}

/** Resolves model specs to AI SDK models and tells where each provider's endpoint is. */
export class ModelRegistry {
  readonly #settings: ModelSettings;
  readonly #providers = new Map<string, (model: string) => LanguageModel>();
  /** Model objects are costly to build (the SDK compiles its schemas): one per spec. */
  readonly #models = new Map<string, LanguageModel>();
  readonly #embeddings = new Map<string, EmbeddingModel>();
  constructor(settings: ModelSettings) {
    this.#settings = settings;
  }

  /**
   * The model for `provider:model`, its provider's SDK imported on first use.
   * @throws ModelSpecError (as a rejection)
   */
  async get(spec: string): Promise<LanguageModel> {
    const cached = this.#models.get(spec);
    if (cached) return cached;
    const { provider, model } = parseModelSpec(spec);
    let make = this.#providers.get(provider);
    if (!make) {
      make = await this.#makeProvider(provider);
      make = this.#providers.get(provider) ?? make; // made meanwhile by a concurrent call
      this.#providers.set(provider, make);
    }
    const made = this.#models.get(spec) ?? make(model);
    this.#models.set(spec, made);
    return made;
  }

  /**
   * The embedding model for `provider:model` (`SWITCHYARD_EMBEDDING_MODEL`), from the same
   * providers and settings as chat models, its provider's SDK imported on first use.
   * @throws ModelSpecError (as a rejection; also for `anthropic`, which has no embeddings)
   */
  async embedding(spec: string): Promise<EmbeddingModel> {
    const cached = this.#embeddings.get(spec);
    if (cached) return cached;
    const { provider, model } = parseModelSpec(spec);
    const s = this.#settings;
    let made: EmbeddingModel;
    switch (provider) {
      case "openai": {
        const { createOpenAI } = await import("@ai-sdk/openai");
        made = createOpenAI({
          apiKey: s.OPENAI_API_KEY,
          baseURL: s.OPENAI_BASE_URL,
        }).embeddingModel(model);
        break;
      }
      case "anthropic":
        throw new ModelSpecError(`Provider anthropic has no embeddings models ("${spec}")`);
      case "ollama": {
        const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
        made = createOpenAICompatible({
          name: "ollama",
          baseURL: `${trimSlash(s.OLLAMA_BASE_URL)}/v1`,
        }).embeddingModel(model);
        break;
      }
      default: {
        if (!s.SWITCHYARD_LLM_BASE_URL) {
          throw new ModelSpecError(
            "Provider openai-compatible needs SWITCHYARD_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1)",
          );
        }
        const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
        made = createOpenAICompatible({
          name: "openai-compatible",
          baseURL: trimSlash(s.SWITCHYARD_LLM_BASE_URL),
          apiKey: s.SWITCHYARD_LLM_API_KEY,
        }).embeddingModel(model);
      }
    }
    made = this.#embeddings.get(spec) ?? made; // made meanwhile by a concurrent call
    this.#embeddings.set(spec, made);
    return made;
  }

  /** The model factory of `provider`, its SDK imported. @throws ModelSpecError */
  async #makeProvider(provider: string): Promise<(model: string) => LanguageModel> {
    const s = this.#settings;
    switch (provider) {
      case "openai": {
        const { createOpenAI } = await import("@ai-sdk/openai");
        const p = createOpenAI({ apiKey: s.OPENAI_API_KEY, baseURL: s.OPENAI_BASE_URL });
        return (m) => p.chat(m);
      }
      case "anthropic": {
        const { createAnthropic } = await import("@ai-sdk/anthropic");
        const p = createAnthropic({ apiKey: s.ANTHROPIC_API_KEY });
        return (m) => p(m);
      }
      case "ollama": {
        const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
        const p = createOpenAICompatible({
          name: "ollama",
          baseURL: `${trimSlash(s.OLLAMA_BASE_URL)}/v1`,
          includeUsage: true,
        });
        return (m) => p(m);
      }
      default: {
        if (!s.SWITCHYARD_LLM_BASE_URL) {
          throw new ModelSpecError(
            "Provider openai-compatible needs SWITCHYARD_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1)",
          );
        }
        const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
        const p = createOpenAICompatible({
          name: "openai-compatible",
          baseURL: trimSlash(s.SWITCHYARD_LLM_BASE_URL),
          apiKey: s.SWITCHYARD_LLM_API_KEY,
          includeUsage: true,
        });
        return (m) => p(m);
      }
    }
  }

  /**
   * Asks the provider's endpoint for its model list, to tell whether it answers.
   * Never throws; the reason never contains an API key.
   * @param timeoutMs how long to wait (ms)
   */
  async probe(
    spec: string,
    timeoutMs = 2000,
  ): Promise<{ ok: boolean; endpoint: string; reason?: string }> {
    let provider: string;
    try {
      provider = parseModelSpec(spec).provider;
    } catch (err) {
      return { ok: false, endpoint: "", reason: (err as Error).message };
    }
    const s = this.#settings;
    const headers: Record<string, string> = {};
    let base: string;
    if (provider === "openai") {
      base = trimSlash(s.OPENAI_BASE_URL ?? "https://api.openai.com/v1");
      if (!s.OPENAI_API_KEY)
        return { ok: false, endpoint: base, reason: "OPENAI_API_KEY is not set" };
      headers.authorization = `Bearer ${s.OPENAI_API_KEY}`;
    } else if (provider === "anthropic") {
      base = "https://api.anthropic.com/v1";
      if (!s.ANTHROPIC_API_KEY) {
        return { ok: false, endpoint: base, reason: "ANTHROPIC_API_KEY is not set" };
      }
      headers["x-api-key"] = s.ANTHROPIC_API_KEY;
      headers["anthropic-version"] = "2023-06-01";
    } else if (provider === "ollama") {
      base = `${trimSlash(s.OLLAMA_BASE_URL)}/v1`;
    } else {
      if (!s.SWITCHYARD_LLM_BASE_URL) {
        return { ok: false, endpoint: "", reason: "SWITCHYARD_LLM_BASE_URL is not set" };
      }
      base = trimSlash(s.SWITCHYARD_LLM_BASE_URL);
      if (s.SWITCHYARD_LLM_API_KEY) headers.authorization = `Bearer ${s.SWITCHYARD_LLM_API_KEY}`;
    }
    try {
      const res = await fetch(`${base}/models`, {
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      if (res.ok) return { ok: true, endpoint: base };
      return { ok: false, endpoint: base, reason: `HTTP ${res.status} from ${base}/models` };
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why =
        e.name === "TimeoutError"
          ? `no answer within ${timeoutMs} ms`
          : (e.cause?.code ?? e.message);
      return { ok: false, endpoint: base, reason: `${base} unreachable (${why})` };
    }
  }
}
