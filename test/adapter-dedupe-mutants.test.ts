/**
 * The adapter handler (src/adapters/inbound.ts) and the receipt at the door of every
 * inject (src/sessions/inject-write.ts), driven directly on one SQLite store (written for
 * mutation testing, `npm run mutate -- adapter-dedupe`): who is ignored (bots, no mention,
 * empty), which bot and session a conversation gets (channel row or default bot, per
 * thread), `require_mention` and `passive_memory`, `/new`, files, one delivery id → one
 * message and a redelivery answering `duplicate` with the first ids; and what an injection
 * writes (dispatch, defaults, receipt claim, fingerprint check, stamp). The adapter host
 * over HTTP is covered by test/adapter-host.test.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AdapterNotRunningError,
  createAdapterHandler,
  NEW_SESSION_COMMAND,
  NEW_SESSION_NOTICE,
} from "../src/adapters/inbound.ts";
import type { AdapterHandler, AdapterInput, Conversation } from "../src/sdk/adapter.ts";
import { DedupeKeyReusedError, InvalidInputError } from "../src/sessions/errors.ts";
import { planInjection } from "../src/sessions/inject-write.ts";
import { SessionService } from "../src/sessions/service.ts";
import { Store } from "../src/store/index.ts";
import { createTestDatabase, type TestDatabase } from "./support/db.ts";

const NAME = "rec";

/** One output queued to a conversation through the (fake) outbox. */
interface Queued {
  adapter: string;
  conversation: Conversation;
  payload: Record<string, unknown>;
  replyTo: string | undefined;
}

let db: TestDatabase;
let store: Store;
let sessions: SessionService;
const queued: Queued[] = [];
/** Files "fetched" by the fake saveFiles, with the session they were stored in. */
const saved: Array<{ name: string; sessionId: string }> = [];
/** `task.created` rows asked for, and how often the delivery worker was woken. */
const taskCreatedRows: Array<{ sessionId: string; task: { id: string; botId: string } }> = [];
let outboxWakes = 0;
let running = true;
let handle: AdapterHandler;
/** The same adapter without file storage. */
let handleNoFiles: AdapterHandler;
/** Another adapter (its own dedupe scope). */
let handleOther: AdapterHandler;

let seq = 0;
/** A conversation channel no other test uses. */
const freshChannel = () => `C${++seq}`;
/** A delivery id no other test uses. */
const freshDelivery = () => `ev-${++seq}`;

/** A message from a person, mentioned, in `channel`. */
function msg(channel: string, over: Partial<AdapterInput> = {}): AdapterInput {
  return {
    conversation: { channel },
    author: { id: "U1", isBot: false },
    text: "hello",
    mentioned: true,
    deliveryId: freshDelivery(),
    ...over,
  };
}

async function messagesOf(sessionId: string) {
  return store.messages.listRecent(sessionId, 100);
}

async function makeChannel(
  channel: string,
  over: { botId?: string; requireMention?: boolean | null; passiveMemory?: boolean; team?: string },
) {
  const c = await store.channels.insert({
    clientId: over.team ? `${NAME}:${over.team}:${channel}` : `${NAME}::${channel}`,
    integration: NAME,
    team: over.team ?? null,
    channel,
    botId: over.botId ?? "default",
    requireMention: over.requireMention === undefined ? true : over.requireMention,
    passiveMemory: over.passiveMemory ?? false,
  });
  assert.ok(c);
  return c;
}

