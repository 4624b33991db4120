/**
 * `GET /api/v1/sessions` and `GET /api/v1/tasks` over real HTTP, on SQLite and PostgreSQL:
 * filters (bot, client_id prefix, status, since), cursor pages newest first that neither
 * repeat nor skip a row even when rows are added between pages, a malformed cursor and an
 * unknown query parameter refused with 400; `GET /api/v1/tasks/{id}` lists its deliveries.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { type CaptureServer, startCaptureServer } from "./support/capture-server.ts";
import { ALL_BACKENDS, runsOn } from "./support/db.ts";

/** Follows next_cursor from `path` (which has a query string) until the last page. */
async function allPages(t: TestApp, path: string, between?: (page: number) => Promise<void>) {
  const pages: any[][] = [];
  let cursor: string | null = null;
  do {
    const r = await t.api("GET", cursor ? `${path}&cursor=${encodeURIComponent(cursor)}` : path);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ["items", "next_cursor"]);
    pages.push(r.body.items);
    cursor = r.body.next_cursor;
    await between?.(pages.length);
  } while (cursor);
  return pages;
}

/** True when `rows` are newest first by (created_at, id). */
function newestFirst(rows: Array<{ created_at: string; id: string }>): boolean {
  return rows.every((r, i) => {
    if (i === 0) return true;
    const p = rows[i - 1]!;
    return p.created_at > r.created_at || (p.created_at === r.created_at && p.id > r.id);
  });
}

