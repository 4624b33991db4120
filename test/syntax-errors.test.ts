/**
 * A syntax error in an integration's file is reported with its line and column, the same
 * way by the loader (admin API), `integrations check` and `integrations list`; the file is
 * skipped and the rest of the folder (and the server) keeps working. Two kinds: one the
 * import scan finds while stripping types (amaro), one only V8 finds at import.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestApp, type TestApp } from "./support/app.ts";
import { tempDir } from "./support/db.ts";
import { runCommand } from "./support/run.ts";

const ROOT = join(import.meta.dirname, "..");

/** router.ts: the `)` at line 4, column 67 should be `}`. */
const ROUTER = [
  'import type { RouterDefinition } from "switchyard";',
  "",
  "const router: RouterDefinition = async (app) => {",
  '  app.get("/x", { config: { auth: "self" } }, async () => ({ a: 1 );',
  "};",
  "export default router;",
  "",
].join("\n");
const ROUTER_AT = /syntax error at line 4, column 67: Expected ',', got '\)'/;

/** tools/dup.ts: parses, but V8 refuses the second `a` at line 3, column 7. */
const DUP = [
  "const a = 1;",
  "// a comment",
  "const a = 2;",
  'export default { name: "bad_dup", execute: async () => a };',
  "",
].join("\n");
const DUP_AT = /syntax error at line 3, column 7: Identifier 'a' has already been declared/;

describe("syntax errors in integration files", () => {
  const dir = tempDir("switchyard-syntax-");
  const folder = join(dir.path, "bad");
  let t: TestApp;

  before(async () => {
    mkdirSync(join(folder, "tools"), { recursive: true });
    writeFileSync(join(folder, "router.ts"), ROUTER);
    writeFileSync(join(folder, "tools", "dup.ts"), DUP);
    writeFileSync(
      join(folder, "tools", "fine.ts"),
      'export default { name: "bad_fine", execute: async () => "ok" };\n',
    );
    t = await startTestApp({ env: { INTEGRATION_DIRS: dir.path } });
  });
  after(async () => {
    await t?.close();
    dir.remove();
  });

  test("the loader, check and list name the line and column, and the rest loads", async () => {
    const admin = await t.api("GET", "/api/v1/admin/integrations");
    const bad = admin.body.find((i: any) => i.folder === "bad");
    assert.equal(bad.status, "partial", JSON.stringify(bad));
    assert.deepEqual(bad.parts, ["tools"]);
    const reasonOf = (suffix: string) =>
      bad.errors.find((e: any) => e.file.endsWith(suffix))?.reason ?? "";
    assert.match(reasonOf("router.ts"), ROUTER_AT);
    assert.match(reasonOf("dup.ts"), DUP_AT);

    const check = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["integrations", "check", folder],
      dir.path,
    );
    assert.equal(check.code, 1, check.out + check.err);
    const checkLine = (file: string) =>
      check.out.split("\n").filter((l) => l.startsWith(`bad/${file}: `));
    assert.equal(checkLine("router.ts").length, 1, check.out);
    assert.match(checkLine("router.ts")[0]!, ROUTER_AT);
    assert.equal(checkLine("tools/dup.ts").length, 1, check.out);
    assert.match(checkLine("tools/dup.ts")[0]!, DUP_AT);

    const list = await runCommand(
      join(ROOT, "bin/switchyard"),
      ["integrations", "list"],
      dir.path,
      {
        INTEGRATION_DIRS: dir.path,
        SWITCHYARD_DATA_DIR: join(dir.path, "data"),
      },
    );
    assert.equal(list.code, 0, list.err);
    const errors = list.out.split("\n").filter((l) => l.startsWith("    error: bad/"));
    assert.ok(
      errors.some((l) => ROUTER_AT.test(l)),
      list.out,
    );
    assert.ok(
      errors.some((l) => DUP_AT.test(l)),
      list.out,
    );
  });
});