before(async () => {
  db = await createTestDatabase("sqlite");
  store = await Store.open(db.url);
  await store.bots.create({ id: "default", model: "fake:m" });
  await store.bots.create({ id: "other", model: "fake:m" });
  sessions = new SessionService({
    store,
    onTaskCreated: () => {},
    onOutboxRows: () => {
      outboxWakes++;
    },
    rows: {
      prepare: async () => {},
      sessionStarted: async () => 0,
      sessionEnded: async () => 0,
      taskCreated: async (_tx, sessionId, task) => {
        taskCreatedRows.push({ sessionId, task });
        return 1;
      },
    },
    describeAttachments: async (_sessionId, ids) => ids.map((id) => ({ id })),
  });
  const queue = (
    adapter: string,
    conversation: Conversation,
    payload: Record<string, unknown>,
    replyTo?: string,
  ) => {
    queued.push({ adapter, conversation, payload, replyTo });
  };
  handle = createAdapterHandler(
    {
      store,
      sessions,
      queue,
      saveFiles: async (refs, sessionId) => {
        const ids: string[] = [];
        const failed: Array<{ name: string; reason: string }> = [];
        for (const r of refs) {
          if (r.name.startsWith("broken")) failed.push({ name: r.name, reason: "gone" });
          else {
            saved.push({ name: r.name, sessionId });
            ids.push(`file-${r.name}`);
          }
        }
        return { ids, failed };
      },
    },
    { name: NAME, defaultBotId: () => "default", running: () => running },
  );
  handleNoFiles = createAdapterHandler(
    { store, sessions, queue },
    { name: NAME, defaultBotId: () => "default", running: () => true },
  );
  handleOther = createAdapterHandler(
    { store, sessions, queue },
    { name: "rec2", defaultBotId: () => "default", running: () => true },
  );
});

after(async () => {
  await store?.db.close();
  await db?.drop();
});

describe("adapter handler: refusals and ignored messages", () => {
  test("a malformed input is refused naming the field", async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...msg("C"), deliveryId: "" }, "input.deliveryId"],
      [{ ...msg("C"), deliveryId: "x".repeat(201) }, "input.deliveryId"],
      [{ ...msg("C"), conversation: { channel: "C", extra: "x" } }, "input.conversation.extra"],
      [
        { ...msg("C"), author: { id: "U", isBot: false, displayName: "d".repeat(201) } },
        "input.author.displayName",
      ],
      [
        { ...msg("C"), attachments: [{ name: "a", ref: "r", other: 1 }] },
        "input.attachments.0.other",
      ],
      [{ ...msg("C"), author: { isBot: false } }, "input.author.id"],
    ];
    for (const [raw, field] of cases) {
      await assert.rejects(
        handle(raw as AdapterInput),
        (e: unknown) => e instanceof InvalidInputError && e.field === field,
        field,
      );
    }
  });

  test("a stopped adapter refuses input with its name", async () => {
    running = false;
    try {
      await assert.rejects(handle(msg(freshChannel())), (e: unknown) => {
        assert.ok(e instanceof AdapterNotRunningError);
        assert.equal(e.name, "AdapterNotRunningError");
        assert.equal(e.message, `Adapter ${NAME} is not running`);
        return true;
      });
    } finally {
      running = true;
    }
  });

  test("a bot's message is ignored", async () => {
    const r = await handle(msg(freshChannel(), { author: { id: "B1", isBot: true } }));
    assert.deepStrictEqual(r, {
      outcome: "ignored",
      reason: "bot_author",
      sessionId: null,
      messageId: null,
      taskId: null,
      duplicate: false,
    });
  });

  test("an empty text is ignored in an open session", async () => {
    const ch = freshChannel();
    await handle(msg(ch));
    const r = await handle(msg(ch, { text: "   " }));
    assert.deepStrictEqual(r, {
      outcome: "ignored",
      reason: "empty",
      sessionId: null,
      messageId: null,
      taskId: null,
      duplicate: false,
    });
    const fresh = await handle(msg(freshChannel(), { text: "" }));
    assert.equal(fresh.reason, "empty");
  });
});

