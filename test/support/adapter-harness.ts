/**
 * One chat adapter on its own, for tests of its provider side: the adapter built from its
 * integration folder with a small context (settings, the real outbound client allowing
 * 127.0.0.1, the real verify helpers and errors, an in-memory `state`, an `exclusive` that
 * just runs), its `routes` mounted on a Fastify server on 127.0.0.1 at
 * `/integrations/<folder>/`, and `start` given a recording handler and decider. No
 * database: what core does with an input or a decision is the decider's script.
 */
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { integrationVerify } from "../../src/http/verify.ts";
import { OutboundHttpClient } from "../../src/outbox/http-client.ts";
import type {
  Adapter,
  AdapterDefinition,
  AdapterHandlerResult,
  AdapterInput,
  AdapterOutput,
  AdapterSendResult,
  AdapterTarget,
  ApprovalDecisionInput,
  ApprovalDecisionResult,
  ApprovalView,
} from "../../src/sdk/adapter.ts";
import type { IntegrationContext } from "../../src/sdk/context.ts";
import { integrationErrors } from "../../src/sdk/errors.ts";

/** A running adapter with what it was given. */
export interface AdapterHarness {
  adapter: Adapter;
  /** Base URL of the server holding its routes (`<url>/integrations/<folder>/…`). */
  url: string;
  /** Inputs the handler received. */
  inputs: AdapterInput[];
  /** Decisions the decider received, in order. */
  decisions: ApprovalDecisionInput[];
  /** What the decider answers next (default: `decided`, with the approval resolved). */
  answer: (
    input: ApprovalDecisionInput,
  ) => ApprovalDecisionResult | Promise<ApprovalDecisionResult>;
  /** `ctx.state` contents. */
  state: Map<string, unknown>;
  /** Sends `output` as the outbox would; resolves with what `send` returned. */
  send(
    output: AdapterOutput,
    target: Partial<AdapterTarget> & Pick<AdapterTarget, "conversation">,
  ): Promise<AdapterSendResult | undefined>;
  /** Resolves once `n` decisions were received. */
  waitForDecisions(n: number, timeoutMs?: number): Promise<ApprovalDecisionInput[]>;
  close(): Promise<void>;
}

/** An approval as core would show it; `over` replaces fields. */
export function approvalView(over: Partial<ApprovalView> = {}): ApprovalView {
  const args = "args" in over ? over.args : { repo: "acme/site", branch: "old-<feature>" };
  return {
    id: "0190f1d2-7c3b-7a10-9e55-3f0c2b6d9a01",
    taskId: "0190f1d2-7c3b-7a10-9e55-3f0c2b6d9a00",
    tool: "delete_branch",
    args,
    // As core makes it (src/approvals/view.ts), uncut: tests pass a cut one when they need it.
    argsText: JSON.stringify(args ?? {}) ?? "null",
    status: "pending",
    expiresAt: Date.parse("2026-12-04T12:00:00Z"),
    ...over,
  };
}

/**
 * Builds and starts the adapter of `integrations/<folder>/adapter.ts`.
 * @param settings its settings (the provider fakes' URLs, secrets)
 */
export async function startAdapterHarness(
  folder: string,
  settings: Record<string, string | undefined>,
): Promise<AdapterHarness> {
  const mod = (await import(`../../integrations/${folder}/adapter.ts`)) as {
    default: AdapterDefinition;
  };
  const state = new Map<string, unknown>();
  const ctx = {
    name: folder,
    settings,
    log: pino({ level: process.env.SWITCHYARD_TEST_LOG ?? "silent" }),
    http: new OutboundHttpClient({ allowPrivate: true, baseRetryDelayMs: 5 }),
    verify: integrationVerify,
    errors: integrationErrors,
    state: {
      get: async (k: string) => state.get(k),
      set: async (k: string, v: unknown) => {
        if (v === undefined) state.delete(k);
        else state.set(k, JSON.parse(JSON.stringify(v)));
      },
    },
    exclusive: async (
      _n: string,
      run: (s: AbortSignal) => Promise<void>,
      o: { signal: AbortSignal },
    ) => run(o.signal),
  } as unknown as IntegrationContext;
  const adapter = mod.default(ctx);
  const app: FastifyInstance = Fastify();
  if (adapter.routes) {
    const routes = adapter.routes;
    await app.register(async (scope) => routes(scope, ctx), { prefix: `/integrations/${folder}` });
  }
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address() as { port: number };
  const inputs: AdapterInput[] = [];
  const decisions: ApprovalDecisionInput[] = [];
  const decisionWaiters = new Set<() => void>();
  const controller = new AbortController();
  const h: AdapterHarness = {
    adapter,
    url: `http://127.0.0.1:${addr.port}`,
    inputs,
    decisions,
    state,
    answer: (input) => ({
      outcome: "decided",
      approval: approvalView({
        id: input.approvalId,
        status: input.decision === "approve" ? "approved" : "denied",
        decidedBy: `${folder}:${input.actor.id}`,
      }),
    }),
    async send(output, target) {
      const r = await adapter.send(
        {
          deliveryId: `d-${Math.random().toString(36).slice(2)}`,
          signal: controller.signal,
          ...target,
        },
        output,
      );
      return r || undefined;
    },
    async waitForDecisions(n, timeoutMs = 10_000) {
      if (decisions.length >= n) return decisions.slice();
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (decisions.length < n) return;
          decisionWaiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          decisionWaiters.delete(check);
          reject(new Error(`${decisions.length} of ${n} decisions after ${timeoutMs} ms`));
        }, timeoutMs);
        decisionWaiters.add(check);
      });
      return decisions.slice();
    },
    async close() {
      controller.abort();
      await adapter.stop();
      await app.close();
    },
  };
  await adapter.start({
    handler: async (input): Promise<AdapterHandlerResult> => {
      inputs.push(input);
      return {
        outcome: "stored",
        sessionId: null,
        messageId: null,
        taskId: null,
        duplicate: false,
      };
    },
    decide: async (input) => {
      decisions.push(input);
      for (const w of [...decisionWaiters]) w();
      return h.answer(input);
    },
    signal: controller.signal,
  });
  return h;
}
