/**
 * The integration commands of the CLI, run for real through bin/switchyard:
 * `new integration` scaffolds a folder that passes `integrations check` and whose own test
 * passes; `check` names every broken file; `list` shows what the server would load, with
 * statuses, errors and overriding by folder name.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

/** The table row of `name` in `integrations list` output, with its indented detail lines. */
function rowOf(out: string, name: string): string {
  const lines = out.split("\n");
  const i = lines.findIndex((l) => l.startsWith(`${name} `));
  assert.ok(i >= 0, `no row for ${name} in:\n${out}`);
  const block = [lines[i]!];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith("    ")) break;
    block.push(l);
  }
  return block.join("\n");
}

describe("integration CLI", () => {
  const dir = tempDir("switchyard-cli-integrations-");
  const a = join(dir.path, "a");
  const b = join(dir.path, "b");
  const run = (args: string[], env: Record<string, string> = {}) =>
    runCommand(join(ROOT, "bin/switchyard"), args, dir.path, {
      SWITCHYARD_LOG_LEVEL: "warn",
      ...env,
    });

  before(() => {
    // A broken folder: a tool with no execute, a route without config.auth, a dispatcher
    // without postMessage, a notifier taking core's channel name; and a skill without front
    // matter (a warning, not a problem).
    const broken = join(a, "broken");
    mkdirSync(join(broken, "tools"), { recursive: true });
    mkdirSync(join(broken, "skills"), { recursive: true });
    writeFileSync(
      join(broken, "tools", "noexec.ts"),
      'export default { name: "broken_noexec", description: "x", parameters: { type: "object", properties: {} } };\n',
    );
    writeFileSync(
      join(broken, "router.ts"),
      [
        "export default async function (app) {",
        '  app.get("/fine", { config: { auth: "self" } }, async () => ({}));',
        '  app.get("/open", async () => ({}));',
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(broken, "dispatcher.ts"),
      "export default () => ({ deliver: async () => {} });\n",
    );
    writeFileSync(
      join(broken, "notifier.ts"),
      'export default () => ({ channel: "webhook", body: (c) => c });\n',
    );
    writeFileSync(join(broken, "skills", "loose.md"), "Just text, no front matter.\n");
  });
  after(() => dir.remove());

  test("new integration scaffolds a folder that passes check, and its own test passes", async () => {
    const made = await run(["new", "integration", "demo", "--dir", a]);
    assert.equal(made.code, 0, made.err);
    for (const f of [
      "package.json",
      "index.ts",
      "setup.ts",
      "config.ts",
      "router.ts",
      "tools/demo_echo.ts",
      "skills/demo.md",
      "demo.test.ts",
    ]) {
      assert.ok(existsSync(join(a, "demo", f)), f);
      assert.match(made.out, new RegExp(`^  ${f.replace(".", "\\.")}\\s`, "m"));
    }

    const check = await run(["integrations", "check", join(a, "demo")]);
    assert.equal(check.code, 0, check.out + check.err);
    assert.match(check.out, /^demo: ok/);
    assert.match(check.out, /POST \/integrations\/demo\/webhook \(self\)/);
    assert.match(check.out, /GET \/integrations\/demo\/status \(sessions:read\)/);
    assert.match(check.out, /tools:\s+demo_echo/);

    const own = await runCommand(
      process.execPath,
      ["--test", join(a, "demo", "demo.test.ts")],
      ROOT,
      {},
    );
    assert.equal(own.code, 0, own.out + own.err);
    assert.match(own.out, /pass 1/);

    const [again, bad] = await Promise.all([
      run(["new", "integration", "demo", "--dir", a]),
      run(["new", "integration", "Not_Valid", "--dir", a]),
    ]);
    assert.equal(again.code, 1);
    assert.match(again.err, /already exists; not overwriting/);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /invalid integration name/);
  });

  test("new integration without --dir writes to the workspace's integrations folder", async () => {
    const ws = join(dir.path, "ws");
    const r = await run(["new", "integration", "wsdemo"], { SWITCHYARD_WORKSPACE_DIR: ws });
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(ws, "integrations", "wsdemo", "router.ts")));
  });

  test("check exits 1 and names each broken file", async () => {
    const r = await run(["integrations", "check", join(a, "broken")]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^broken\/tools\/noexec\.ts: .*execute must be a function/m);
    assert.match(
      r.out,
      /^broken\/router\.ts: route GET \/integrations\/broken\/open .*config\.auth/m,
    );
    assert.doesNotMatch(r.out, /\/fine/);
    assert.match(r.out, /^broken\/dispatcher\.ts: .*postMessage/m);
    assert.match(r.out, /^broken\/notifier\.ts: notification channel "webhook" is core's own$/m);
    assert.match(r.out, /^warning: broken\/skills\/loose\.md: .*front matter/m);
    assert.match(r.out, /4 problems/);

    const missing = await run(["integrations", "check", join(dir.path, "nowhere")]);
    assert.equal(missing.code, 1);
    assert.match(missing.out, /no such folder/);
  });

  test("list shows each integration's status and errors; a later source overrides by folder name", async () => {
    if (!existsSync(join(a, "demo"))) await run(["new", "integration", "demo", "--dir", a]);
    const second = await run(["new", "integration", "demo", "--dir", b]);
    assert.equal(second.code, 0, second.err);

    const [r, swapped] = await Promise.all([
      run(["integrations", "list"], { INTEGRATION_DIRS: `${a}:${b}`, DEMO_WEBHOOK_SECRET: "s" }),
      run(["integrations", "list"], { INTEGRATION_DIRS: `${b}:${a}`, DEMO_WEBHOOK_SECRET: "s" }),
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^NAME\s+STATUS\s+PARTS\s+FOLDER$/m);
    const demo = rowOf(r.out, "demo");
    assert.match(demo, /^demo\s+ready\s+index, setup, config, router, tools, skills\s+/);
    assert.ok(demo.split("\n")[0]!.endsWith(join(b, "demo")), demo);
    assert.match(demo, new RegExp(`overrides: ${join(a, "demo")}`));
    const broken = rowOf(r.out, "broken");
    assert.match(broken, /^broken\s+(partial|error)\s/);
    assert.match(broken, /error: broken\/tools\/noexec\.ts: .*execute must be a function/);
    assert.match(broken, /error: broken\/router(\.ts)?: .*GET \/integrations\/broken\/open/);
    assert.match(broken, /error: broken\/dispatcher(\.ts)?: .*postMessage/);
    assert.match(broken, /error: broken\/notifier(\.ts)?: .*"webhook" is core's own/);

    assert.ok(rowOf(swapped.out, "demo").split("\n")[0]!.endsWith(join(a, "demo")), swapped.out);
  });
});