describe("adapter handler: a message stored and run", () => {
  test("the first message opens the conversation's session and runs a turn", async () => {
    const ch = freshChannel();
    const before = queued.length;
    const input = msg(ch, {
      text: "  hello there  ",
      author: { id: "U7", isBot: false, displayName: "Ann" },
      metadata: { ts: "1.2" },
    });
    const r = await handle(input);
    assert.equal(r.outcome, "run");
    assert.equal(r.duplicate, false);
    assert.ok(r.sessionId && r.messageId && r.taskId);
    const s = await store.sessions.get(r.sessionId);
    assert.equal(s?.clientId, `${NAME}::${ch}`);
    assert.equal(s?.botId, "default");
    assert.deepStrictEqual(s?.dispatchConfig, { type: NAME, conversation: { channel: ch } });
    const [m] = await messagesOf(r.sessionId);
    assert.equal(m?.id, r.messageId);
    assert.equal(m?.content, "hello there");
    assert.equal(m?.role, "user");
    assert.deepStrictEqual(m?.metadata, {
      ts: "1.2",
      author: { id: "U7", display_name: "Ann" },
      conversation: { channel: ch },
      mentioned: true,
      delivery_id: input.deliveryId,
      source: NAME,
    });
    const task = await store.tasks.get(r.taskId);
    assert.equal(task?.prompt, "hello there");
    assert.equal(task?.messageId, r.messageId);
    assert.equal(task?.dispatchType, NAME);
    assert.deepStrictEqual(task?.dispatchConfig, {
      type: NAME,
      conversation: { channel: ch },
      reply_to: input.deliveryId,
    });
    assert.deepStrictEqual(queued.slice(before), [
      {
        adapter: NAME,
        conversation: { channel: ch },
        payload: { kind: "progress", state: "start", task_id: r.taskId },
        replyTo: input.deliveryId,
      },
    ]);
    assert.equal(await store.receipts.has(`adapter:${NAME}`, input.deliveryId), true);
  });

  test("the next message goes into the same open session, replying to replyTo", async () => {
    const ch = freshChannel();
    const first = await handle(msg(ch));
    const before = queued.length;
    const input = msg(ch, { replyTo: "parent-1", author: { id: "U8", isBot: false } });
    const r = await handle(input);
    assert.equal(r.outcome, "run");
    assert.equal(r.sessionId, first.sessionId);
    const task = await store.tasks.get(r.taskId!);
    assert.deepStrictEqual(task?.dispatchConfig, {
      type: NAME,
      conversation: { channel: ch },
      reply_to: "parent-1",
    });
    assert.equal(task?.dispatchType, NAME);
    const msgs = await messagesOf(r.sessionId!);
    assert.deepStrictEqual(
      msgs.map((m) => m.content),
      ["hello", "hello"],
    );
    assert.deepStrictEqual(msgs[1]!.metadata, {
      author: { id: "U8" },
      conversation: { channel: ch },
      mentioned: true,
      delivery_id: input.deliveryId,
      source: NAME,
    });
    assert.deepStrictEqual(queued.slice(before), [
      {
        adapter: NAME,
        conversation: { channel: ch },
        payload: { kind: "progress", state: "start", task_id: r.taskId },
        replyTo: "parent-1",
      },
    ]);
  });

  test("team and thread are part of the conversation; each thread is its own session", async () => {
    const ch = freshChannel();
    const conv = { team: "T1", channel: ch, thread: "th:1" };
    const before = queued.length;
    const a = await handle(msg(ch, { conversation: conv }));
    const b = await handle(msg(ch, { conversation: conv }));
    const other = await handle(msg(ch, { conversation: { team: "T1", channel: ch, thread: "2" } }));
    assert.equal(a.sessionId, b.sessionId);
    assert.notEqual(other.sessionId, a.sessionId);
    const s = await store.sessions.get(a.sessionId!);
    assert.equal(s?.clientId, `${NAME}:T1:${ch}:th%3a1`);
    assert.deepStrictEqual(s?.dispatchConfig, { type: NAME, conversation: conv });
    assert.deepStrictEqual(queued[before]!.conversation, conv);
    const [m] = await messagesOf(a.sessionId!);
    assert.deepStrictEqual(m!.metadata.conversation, conv);
  });
});

