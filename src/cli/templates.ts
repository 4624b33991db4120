/**
 * The files `switchyard new integration <name>` writes. They follow the contract in
 * src/sdk/, import only types from "switchyard" (erased at run time) and Node built-ins,
 * and get what they need at run time from `ctx`, so the folder works wherever it is on
 * disk. Its `package.json` is where the folder's own npm dependencies go (the loader
 * refuses a module importing a package the folder does not declare).
 */

/** One file of a new integration. */
export interface TemplateFile {
  /** Path inside the integration folder. */
  path: string;
  /** What it is, for the listing printed after scaffolding. */
  about: string;
  content: string;
}

/** `my-thing` → `MyThing`. */
function pascal(name: string): string {
  return name
    .split(/[-_]/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("");
}

/**
 * The files of a new integration called `name` (already validated: lower-case letters,
 * digits, `-` or `_`, starting with a letter).
 */
export function integrationTemplate(name: string): TemplateFile[] {
  const title = pascal(name);
  const secret = `${name.toUpperCase().replace(/-/g, "_")}_WEBHOOK_SECRET`;
  const tool = `${name}_echo`;
  return [
    {
      path: "package.json",
      about: "the folder's own npm dependencies (none yet)",
      content: `${JSON.stringify(
        { name: `switchyard-integration-${name}`, version: "0.1.0", private: true, type: "module" },
        null,
        2,
      )}\n`,
    },
    {
      path: "index.ts",
      about: "metadata (id, name, version)",
      content: `/** Metadata of the ${name} integration (optional file). */
import type { IntegrationMetadata } from "switchyard";

export default { id: "${name}", name: "${title}", version: "0.1.0" } satisfies IntegrationMetadata;
`,
    },
    {
      path: "setup.ts",
      about: `manifest: setting ${secret}, webhook path`,
      content: `/**
 * The manifest: the settings this integration reads (resolved database → environment →
 * default and handed over as \`ctx.settings\`), and where its webhook lives.
 */
import type { SetupManifest } from "switchyard";

export default {
  env_vars: [
    {
      key: "${secret}",
      required: true,
      secret: true,
      description:
        "Shared secret callers send in the X-Webhook-Secret header; the webhook refuses every call until it is set",
    },
  ],
  webhook: {
    path: "/integrations/${name}/webhook",
    description: "POST {client_id, text} with the shared secret in X-Webhook-Secret",
  },
} satisfies SetupManifest;
`,
    },
    {
      path: "config.ts",
      about: "the settings' type",
      content: `/**
 * The shape of this integration's settings, as \`ctx.settings\` holds them. Each key, its
 * default and whether it is secret or required are declared in \`setup.ts\` \`env_vars\`;
 * values resolve database → environment → default. This file only gives them a type.
 */
export interface ${title}Settings {
  ${secret}?: string;
  [key: string]: string | undefined;
}
`,
    },
    {
      path: "router.ts",
      about: "POST /webhook (shared secret), GET /status (API key, sessions:read)",
      content: `/**
 * Routes under /integrations/${name}/. Every route states its auth in \`config.auth\`:
 * - POST /webhook checks its caller itself ("self"): the X-Webhook-Secret header must equal
 *   ${secret} (compared in constant time); then the text goes to the session
 *   \`${name}:<client_id>\` and an agent turn is queued with this integration's tool
 *   (\`${tool}\`) and skill (\`skills/${name}.md\`, id \`integrations/${name}/${name}\`) added
 *   to it through \`executionConfig\` (a bot only has the tools and skills it lists).
 * - GET /status needs the server's API key with the sessions:read scope.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { RouterDefinition } from "switchyard";

const SECRET_SETTING = "${secret}";
const SECRET_HEADER = "x-webhook-secret";
/** What this integration's turns get besides the bot's own tools and skills. */
const EXECUTION_CONFIG = {
  tools: ["${tool}"],
  skills: ["integrations/${name}/${name}"],
};

/** True when \`given\` equals \`expected\`, compared in constant time (as equal-length digests). */
function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

const router: RouterDefinition = async (app, ctx) => {
  app.post("/webhook", { config: { auth: "self" } }, async (req, reply) => {
    const secret = ctx.settings[SECRET_SETTING];
    if (!secret) {
      ctx.log.warn({}, \`webhook refused: \${SECRET_SETTING} is not set\`);
      return reply.code(401).send({ detail: "Unauthorized" });
    }
    if (!sameSecret(req.headers[SECRET_HEADER], secret)) {
      return reply.code(401).send({ detail: "Unauthorized" });
    }
    const body = req.body as { client_id?: unknown; text?: unknown } | undefined;
    if (typeof body?.client_id !== "string" || typeof body.text !== "string" || !body.text) {
      return reply.code(400).send({ detail: "Expected {client_id: string, text: string}" });
    }
    const { sessionId } = await ctx.getOrCreateSession(\`${name}:\${body.client_id}\`);
    const { taskId } = await ctx.injectMessage(sessionId, body.text, {
      runAgent: true,
      executionConfig: EXECUTION_CONFIG,
    });
    return reply.code(202).send({ session_id: sessionId, task_id: taskId });
  });

  app.get("/status", { config: { auth: "sessions:read" } }, async () => ({
    integration: ctx.name,
    configured: Boolean(ctx.settings[SECRET_SETTING]),
  }));
};

export default router;
`,
    },
    {
      path: `tools/${tool}.ts`,
      about: `the ${tool} tool`,
      content: `/** A tool: echoes the text it is given. Replace it with one that does real work. */
import type { ToolDefinition } from "switchyard";

export default {
  name: "${tool}",
  description: "Echo the given text back",
  parameters: {
    type: "object",
    properties: { text: { type: "string", description: "The text to echo" } },
    required: ["text"],
  },
  execute: async (args: { text: string }, ctx) => ({
    text: args.text,
    integration: ctx.integration.name,
  }),
} satisfies ToolDefinition;
`,
    },
    {
      path: `skills/${name}.md`,
      about: "a skill document",
      content: `---
name: ${title}
description: How to handle messages that arrive through the ${name} integration
---
Messages from the ${name} integration reach the agent through its webhook, one session per
sender. Answer briefly; when asked to repeat something, use the \`${tool}\` tool.
`,
    },
    {
      path: `${name}.test.ts`,
      about: `its test (npx node --test ${name}.test.ts)`,
      content: `/** The ${name} integration's own test: \`npx node --test ${name}.test.ts\` (Node 24). */
import assert from "node:assert/strict";
import { test } from "node:test";
import tool from "./tools/${tool}.ts";

type ToolCallContext = Parameters<typeof tool.execute>[1];

test("${tool} echoes its text", async () => {
  const ctx = { integration: { name: "${name}", settings: {} } } as unknown as ToolCallContext;
  assert.equal(tool.name, "${tool}");
  assert.equal(tool.parameters.type, "object");
  assert.deepEqual(await tool.execute({ text: "hello" }, ctx), {
    text: "hello",
    integration: "${name}",
  });
});
`,
    },
  ];
}
