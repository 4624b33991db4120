import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { ModelMessage } from "ai";
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { startCaptureServer } from "./support/capture-server.ts";
import type { FakeLlm } from "./support/fake-llm.ts";
import { startFakeLlm } from "./support/fake-llm.ts";

describe("fake LLM with the AI SDK", () => {
  let fake: FakeLlm;
  let model: ReturnType<ReturnType<typeof createOpenAICompatible>>;

  before(async () => {
    fake = await startFakeLlm();
    const provider = createOpenAICompatible({
      name: "fake",
      baseURL: fake.baseUrl,
      apiKey: "test-key",
      includeUsage: true,
    });
    model = provider("fake-model");
  });
  beforeEach(() => {
    fake.reset();
    fake.setDefaultLatency(0);
  });
  after(async () => {
    await fake.close();
  });

  test("plain text (default echo and scripted)", async () => {
    const echo = await generateText({ model, prompt: "hello there", maxRetries: 0 });
    assert.equal(echo.text, "echo: hello there");
    assert.equal(echo.finishReason, "stop");

    fake.enqueue({ text: "scripted answer" });
    const messages: ModelMessage[] = [{ role: "user", content: "q?" }];
    const scripted = await generateText({ model, system: "be brief", messages, maxRetries: 0 });
    assert.equal(scripted.text, "scripted answer");
    assert.ok((scripted.usage.inputTokens ?? 0) > 0);
    assert.ok((scripted.usage.outputTokens ?? 0) > 0);

    assert.equal(fake.requests.length, 2);
    const req = fake.requests[1]!;
    assert.equal(req.model, "fake-model");
    assert.equal(req.stream, false);
    assert.equal(req.path, "/v1/chat/completions");
    assert.equal(req.headers.authorization, "Bearer test-key");
    assert.deepEqual(req.messages, [
      { role: "system", content: "be brief" },
      { role: "user", content: "q?" },
    ]);
  });

  test("streamed text", async () => {
    fake.enqueue({ text: "streaming works fine" });
    const result = streamText({ model, prompt: "go", maxRetries: 0 });
    const deltas: string[] = [];
    for await (const d of result.textStream) deltas.push(d);
    assert.ok(deltas.length > 1, "text arrives in several deltas");
    assert.equal(deltas.join(""), "streaming works fine");
    assert.equal(await result.text, "streaming works fine");
    assert.equal(await result.finishReason, "stop");
    const usage = await result.usage;
    assert.ok((usage.inputTokens ?? 0) > 0);
    assert.equal(fake.requests[0]!.stream, true);
    assert.deepEqual(fake.requests[0]!.body.stream_options, { include_usage: true });
  });

  const weatherInput = jsonSchema<{ city: string }>({
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  });

  test("tool call followed by a text answer (generateText)", async () => {
    const executed: Array<{ city: string }> = [];
    const tools = {
      weather: tool({
        description: "Get the weather for a city",
        inputSchema: weatherInput,
        execute: async (input: { city: string }) => {
          executed.push(input);
          return { city: input.city, tempC: 21 };
        },
      }),
    };
    fake.enqueue(
      { toolCalls: [{ name: "weather", args: { city: "Oslo" }, id: "call_1" }] },
      { text: "It is 21C in Oslo." },
    );
    const result = await generateText({
      model,
      prompt: "weather in Oslo?",
      tools,
      stopWhen: stepCountIs(5),
      maxRetries: 0,
    });
    assert.equal(result.text, "It is 21C in Oslo.");
    assert.deepEqual(executed, [{ city: "Oslo" }]);
    assert.equal(result.steps.length, 2);

    const [s0, s1] = result.steps;
    assert.equal(s0!.finishReason, "tool-calls");
    assert.equal(s0!.toolCalls.length, 1);
    assert.equal(s0!.toolCalls[0]!.toolCallId, "call_1");
    assert.equal(s0!.toolCalls[0]!.toolName, "weather");
    assert.deepEqual(s0!.toolCalls[0]!.input, { city: "Oslo" });
    assert.equal(s0!.toolResults.length, 1);
    assert.deepEqual(s0!.toolResults[0]!.output, { city: "Oslo", tempC: 21 });
    assert.equal(s1!.finishReason, "stop");
    assert.equal(s1!.text, "It is 21C in Oslo.");

    // Conversation continuation: assistant tool-call message + tool result message.
    const roles = result.response.messages.map((m) => m.role);
    assert.deepEqual(roles, ["assistant", "tool", "assistant"]);

    // First request advertised the tool, second carried the tool result back.
    assert.equal(fake.requests.length, 2);
    assert.equal(fake.requests[0]!.tools[0].type, "function");
    assert.equal(fake.requests[0]!.tools[0].function.name, "weather");
    const second = fake.requests[1]!.messages;
    const assistant = second.find((m) => m.role === "assistant");
    assert.equal(assistant.tool_calls[0].id, "call_1");
    assert.equal(assistant.tool_calls[0].function.name, "weather");
    assert.deepEqual(JSON.parse(assistant.tool_calls[0].function.arguments), { city: "Oslo" });
    const toolMsg = second.find((m) => m.role === "tool");
    assert.equal(toolMsg.tool_call_id, "call_1");
    assert.deepEqual(JSON.parse(toolMsg.content), { city: "Oslo", tempC: 21 });
  });

  test("tool call followed by a text answer (streamText)", async () => {
    let calls = 0;
    const tools = {
      weather: tool({
        description: "Get the weather for a city",
        inputSchema: weatherInput,
        execute: async ({ city }: { city: string }) => {
          calls++;
          return `sunny in ${city}`;
        },
      }),
    };
    fake.enqueue(
      {
        text: "Let me check.",
        toolCalls: [
          { name: "weather", args: { city: "Rome" } },
          { name: "weather", args: { city: "Paris" } },
        ],
      },
      { text: "Sunny in both." },
    );
    const result = streamText({
      model,
      prompt: "weather?",
      tools,
      stopWhen: stepCountIs(5),
      maxRetries: 0,
    });
    assert.equal(await result.text, "Sunny in both.");
    const steps = await result.steps;
    assert.equal(steps.length, 2);
    assert.equal(steps[0]!.text, "Let me check.");
    assert.deepEqual(
      steps[0]!.toolCalls.map((c) => c.input),
      [{ city: "Rome" }, { city: "Paris" }],
    );
    assert.deepEqual(
      steps[0]!.toolResults.map((r) => r.output),
      ["sunny in Rome", "sunny in Paris"],
    );
    assert.equal(calls, 2);
    const toolMsgs = fake.requests[1]!.messages.filter((m) => m.role === "tool");
    assert.equal(toolMsgs.length, 2);
    // string tool outputs are sent as plain text content
    assert.deepEqual(
      toolMsgs.map((m) => m.content),
      ["sunny in Rome", "sunny in Paris"],
    );
  });

  test("500 surfaces as an APICallError (maxRetries: 0)", async () => {
    fake.enqueue({ status: 500 });
    await assert.rejects(generateText({ model, prompt: "x", maxRetries: 0 }), (err: unknown) => {
      assert.ok(APICallError.isInstance(err), `expected APICallError, got ${String(err)}`);
      assert.equal(err.statusCode, 500);
      assert.equal(err.isRetryable, true);
      assert.match(err.message, /Fake LLM error 500/);
      return true;
    });
    assert.equal(fake.requests.length, 1);
  });

  test("500 in streamText is reported via onError and the text promise rejects", async () => {
    fake.enqueue({ status: 500, body: { error: { message: "boom", type: "server_error" } } });
    const errors: unknown[] = [];
    const result = streamText({
      model,
      prompt: "x",
      maxRetries: 0,
      onError: ({ error }) => {
        errors.push(error);
      },
    });
    await assert.rejects(Promise.resolve(result.text));
    assert.equal(errors.length, 1);
    assert.ok(APICallError.isInstance(errors[0]));
    assert.match((errors[0] as Error).message, /boom/);
  });

  test("429 with retry-after then success (maxRetries: 1)", async () => {
    fake.enqueue({ status: 429, retryAfter: "0" }, { text: "after retry" });
    const result = await generateText({ model, prompt: "x", maxRetries: 1 });
    assert.equal(result.text, "after retry");
    assert.equal(fake.requests.length, 2);
  });

  test("persistent 429 exhausts retries with a RetryError", async () => {
    fake.enqueue({ status: 429, retryAfter: "0" }, { status: 429, retryAfter: "0" });
    await assert.rejects(generateText({ model, prompt: "x", maxRetries: 1 }), (err: any) => {
      assert.equal(err.name, "AI_RetryError");
      assert.equal(err.reason, "maxRetriesExceeded");
      assert.equal(err.errors.length, 2);
      assert.equal(err.lastError.statusCode, 429);
      return true;
    });
  });

  test("latency is respected (ordering)", async () => {
    fake.setResponder((req) => {
      const text = req.messages.at(-1)?.content;
      return text === "slow" ? { text: "slow", latencyMs: 300 } : { text: "fast" };
    });
    const order: string[] = [];
    const run = (prompt: string) =>
      generateText({ model, prompt, maxRetries: 0 }).then((r) => order.push(r.text));
    await Promise.all([run("slow"), run("fast")]);
    assert.deepEqual(order, ["fast", "slow"]);

    fake.setResponder(null);
    fake.setDefaultLatency(200);
    fake.enqueue({ text: "default latency" }, { text: "quick", latencyMs: 0 });
    const order2: string[] = [];
    await Promise.all([
      generateText({ model, prompt: "a", maxRetries: 0 }).then((r) => order2.push(r.text)),
      fake
        .waitForRequests(1)
        .then(() => generateText({ model, prompt: "b", maxRetries: 0 }))
        .then((r) => order2.push(r.text)),
    ]);
    // the first request got the default latency, the second its own 0 ms
    assert.deepEqual(order2, ["quick", "default latency"]);
  });

  test("hang + abortSignal, and waitForRequests", async () => {
    fake.enqueue({ hang: true });
    const controller = new AbortController();
    const pending = generateText({
      model,
      prompt: "x",
      maxRetries: 0,
      abortSignal: controller.signal,
    });
    await fake.waitForRequests(1);
    controller.abort();
    await assert.rejects(pending, (err: any) => {
      assert.equal(err.name, "AbortError");
      return true;
    });
    await assert.rejects(fake.waitForRequests(5, 50), /received 1/);
  });

  test("models endpoint and 404", async () => {
    const models = await fetch(fake.baseUrl + "/models");
    assert.equal(models.status, 200);
    const list = (await models.json()) as { data: Array<{ id: string }> };
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["fake-model"],
    );
    const missing = await fetch(fake.baseUrl + "/nope", { method: "POST", body: "{}" });
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  });

  test("handles 100 concurrent requests with record: false", async () => {
    const lean = await startFakeLlm({ record: false, latencyMs: 20 });
    try {
      const leanModel = createOpenAICompatible({ name: "lean", baseURL: lean.baseUrl })("m");
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          generateText({ model: leanModel, prompt: `n${i}`, maxRetries: 0 }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.text),
        Array.from({ length: 100 }, (_, i) => `echo: n${i}`),
      );
      assert.equal(lean.requests.length, 0);
      await lean.waitForRequests(100, 100);
    } finally {
      await lean.close();
    }
  });

  test("close ends hanging requests", async () => {
    const tmp = await startFakeLlm();
    tmp.enqueue({ hang: true });
    const m = createOpenAICompatible({ name: "tmp", baseURL: tmp.baseUrl })("m");
    const pending = generateText({ model: m, prompt: "x", maxRetries: 0 });
    await tmp.waitForRequests(1);
    await tmp.close();
    await assert.rejects(pending);
  });
});