for (const backend of ALL_BACKENDS) {
  describe(`listing sessions and tasks (${backend})`, runsOn(backend), () => {
    let t: TestApp;
    let capture: CaptureServer;
    const ids: Record<string, string> = {};
    before(async () => {
      capture = await startCaptureServer();
      t = await startTestApp({ backend });
      const bot = await t.api("POST", "/api/v1/admin/bots", {
        id: "other",
        name: "Other",
        system_prompt: "x",
      });
      assert.equal(bot.status, 201, JSON.stringify(bot.body));
      for (let i = 1; i <= 7; i++) ids[`list-a-${i}`] = await t.session(`list-a-${i}`);
      ids["LIST-A-upper"] = await t.session("LIST-A-upper");
      ids["list-b-1"] = await t.session("list-b-1");
      ids["other:list-a-9"] = await t.session("list-a-9", { bot_id: "other" });
      assert.equal((await t.api("POST", `/api/v1/sessions/${ids["list-a-2"]}/end`)).status, 200);
    });
    after(async () => {
      await t?.close();
      await capture?.close();
    });

    test("sessions: client_id prefix (case-sensitive) paged 3 by 3, newest first, no duplicates or gaps", async () => {
      const pages = await allPages(t, "/api/v1/sessions?client_id=list-a-&bot=default&limit=3");
      assert.deepEqual(
        pages.map((p) => p.length),
        [3, 3, 1],
      );
      const rows = pages.flat();
      assert.ok(newestFirst(rows), "ordered by (created_at, id) descending");
      assert.deepEqual(
        rows.map((r) => r.client_id).sort(),
        [1, 2, 3, 4, 5, 6, 7].map((i) => `list-a-${i}`),
      );
      assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
      assert.deepEqual(Object.keys(rows[0]).sort(), [
        "bot_id",
        "client_id",
        "created_at",
        "dispatch_config",
        "ended_at",
        "id",
      ]);
    });

    test("sessions: a session created between pages shifts nothing", async () => {
      let added = 0;
      const pages = await allPages(t, "/api/v1/sessions?client_id=list-a-&limit=2", async () => {
        if (added < 2) await t.session(`list-a-new-${++added}`);
      });
      const rows = pages.flat().map((r) => r.client_id);
      // The first page is read before anything is added; later pages only go older.
      assert.deepEqual(rows.filter((c) => !c.startsWith("list-a-new")).sort(), [
        "list-a-1",
        "list-a-2",
        "list-a-3",
        "list-a-4",
        "list-a-5",
        "list-a-6",
        "list-a-7",
        "list-a-9",
      ]);
      assert.ok(!rows.some((c) => c.startsWith("list-a-new")), "newer rows are not in older pages");
      assert.equal(new Set(rows).size, rows.length);
      const again = (await t.api("GET", "/api/v1/sessions?client_id=list-a-new-&limit=200")).body;
      assert.equal(again.items.length, 2);
      assert.equal(again.next_cursor, null);
    });

    test("sessions: bot, status and since filters", async () => {
      const other = (await t.api("GET", "/api/v1/sessions?bot=other")).body;
      assert.deepEqual(
        other.items.map((s: any) => s.id),
        [ids["other:list-a-9"]],
      );
      const ended = (await t.api("GET", "/api/v1/sessions?status=ended&client_id=list-")).body;
      assert.deepEqual(
        ended.items.map((s: any) => s.id),
        [ids["list-a-2"]],
      );
      const open = (await t.api("GET", "/api/v1/sessions?status=open&client_id=list-a-")).body;
      assert.ok(!open.items.some((s: any) => s.id === ids["list-a-2"]));
      const upper = (await t.api("GET", "/api/v1/sessions?client_id=LIST-")).body;
      assert.deepEqual(
        upper.items.map((s: any) => s.client_id),
        ["LIST-A-upper"],
      );
      const mid = (await t.api("GET", `/api/v1/sessions/${ids["list-a-5"]}`)).body;
      const since = (
        await t.api(
          "GET",
          `/api/v1/sessions?bot=default&client_id=list-a-&since=${encodeURIComponent(mid.created_at)}&limit=200`,
        )
      ).body;
      assert.ok(since.items.every((s: any) => s.created_at >= mid.created_at));
      assert.ok(since.items.some((s: any) => s.id === ids["list-a-5"]));
      assert.ok(!since.items.some((s: any) => s.id === ids["list-a-1"]));
      const future = (await t.api("GET", "/api/v1/sessions?since=2999-01-01T00:00:00Z")).body;
      assert.deepEqual(future, { items: [], next_cursor: null });
    });

    test("tasks: filters and pages; a task lists its deliveries", async () => {
      const made: string[] = [];
      for (const c of ["list-a-1", "list-a-3", "list-b-1"]) {
        for (let i = 0; i < 2; i++) {
          const r = await t.api("POST", `/api/v1/sessions/${ids[c]}/messages`, {
            content: `hello ${c} ${i}`,
            run_agent: true,
            dispatch_config: { type: "webhook", url: `${capture.url}/result` },
          });
          assert.equal(r.status, 201, JSON.stringify(r.body));
          made.push(r.body.task_id);
        }
      }
      for (const id of made) await t.waitForTask(id);

      const pages = await allPages(t, "/api/v1/tasks?client_id=list-a-&limit=3");
      const rows = pages.flat();
      assert.ok(newestFirst(rows));
      assert.deepEqual(rows.map((r) => r.id).sort(), made.slice(0, 4).sort());
      assert.equal(pages.length, 2);

      const bySession = (await t.api("GET", `/api/v1/tasks?session_id=${ids["list-b-1"]}`)).body;
      assert.deepEqual(bySession.items.map((r: any) => r.id).sort(), made.slice(4).sort());
      const complete = (await t.api("GET", "/api/v1/tasks?status=complete&client_id=list-")).body;
      assert.equal(complete.items.length, 6);
      const failed = (await t.api("GET", "/api/v1/tasks?status=failed&client_id=list-")).body;
      assert.deepEqual(failed.items, []);
      assert.deepEqual((await t.api("GET", "/api/v1/tasks?bot=other")).body.items, []);
      const first = (await t.api("GET", `/api/v1/tasks/${made[0]}`)).body;
      const since = (
        await t.api(
          "GET",
          `/api/v1/tasks?client_id=list-&since=${encodeURIComponent(first.created_at)}&limit=200`,
        )
      ).body;
      assert.ok(since.items.some((x: any) => x.id === made[0]));
      assert.ok(since.items.every((x: any) => x.created_at >= first.created_at));

      // The task links its deliveries: the webhook dispatch of its result.
      const deliveries = (await t.api("GET", `/api/v1/deliveries?task_id=${made[0]}`)).body;
      assert.ok(deliveries.length >= 1);
      assert.equal(first.deliveries_url, `/api/v1/deliveries?task_id=${made[0]}`);
      assert.deepEqual(
        first.deliveries.map((d: any) => d.id).sort(),
        deliveries.map((d: any) => d.id).sort(),
      );
      const dispatch = first.deliveries.find((d: any) => d.target_type === "webhook");
      assert.ok(dispatch, JSON.stringify(first.deliveries));
      assert.deepEqual(Object.keys(dispatch).sort(), [
        "attempts",
        "created_at",
        "id",
        "status",
        "target_type",
      ]);
    });

    test("malformed cursors, unknown parameters and bad limits are refused with 400", async () => {
      const forged = Buffer.from(JSON.stringify({ id: "x" })).toString("base64url");
      for (const path of [
        "/api/v1/sessions?cursor=not%20a%20cursor",
        "/api/v1/sessions?cursor=abc",
        `/api/v1/tasks?cursor=${forged}`,
        "/api/v1/tasks?cursor=",
      ]) {
        const r = await t.api("GET", path);
        assert.equal(r.status, 400, path);
        assert.match(r.body.detail, /cursor/, path);
      }
      for (const path of [
        "/api/v1/sessions?bot_id=default",
        "/api/v1/tasks?sort=asc",
        "/api/v1/tasks?limit=201",
        "/api/v1/sessions?limit=0",
        "/api/v1/tasks?status=done",
        "/api/v1/sessions?since=yesterday",
        "/api/v1/sessions?client_id=a%00b",
      ]) {
        const r = await t.api("GET", path);
        assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
        assert.ok(r.body.detail, path);
      }
      const unknown = await t.api("GET", "/api/v1/tasks?sort=asc");
      assert.match(unknown.body.detail, /sort/);
    });

    test("each list needs its read scope", async () => {
      const { key } = await t.app.store.apiKeys.create("tasks-only", ["tasks:read"]);
      assert.equal((await t.api("GET", "/api/v1/tasks", undefined, { key })).status, 200);
      const r = await t.api("GET", "/api/v1/sessions", undefined, { key });
      assert.equal(r.status, 403);
      assert.deepEqual(r.body, { detail: "Missing required scope: sessions:read" });
    });
  });
}
