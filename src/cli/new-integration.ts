/**
 * `switchyard new integration <name> [--dir DIR]`: scaffolds a working integration folder
 * (metadata, manifest, settings type, router, a tool, a skill and a test) that passes
 * `switchyard integrations check` and whose own test passes with `node --test`.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { integrationTemplate } from "./templates.ts";

/**
 * Valid integration names: lower-case letters, digits, `-` or `_`, starting with a letter
 * (the name becomes a URL segment, a tool-name prefix and an env-var prefix).
 */
export const INTEGRATION_NAME = /^[a-z][a-z0-9_-]{0,49}$/;

/**
 * Writes the folder `<parentDir>/<name>/`; refuses a bad name or an existing folder.
 * @returns the files written (absolute paths)
 * @throws Error with a message for the user
 */
export function scaffoldIntegration(name: string, parentDir: string): string[] {
  if (!INTEGRATION_NAME.test(name)) {
    throw new Error(
      `invalid integration name "${name}": use lower-case letters, digits, - or _, starting with a letter (at most 50 characters)`,
    );
  }
  const dir = resolve(parentDir, name);
  if (existsSync(dir)) throw new Error(`${dir} already exists; not overwriting it`);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const f of integrationTemplate(name)) {
    const file = join(dir, f.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.content, { flag: "wx" });
    written.push(file);
  }
  return written;
}

/** The switchyard checkout this command runs from (holds bin/switchyard and node_modules). */
const CHECKOUT = resolve(import.meta.dirname, "..", "..");

/** `path` as typed from `cwd`: relative when it lies below `cwd`, else absolute. */
function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/**
 * The commands to run after scaffolding, each working as printed from `cwd`: the check
 * through `bin/switchyard`, and the folder's test through the pinned Node (`npx node`, with
 * `--prefix <checkout>` when `cwd` is outside the checkout, so npx finds that Node; the Node
 * on PATH may be too old to run TypeScript).
 */
export function nextCommands(dir: string, name: string, cwd: string): string[] {
  const inCheckout = cwd === CHECKOUT || cwd.startsWith(CHECKOUT + sep);
  const bin = join(CHECKOUT, "bin", "switchyard");
  const binShown = inCheckout ? shown(bin, cwd) : bin;
  const npx = inCheckout ? "npx" : `npx --prefix ${CHECKOUT}`;
  return [
    `${binShown} integrations check ${shown(dir, cwd)}`,
    `${npx} node --test ${shown(join(dir, `${name}.test.ts`), cwd)}`,
  ];
}

/**
 * The `new integration` command: scaffolds and prints what was created and what to run next.
 * @returns the exit code: 1 for a bad name or an existing folder, else 0
 */
export function newIntegration(name: string, parentDir: string): number {
  let files: string[];
  try {
    files = scaffoldIntegration(name, parentDir);
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  const dir = resolve(parentDir, name);
  const width = Math.max(...integrationTemplate(name).map((f) => f.path.length));
  const lines = [
    `Created integration ${name} in ${dir}:`,
    ...integrationTemplate(name).map((f) => `  ${f.path.padEnd(width)}  ${f.about}`),
    "",
    "Next:",
    ...nextCommands(dir, name, process.cwd()).map((c) => `  ${c}`),
    `The server discovers it when ${resolve(parentDir)} is in INTEGRATION_DIRS or is the workspace's integrations/ folder.`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return files.length ? 0 : 1;
}
