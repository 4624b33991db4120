/**
 * The scaffold as a new user meets it: `new integration` prints "Next:" commands that work
 * exactly as printed (from the checkout and from another directory), its secret is declared
 * required where its route refuses without it, and the turn its webhook queues offers the
 * scaffold's own tool and skill to the model.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { startTestApp } from "./support/app.ts";
import { tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

/** The indented command lines after "Next:" in the scaffold's output. */
function nextCommands(out: string): string[] {
  const lines = out.split("\n");
  const start = lines.indexOf("Next:");
  assert.ok(start >= 0, `no "Next:" in:\n${out}`);
  const cmds: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("  ")) break;
    cmds.push(l.trim());
  }
  return cmds;
}

/** Scaffolds `name` from `cwd` into `ws`'s integrations folder and runs each printed command there. */
async function scaffoldAndRunNext(name: string, cwd: string, ws: string): Promise<string[]> {
  const made = await runCommand(join(ROOT, "bin/switchyard"), ["new", "integration", name], cwd, {
    SWITCHYARD_WORKSPACE_DIR: ws,
  });
  assert.equal(made.code, 0, made.err);
  const cmds = nextCommands(made.out);
  assert.ok(
    cmds.some((c) => /\bintegrations check\b/.test(c)),
    made.out,
  );
  assert.ok(
    cmds.some((c) => /\bnpx\b.*\bnode --test\b/.test(c)),
    made.out,
  );
  for (const cmd of cmds) {
    const r = await runCommand("/bin/sh", ["-c", cmd], cwd);
    assert.equal(r.code, 0, `${cmd}\n${r.out}${r.err}`);
    if (/--test/.test(cmd)) assert.match(r.out, /pass 1/, r.out);
    if (/integrations check/.test(cmd)) assert.match(r.out, new RegExp(`^${name}: ok`));
  }
  return cmds;
}

describe("new integration", () => {
  const dir = tempDir("switchyard-scaffold-");
  after(() => dir.remove());

  test("the Next: commands work as printed, from the checkout and from elsewhere", async () => {
    const ws = join(dir.path, "ws-root");
    const fromRoot = await scaffoldAndRunNext("demo", ROOT, ws);
    assert.ok(
      fromRoot.some((c) => c.startsWith("bin/switchyard integrations check ")),
      fromRoot.join("\n"),
    );
    const elsewhere = join(dir.path, "elsewhere");
    mkdirSync(elsewhere);
    await scaffoldAndRunNext("other", elsewhere, join(dir.path, "ws-elsewhere"));
  });

  test("its secret is required, and its webhook's turn offers its own tool and skill", async () => {
    const ws = join(dir.path, "ws-run");
    const made = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["new", "integration", "demo"],
      ROOT,
      { SWITCHYARD_WORKSPACE_DIR: ws },
    );
    assert.equal(made.code, 0, made.err);
    assert.match(
      readFileSync(join(ws, "integrations", "demo", "setup.ts"), "utf8"),
      /required: true/,
    );

    const secret = "demo-shared-secret-0123";
    const t = await startTestApp({
      env: { SWITCHYARD_WORKSPACE_DIR: ws, DEMO_WEBHOOK_SECRET: secret },
    });
    try {
      const list = await t.api("GET", "/api/v1/admin/integrations");
      const demo = list.body.find((i: any) => i.folder === "demo");
      assert.equal(demo.status, "ready", JSON.stringify(demo));
      assert.deepEqual(
        demo.env_vars.map((v: any) => [v.key, v.required]),
        [["DEMO_WEBHOOK_SECRET", true]],
      );

      const res = await fetch(`${t.url}/integrations/demo/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-webhook-secret": secret },
        body: JSON.stringify({ client_id: "alice", text: "please repeat hello" }),
      });
      assert.equal(res.status, 202, await res.clone().text());
      const { task_id } = (await res.json()) as { task_id: string };
      const task = await t.waitForTask(task_id);
      assert.equal(task.status, "complete", JSON.stringify(task));

      const req = t.llm.requests[0]!;
      const tools = (req.tools ?? []).map((x: any) => x.function?.name);
      assert.ok(tools.includes("demo_echo"), `tools offered: ${JSON.stringify(tools)}`);
      const system = req.messages.find((m: any) => m.role === "system")?.content ?? "";
      assert.match(system, /## Skill: Demo\n/);
      assert.match(system, /use the `demo_echo` tool/);
    } finally {
      await t.close();
    }
  });
});