describe("adapter handler: who is addressed", () => {
  // [what, channel row (or none), mentioned, direct, outcome]
  type Row = { requireMention?: boolean | null; passiveMemory?: boolean } | null;
  const cases: Array<[string, Row, boolean, boolean | undefined, string]> = [
    ["no channel, group, not mentioned", null, false, undefined, "ignored"],
    ["no channel, group, direct false", null, false, false, "ignored"],
    ["no channel, direct message", null, false, true, "run"],
    ["no channel, mentioned", null, true, undefined, "run"],
    ["require_mention false", { requireMention: false }, false, undefined, "run"],
    ["require_mention true, direct", { requireMention: true }, false, true, "ignored"],
    ["require_mention true, mentioned", { requireMention: true }, true, undefined, "run"],
    ["require_mention null, group", { requireMention: null }, false, undefined, "ignored"],
    ["require_mention null, direct", { requireMention: null }, false, true, "run"],
    ["passive memory, not mentioned", { passiveMemory: true }, false, undefined, "stored"],
    ["passive memory, mentioned", { passiveMemory: true }, true, undefined, "run"],
    [
      "passive memory, require_mention null, group",
      { passiveMemory: true, requireMention: null },
      false,
      undefined,
      "stored",
    ],
    [
      "passive memory, require_mention false",
      { passiveMemory: true, requireMention: false },
      false,
      undefined,
      "run",
    ],
  ];
  for (const [what, row, mentioned, direct, want] of cases) {
    for (const open of [false, true]) {
      test(`${what} → ${want} (${open ? "open session" : "new conversation"})`, async () => {
        const ch = freshChannel();
        if (row) await makeChannel(ch, row);
        let sessionId: string | null = null;
        if (open) {
          const first = await handle(msg(ch, { mentioned: true }));
          assert.equal(first.outcome, "run");
          sessionId = first.sessionId;
        }
        const r = await handle(
          msg(ch, { mentioned, ...(direct === undefined ? {} : { direct }), text: "hey" }),
        );
        assert.equal(r.outcome, want);
        if (want === "ignored") {
          assert.deepStrictEqual(r, {
            outcome: "ignored",
            reason: "no_mention",
            sessionId: null,
            messageId: null,
            taskId: null,
            duplicate: false,
          });
        } else {
          assert.ok(r.messageId);
          if (sessionId) assert.equal(r.sessionId, sessionId);
          assert.equal(r.taskId === null, want === "stored");
          const msgs = await messagesOf(r.sessionId!);
          assert.equal(msgs.at(-1)?.id, r.messageId);
          assert.equal(msgs.at(-1)?.metadata.mentioned, mentioned);
        }
      });
    }
  }

  test("a channel's bot answers its conversations; without a row the default bot", async () => {
    const ch = freshChannel();
    await makeChannel(ch, { botId: "other", requireMention: false });
    const a = await handle(msg(ch));
    const b = await handle(msg(ch));
    assert.equal(a.sessionId, b.sessionId);
    assert.equal((await store.sessions.get(a.sessionId!))?.botId, "other");
    assert.equal((await store.tasks.get(b.taskId!))?.botId, "other");
    // A channel row made (with another bot) after its conversation began with the default
    // bot: the next message goes to the channel's bot, in a session of its own.
    const later = freshChannel();
    const before = await handle(msg(later));
    assert.equal((await store.sessions.get(before.sessionId!))?.botId, "default");
    await makeChannel(later, { botId: "other", requireMention: false });
    const after = await handle(msg(later));
    assert.notEqual(after.sessionId, before.sessionId);
    assert.equal((await store.sessions.get(after.sessionId!))?.botId, "other");
  });

  test("the channel row follows its conversation's current session", async () => {
    const ch = freshChannel();
    const c = await makeChannel(ch, { requireMention: false });
    const t1 = { channel: ch, thread: "1" };
    const t2 = { channel: ch, thread: "2" };
    const a = await handle(msg(ch, { conversation: t1 }));
    assert.equal((await store.channels.get(c.id))?.activeSessionId, a.sessionId);
    const b = await handle(msg(ch, { conversation: t2 }));
    assert.equal((await store.channels.get(c.id))?.activeSessionId, b.sessionId);
    // Back in thread 1 (its session open: the one-step path).
    const a2 = await handle(msg(ch, { conversation: t1 }));
    assert.equal(a2.sessionId, a.sessionId);
    assert.equal((await store.channels.get(c.id))?.activeSessionId, a.sessionId);
    // A channel created after its conversation's session opened is told on the next message.
    const ch2 = freshChannel();
    const first = await handle(msg(ch2));
    const c2 = await makeChannel(ch2, { requireMention: false });
    assert.equal(c2.activeSessionId, null);
    await handle(msg(ch2));
    assert.equal((await store.channels.get(c2.id))?.activeSessionId, first.sessionId);
  });
});