describe("capture server", () => {
  test("records requests and waitFor works", async () => {
    const cap = await startCaptureServer();
    try {
      const later = cap.waitFor(2);
      const r1 = await fetch(cap.url + "/hook?x=1", {
        method: "POST",
        headers: { "content-type": "application/json", "x-sig": "abc" },
        body: JSON.stringify({ hello: "world" }),
      });
      assert.equal(r1.status, 200);
      assert.deepEqual(await r1.json(), { ok: true });

      cap.setResponder((_req, index) =>
        index === 1 ? { status: 503, body: "busy", headers: { "retry-after": "1" } } : undefined,
      );
      const r2 = await fetch(cap.url + "/hook", { method: "POST", body: "not json" });
      assert.equal(r2.status, 503);
      assert.equal(r2.headers.get("retry-after"), "1");
      assert.equal(await r2.text(), "busy");

      const got = await later;
      assert.equal(got.length, 2);
      assert.equal(got[0]!.method, "POST");
      assert.equal(got[0]!.path, "/hook?x=1");
      assert.equal(got[0]!.headers["x-sig"], "abc");
      assert.deepEqual(got[0]!.json, { hello: "world" });
      assert.equal(got[1]!.body, "not json");
      assert.equal(got[1]!.json, undefined);
      assert.ok(got[0]!.receivedAt <= got[1]!.receivedAt);

      await assert.rejects(cap.waitFor(3, 50), /waiting for 3 request\(s\); 2 arrived/);
    } finally {
      await cap.close();
    }
  });

  test("delayMs delays the answer", async () => {
    const cap = await startCaptureServer();
    try {
      cap.setResponder(() => ({ delayMs: 100 }));
      const t0 = Date.now();
      const res = await fetch(cap.url, { method: "POST", body: "{}" });
      await res.body?.cancel();
      assert.ok(Date.now() - t0 >= 90);
    } finally {
      await cap.close();
    }
  });
});
