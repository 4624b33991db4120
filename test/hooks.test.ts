/** Lifecycle hooks: fire-and-forget never blocks or throws; override-capable firing. */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { HookRegistry } from "../src/hooks/lifecycle.ts";
import type { HookContext } from "../src/sdk/hooks.ts";

function capturingLog() {
  const lines: any[] = [];
  const log = pino(
    { level: "warn" },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(chunk.toString()));
        cb();
      },
    }),
  );
  return { log, lines };
}

const ctx: HookContext = {
  botId: "b",
  sessionId: "s",
  clientId: null,
  correlationId: "t",
  extra: {},
};

test("a throwing, rejecting or slow hook neither blocks nor fails the caller; errors are logged with their source", async () => {
  const { log, lines } = capturingLog();
  const hooks = new HookRegistry(log);
  const seen: string[] = [];
  let release: () => void = () => {};
  const slow = new Promise<void>((r) => {
    release = r;
  });
  hooks.register(
    "after_response",
    () => {
      throw new Error("sync boom");
    },
    "integration:a",
  );
  hooks.register(
    "after_response",
    async () => {
      throw new Error("async boom");
    },
    "integration:b",
  );
  hooks.register("after_response", () => slow.then(() => seen.push("late")), "integration:slow");
  hooks.register(
    "after_response",
    (c) => {
      seen.push(`ok ${c.correlationId}`);
    },
    "integration:c",
  );
  const returned: unknown = hooks.fire("after_response", ctx);
  // fire() hands back nothing to await, and returned while the slow hook is still pending.
  assert.equal(returned, undefined, "fire returns nothing to wait for");
  assert.deepEqual(seen, ["ok t"]);
  await new Promise((r) => setImmediate(r));
  const reasons = lines.map((l) => `${l.source}: ${l.err}`).sort();
  assert.deepEqual(reasons, ["integration:a: sync boom", "integration:b: async boom"]);
  // The slow hook still finishes on its own once it can.
  release();
  await slow;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, ["ok t", "late"]);
});

test("registering the same function twice counts once; unregisterSource removes a source's hooks", () => {
  const hooks = new HookRegistry(pino({ level: "silent" }));
  let n = 0;
  const fn = () => {
    n++;
  };
  hooks.register("before_llm_call", fn, "x");
  hooks.register("before_llm_call", fn, "x");
  hooks.fire("before_llm_call", ctx);
  assert.equal(n, 1);
  hooks.unregisterSource("x");
  assert.equal(hooks.has("before_llm_call"), false);
});

test("override-capable hooks: the first non-null answer wins, a throwing hook is skipped", async () => {
  const hooks = new HookRegistry(pino({ level: "silent" }));
  hooks.register(
    "before_transcription",
    () => {
      throw new Error("broken stt");
    },
    "a",
  );
  hooks.register("before_transcription", () => null, "b");
  hooks.register("before_transcription", async (c) => `text for ${c.extra.audio_format}`, "c");
  hooks.register("before_transcription", () => "never reached", "d");
  assert.equal(
    await hooks.fireWithOverride("before_transcription", {
      ...ctx,
      extra: { audio_format: "ogg" },
    }),
    "text for ogg",
  );
  assert.equal(
    await new HookRegistry(pino({ level: "silent" })).fireWithOverride("before_transcription", ctx),
    undefined,
  );
});