describe("adapter handler: one delivery id, one message", () => {
  test("a redelivery answers duplicate with the first ids and writes nothing", async () => {
    const ch = freshChannel();
    const input = msg(ch);
    const first = await handle(input);
    const before = queued.length;
    const again = await handle({ ...input, text: "changed" });
    assert.deepStrictEqual(again, {
      outcome: "duplicate",
      sessionId: first.sessionId,
      messageId: first.messageId,
      taskId: first.taskId,
      duplicate: true,
    });
    assert.equal(queued.length, before, "no second progress");
    assert.equal((await messagesOf(first.sessionId!)).length, 1);
  });

  test("a redelivery of a stored (passive) message answers its message id", async () => {
    const ch = freshChannel();
    await makeChannel(ch, { passiveMemory: true });
    const input = msg(ch, { mentioned: false });
    const first = await handle(input);
    assert.equal(first.outcome, "stored");
    assert.equal(first.taskId, null);
    const again = await handle(input);
    assert.deepStrictEqual(again, {
      outcome: "duplicate",
      sessionId: first.sessionId,
      messageId: first.messageId,
      taskId: null,
      duplicate: true,
    });
    // And in the open session (the one-step path) too.
    const second = await handle(msg(ch, { mentioned: false }));
    assert.equal(second.outcome, "stored");
    const dup = await handle({ ...msg(ch, { mentioned: false }), deliveryId: input.deliveryId });
    assert.equal(dup.messageId, first.messageId);
  });

  test("delivery ids are per adapter", async () => {
    const ch = freshChannel();
    const input = msg(ch);
    const a = await handle(input);
    const b = await handleOther(input);
    assert.equal(b.outcome, "run");
    assert.notEqual(b.messageId, a.messageId);
    assert.equal(await store.receipts.has("adapter:rec2", input.deliveryId), true);
  });
});

describe("adapter handler: /new", () => {
  test("/new ends the session, opens the next generation and tells the conversation", async () => {
    const ch = freshChannel();
    const c = await makeChannel(ch, { requireMention: false });
    const first = await handle(msg(ch));
    const before = queued.length;
    const cmd = msg(ch, { text: `  ${NEW_SESSION_COMMAND.toUpperCase()} ` });
    const r = await handle(cmd);
    assert.equal(r.outcome, "new_session");
    assert.equal(r.duplicate, false);
    assert.equal(r.taskId, null, "the command runs no turn");
    assert.notEqual(r.sessionId, first.sessionId);
    const old = await store.sessions.get(first.sessionId!);
    assert.ok(old?.endedAt, "the old session is ended");
    const olds = await messagesOf(first.sessionId!);
    assert.equal(olds.at(-1)?.id, r.messageId, "the command is kept in the old session");
    const fresh = await store.sessions.get(r.sessionId!);
    assert.equal(fresh?.clientId, `${NAME}::${ch}#2`);
    assert.equal(fresh?.endedAt, null);
    assert.equal((await store.channels.get(c.id))?.activeSessionId, r.sessionId);
    assert.deepStrictEqual(queued.slice(before), [
      {
        adapter: NAME,
        conversation: { channel: ch },
        payload: { kind: "notice", text: NEW_SESSION_NOTICE },
        replyTo: undefined,
      },
    ]);
    assert.equal(NEW_SESSION_NOTICE, "Started a new session.");
    // The next message goes into the fresh session; another /new makes generation 3.
    const next = await handle(msg(ch));
    assert.equal(next.sessionId, r.sessionId);
    const again = await handle(msg(ch, { text: "/new" }));
    assert.equal(again.outcome, "new_session");
    assert.equal((await store.sessions.get(again.sessionId!))?.clientId, `${NAME}::${ch}#3`);
    // A redelivered /new is a duplicate: no fourth generation.
    const dup = await handle({ ...cmd });
    assert.equal(dup.outcome, "duplicate");
    assert.equal(dup.messageId, r.messageId);
    assert.equal(
      (await store.sessions.latestOpen("default", `${NAME}::${ch}`))?.id,
      again.sessionId,
    );
  });

  test("/new as the first message of a conversation without a channel row", async () => {
    const ch = freshChannel();
    const before = queued.length;
    const r = await handle(msg(ch, { text: "/new" }));
    assert.equal(r.outcome, "new_session");
    assert.equal((await store.sessions.get(r.sessionId!))?.clientId, `${NAME}::${ch}#2`);
    const ended = await store.sessions.latestOpen("default", `${NAME}::${ch}`);
    assert.equal(ended?.id, r.sessionId);
    assert.equal(queued.length, before + 1);
  });

  test("/new that addresses no one is a passive message", async () => {
    for (const open of [false, true]) {
      const ch = freshChannel();
      await makeChannel(ch, { passiveMemory: true });
      if (open) await handle(msg(ch));
      const r = await handle(msg(ch, { text: "/new", mentioned: false }));
      assert.equal(r.outcome, "stored", `open: ${open}`);
      const msgs = await messagesOf(r.sessionId!);
      assert.equal(msgs.at(-1)?.content, "/new");
      assert.equal((await store.sessions.get(r.sessionId!))?.endedAt, null);
    }
  });

  test("a message mentioning /new in words is an ordinary one", async () => {
    const ch = freshChannel();
    const r = await handle(msg(ch, { text: "/new please" }));
    assert.equal(r.outcome, "run");
  });
});

