/** `/api/v1/admin/bots…`: manage bots (admin scope). */
import { z } from "zod";
import { botBudgetSchema, budgetFromWire, budgetToWire, type WireBudget } from "../agent/budget.ts";
import { modelSpecSchema } from "../agent/models.ts";
import { type ApprovalPolicy, approvalPolicySchema, toPolicy } from "../approvals/policy.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import { resolveRuntimeConfig, runtimeConfigSchema } from "../runtime/config.ts";
import type { Bot, BotInput } from "../store/bots.ts";
import type { Store } from "../store/index.ts";

const modelSpec = modelSpecSchema;

const botFields = {
  name: z.string().min(1).max(200),
  system_prompt: z.string().max(200_000),
  model: modelSpec,
  tools: z.array(z.string()),
  skills: z.array(z.string()),
  fallback_models: z.array(modelSpec),
  display_name: z.string().nullable(),
  avatar_url: z.string().nullable(),
  integration_config: z.record(z.string(), z.unknown()),
  /** `{default: "never"|"always", tools: {<name>: "never"|"always"}}`, or null (never ask). */
  approval: approvalPolicySchema.nullable(),
  /** Runtime settings; fields left out take their defaults, null resets all. */
  runtime: runtimeConfigSchema.nullable(),
  budget: botBudgetSchema,
};

const createBody = z.strictObject({
  id: z.string().regex(/^[a-zA-Z0-9_.-]{1,100}$/, "letters, digits, _ . - (1–100)"),
  ...Object.fromEntries(Object.entries(botFields).map(([k, v]) => [k, v.optional()])),
}) as unknown as z.ZodType<{ id: string } & Partial<WireBot>>;
const updateBody = z.strictObject(
  Object.fromEntries(Object.entries(botFields).map(([k, v]) => [k, v.optional()])),
) as unknown as z.ZodType<Partial<WireBot>>;
const idParams = z.object({ id: z.string().min(1) });

type WireBot = {
  name: string;
  system_prompt: string;
  model: string;
  tools: string[];
  skills: string[];
  fallback_models: string[];
  display_name: string | null;
  avatar_url: string | null;
  integration_config: Record<string, unknown>;
  approval: z.infer<typeof approvalPolicySchema> | null;
  runtime: Record<string, unknown> | null;
  budget: WireBudget;
};

function fromWire(b: Partial<WireBot>): BotInput {
  return {
    name: b.name,
    systemPrompt: b.system_prompt,
    model: b.model,
    tools: b.tools,
    skills: b.skills,
    fallbackModels: b.fallback_models,
    displayName: b.display_name,
    avatarUrl: b.avatar_url,
    integrationConfig: b.integration_config,
    approval: b.approval === undefined ? undefined : b.approval && toPolicy(b.approval),
    runtime: b.runtime,
    budget: budgetFromWire(b.budget),
  };
}

/** The wire shape of a bot. */
export function botJson(b: Bot) {
  return {
    id: b.id,
    name: b.name,
    system_prompt: b.systemPrompt,
    model: b.model,
    tools: b.tools,
    skills: b.skills,
    fallback_models: b.fallbackModels,
    display_name: b.displayName,
    avatar_url: b.avatarUrl,
    integration_config: b.integrationConfig,
    approval: b.approval satisfies ApprovalPolicy | null,
    runtime: resolveRuntimeConfig(b.runtime),
    managed_by: b.managedBy,
    budget: budgetToWire(b.budget),
    created_at: new Date(b.createdAt).toISOString(),
    updated_at: new Date(b.updatedAt).toISOString(),
  };
}

/** What adminBotsApi needs. */
export interface AdminBotsApiOptions {
  store: Store;
  defaultModel: string;
  /** Runtime provider names a bot may set (`runtime.provider`); unchecked when absent. */
  runtimeProviders?: () => string[];
}

/** Registers the bot admin routes. `defaultModel` is used when a new bot names none. */
export const adminBotsApi = apiPlugin<AdminBotsApiOptions>((routes, opts) => {
  const { store, defaultModel } = opts;
  /** 400 when `runtime.provider` names no known provider. */
  const checkRuntime = (b: Partial<WireBot>) => {
    const name = b.runtime?.provider;
    const known = opts.runtimeProviders?.();
    if (typeof name === "string" && known && !known.includes(name)) {
      throw new HttpError(
        400,
        `runtime.provider: unknown provider "${name}" (known: ${known.join(", ")})`,
      );
    }
  };
  routes.add({
    method: "GET",
    url: "/api/v1/admin/bots",
    summary: "List bots (managed_by: env — follows SWITCHYARD_MODEL — or api)",
    scope: "admin",
    async handler() {
      return (await store.bots.list()).map(botJson);
    },
  });
  routes.add({
    method: "GET",
    url: "/api/v1/admin/bots/:id",
    summary: "A bot",
    scope: "admin",
    params: idParams,
    async handler({ params }) {
      const b = await store.bots.get(params.id);
      if (!b) throw notFound("Bot");
      return botJson(b);
    },
  });
  routes.add({
    method: "POST",
    url: "/api/v1/admin/bots",
    summary: "Create a bot (409 when the id exists)",
    scope: "admin",
    body: createBody,
    status: 201,
    async handler({ body }) {
      checkRuntime(body);
      const b = await store.bots.create({
        ...fromWire(body),
        id: body.id,
        model: body.model ?? defaultModel,
        managedBy: "api",
      });
      if (!b) throw new HttpError(409, `Bot ${body.id} already exists`);
      return botJson(b);
    },
  });
  routes.add({
    method: "PUT",
    url: "/api/v1/admin/bots/:id",
    summary:
      "Update a bot's fields; the bot becomes API-owned (managed_by: api), so SWITCHYARD_MODEL no longer changes it",
    scope: "admin",
    params: idParams,
    body: updateBody,
    async handler({ params, body }) {
      if (!(await store.bots.get(params.id))) throw notFound("Bot");
      checkRuntime(body);
      // An edit through the API takes the bot from the environment for good.
      const b = await store.bots.update(params.id, { ...fromWire(body), managedBy: "api" });
      return botJson(b!);
    },
  });
  routes.add({
    method: "DELETE",
    url: "/api/v1/admin/bots/:id",
    summary: "Delete a bot",
    scope: "admin",
    params: idParams,
    status: 204,
    async handler({ params }, reply) {
      if (!(await store.bots.delete(params.id))) throw notFound("Bot");
      return reply.code(204).send();
    },
  });
});