describe("adapter handler: files", () => {
  test("files are stored in the session before the message; a redelivery fetches none", async () => {
    for (const open of [false, true]) {
      const ch = freshChannel();
      const c = await makeChannel(ch, { requireMention: false });
      const opened = open
        ? await handle(msg(ch, { conversation: { channel: ch, thread: "1" } }))
        : undefined;
      const input = msg(ch, {
        conversation: { channel: ch, thread: "1" },
        text: "",
        attachments: [
          { name: "a.txt", ref: "r1", mediaType: "text/plain", bytes: 3 },
          { name: "b.png", ref: "r2" },
        ],
      });
      const before = saved.length;
      const r = await handle(input);
      assert.equal(r.outcome, "run");
      if (opened) assert.equal(r.sessionId, opened.sessionId);
      assert.deepStrictEqual(saved.slice(before), [
        { name: "a.txt", sessionId: r.sessionId },
        { name: "b.png", sessionId: r.sessionId },
      ]);
      const m = (await messagesOf(r.sessionId!)).at(-1)!;
      assert.equal(m.content, "(files: a.txt, b.png)");
      assert.deepStrictEqual(m.metadata.attachments, [{ id: "file-a.txt" }, { id: "file-b.png" }]);
      assert.equal("attachments_failed" in m.metadata, false);
      // Another thread becomes the channel's current session...
      const other = await handle(msg(ch, { conversation: { channel: ch, thread: "2" } }));
      assert.equal((await store.channels.get(c.id))?.activeSessionId, other.sessionId);
      // ...and a redelivery of the files is a duplicate that changes nothing.
      const again = await handle(input);
      assert.equal(again.outcome, "duplicate");
      assert.equal(again.messageId, r.messageId);
      assert.equal(saved.length, before + 2, "not fetched again");
      assert.equal((await store.channels.get(c.id))?.activeSessionId, other.sessionId);
    }
  });

  test("files that could not be had are noted, with the words kept", async () => {
    const ch = freshChannel();
    const r = await handle(
      msg(ch, {
        text: "see",
        attachments: [
          { name: "broken.bin", ref: "x" },
          { name: "ok.txt", ref: "y" },
        ],
      }),
    );
    const m = (await messagesOf(r.sessionId!)).at(-1)!;
    assert.equal(m.content, "see");
    assert.deepStrictEqual(m.metadata.attachments, [{ id: "file-ok.txt" }]);
    assert.deepStrictEqual(m.metadata.attachments_failed, [{ name: "broken.bin", reason: "gone" }]);
  });

  test("without file storage, files are noted by name", async () => {
    const ch = freshChannel();
    const input = msg(ch, {
      text: "look",
      attachments: [
        { name: "a.txt", ref: "r1" },
        { name: "b.txt", ref: "r2" },
      ],
    });
    const r = await handleNoFiles(input);
    assert.equal(r.outcome, "run");
    const m = (await messagesOf(r.sessionId!)).at(-1)!;
    assert.equal(m.content, "look");
    assert.equal("attachments" in m.metadata, false);
    assert.deepStrictEqual(m.metadata.attachments_failed, [
      { name: "a.txt", reason: "files are not stored" },
      { name: "b.txt", reason: "files are not stored" },
    ]);
    assert.equal((await handleNoFiles(input)).outcome, "duplicate");
  });
});

describe("injection: what is written", () => {
  let sessionId: string;
  let bare: string;
  before(async () => {
    const s = await sessions.getOrCreate("default", "inject:with-dispatch", {
      type: "webhook",
      url: "https://example.invalid/hook",
    });
    sessionId = s.session.id;
    bare = (await sessions.getOrCreate("default", "inject:bare")).session.id;
  });

  test("defaults: role user, source api, the session's dispatch, no task without runAgent", async () => {
    const r = await sessions.injectMessage(sessionId, { content: "x", metadata: { k: 1 } });
    assert.equal(r.taskId, null);
    assert.equal(r.duplicate, false);
    const m = await store.messages.get(r.messageId);
    assert.equal(m?.role, "user");
    assert.deepStrictEqual(m?.metadata, { k: 1, source: "api" });
    const run = await sessions.injectMessage(sessionId, {
      content: "y",
      role: "system",
      source: "cli",
      runAgent: true,
    });
    assert.equal((await store.messages.get(run.messageId))?.role, "system");
    assert.deepStrictEqual((await store.messages.get(run.messageId))?.metadata, {
      source: "cli",
    });
    const task = await store.tasks.get(run.taskId!);
    assert.equal(task?.dispatchType, "webhook");
    assert.deepStrictEqual(task?.dispatchConfig, {
      type: "webhook",
      url: "https://example.invalid/hook",
    });
    assert.equal(task?.executionConfig, null);
    assert.equal(task?.callbackConfig, null);
    assert.equal(task?.maxRunSeconds, null);
    assert.equal(task?.prompt, "y");
    assert.equal(task?.messageId, run.messageId);
    assert.equal(task?.botId, "default");
  });

  test("the given dispatch, execution config, callback and limits are the task's", async () => {
    const r = await sessions.injectMessage(bare, {
      content: "z",
      runAgent: true,
      dispatchConfig: { type: "webhook", url: "https://example.invalid/other" },
      executionConfig: { system_preamble: "be brief" },
      callbackConfig: { url: "https://example.invalid/cb" },
      maxRunSeconds: 30,
    });
    const task = await store.tasks.get(r.taskId!);
    assert.equal(task?.dispatchType, "webhook");
    assert.deepStrictEqual(task?.dispatchConfig, {
      type: "webhook",
      url: "https://example.invalid/other",
    });
    assert.deepStrictEqual(task?.executionConfig, { system_preamble: "be brief" });
    assert.deepStrictEqual(task?.callbackConfig, { url: "https://example.invalid/cb" });
    assert.equal(task?.maxRunSeconds, 30);
    // No dispatch anywhere: none.
    const none = await sessions.injectMessage(bare, { content: "n", runAgent: true });
    const t2 = await store.tasks.get(none.taskId!);
    assert.equal(t2?.dispatchType, "none");
    assert.equal(t2?.dispatchConfig, null);
    // A config without a type is dispatched as none (the type names the dispatcher).
    const noType = await sessions.injectMessage(bare, {
      content: "t",
      runAgent: true,
      dispatchConfig: {},
    });
    assert.equal((await store.tasks.get(noType.taskId!))?.dispatchType, "none");
  });

  test("a plan keeps the caller's traceparent, else the active span's (none here)", async () => {
    const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const session = (await store.sessions.get(bare))!;
    assert.equal(planInjection(session, { content: "c", traceparent: tp }).traceparent, tp);
    assert.equal(planInjection(session, { content: "c", traceparent: null }).traceparent, null);
    assert.strictEqual(planInjection(session, { content: "c" }).traceparent, null);
    assert.deepStrictEqual(planInjection(session, { content: "c" }), {
      sessionId: bare,
      botId: "default",
      role: "user",
      content: "c",
      metadata: { source: "api" },
      runAgent: false,
      dispatchType: "none",
      dispatchConfig: null,
      executionConfig: null,
      callbackConfig: null,
      maxRunSeconds: null,
      traceparent: null,
    });
  });

  test("notify false: the turn's result goes nowhere", async () => {
    const r = await sessions.injectMessage(sessionId, {
      content: "quiet",
      runAgent: true,
      notify: false,
    });
    const task = await store.tasks.get(r.taskId!);
    assert.equal(task?.dispatchType, "none");
    assert.equal(task?.dispatchConfig, null);
    const loud = await sessions.injectMessage(sessionId, {
      content: "loud",
      runAgent: true,
      notify: true,
    });
    assert.equal((await store.tasks.get(loud.taskId!))?.dispatchType, "webhook");
  });

  test("a task's task.created rows are written with it and wake the delivery worker", async () => {
    const rowsBefore = taskCreatedRows.length;
    const wakes = outboxWakes;
    const r = await sessions.injectMessage(sessionId, { content: "w", runAgent: true });
    assert.deepStrictEqual(taskCreatedRows.slice(rowsBefore), [
      { sessionId, task: { id: r.taskId, botId: "default" } },
    ]);
    assert.ok(outboxWakes > wakes);
    await sessions.injectMessage(sessionId, { content: "no task" });
    assert.equal(taskCreatedRows.length, rowsBefore + 1);
  });

  test("the receipt: scoped by source by default, first ids on a repeat, fingerprint checked", async () => {
    const key = freshDelivery();
    const first = await sessions.injectMessage(sessionId, {
      content: "a",
      source: "src-x",
      dedupeKey: key,
      runAgent: true,
    });
    assert.equal(await store.receipts.has("src-x", key), true);
    const rows = taskCreatedRows.length;
    const again = await sessions.injectMessage(sessionId, {
      content: "b",
      source: "src-x",
      dedupeKey: key,
      runAgent: true,
    });
    assert.deepStrictEqual(again, {
      messageId: first.messageId,
      sessionId,
      taskId: first.taskId,
      duplicate: true,
    });
    assert.equal(taskCreatedRows.length, rows, "no task for a repeat");
    // Another source, the same key: its own receipt.
    const elsewhere = await sessions.injectMessage(sessionId, {
      content: "c",
      source: "src-y",
      dedupeKey: key,
    });
    assert.equal(elsewhere.duplicate, false);
    // An explicit scope wins over the source.
    const scoped = await sessions.injectMessage(sessionId, {
      content: "d",
      source: "src-y",
      dedupeScope: "scope-z",
      dedupeKey: key,
    });
    assert.equal(scoped.duplicate, false);
    assert.equal(await store.receipts.has("scope-z", key), true);

    const fp = freshDelivery();
    const withFp = await sessions.injectMessage(sessionId, {
      content: "e",
      dedupeKey: fp,
      dedupeFingerprint: "sha-1",
    });
    const sameFp = await sessions.injectMessage(sessionId, {
      content: "e",
      dedupeKey: fp,
      dedupeFingerprint: "sha-1",
    });
    assert.equal(sameFp.duplicate, true);
    assert.equal(sameFp.messageId, withFp.messageId);
    assert.equal(sameFp.taskId, null);
    for (const other of ["sha-2", undefined]) {
      await assert.rejects(
        sessions.injectMessage(sessionId, {
          content: "e",
          dedupeKey: fp,
          ...(other ? { dedupeFingerprint: other } : {}),
        }),
        DedupeKeyReusedError,
      );
    }
    const noFp = freshDelivery();
    await sessions.injectMessage(sessionId, { content: "f", dedupeKey: noFp });
    await assert.rejects(
      sessions.injectMessage(sessionId, { content: "f", dedupeKey: noFp, dedupeFingerprint: "x" }),
      DedupeKeyReusedError,
    );
    const plain = await sessions.injectMessage(sessionId, { content: "f", dedupeKey: noFp });
    assert.equal(plain.duplicate, true);
  });

  test("without a key nothing is deduplicated", async () => {
    const a = await sessions.injectMessage(bare, { content: "same", runAgent: true });
    const b = await sessions.injectMessage(bare, { content: "same", runAgent: true });
    assert.equal(b.duplicate, false);
    assert.notEqual(a.messageId, b.messageId);
    assert.notEqual(a.taskId, b.taskId);
  });

  test("a service without event rows still stores the task", async () => {
    const plain = new SessionService({ store, onTaskCreated: () => {} });
    const r = await plain.injectMessage(bare, { content: "no rows", runAgent: true });
    assert.equal((await store.tasks.get(r.taskId!))?.prompt, "no rows");
  });
});
