/**
 * `switchyard state export [--output file]`: the integrations state (webhooks without
 * secrets, git auto-commit settings, notification history) as JSON, read straight from
 * the database (no server, nothing started or sent). Standard output by default; with
 * `--output`, the file is written atomically (temp file + rename) with mode 0600, since
 * webhook URLs may carry tokens.
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config.ts";
import { integrationsState } from "../events/state.ts";
import { withStore } from "./with-store.ts";

/**
 * Runs the export.
 * @param output file path (relative to the working directory), or undefined for stdout
 * @returns the exit code: 0, or 1 after printing the reason to stderr
 */
export async function stateExport(config: Config, output?: string): Promise<number> {
  return withStore(config, async (store) => {
    try {
      const json = `${JSON.stringify(await integrationsState({ store }), null, 2)}\n`;
      if (!output) {
        // Flushed before the caller exits (pipes are asynchronous on some platforms).
        await new Promise<void>((done) => process.stdout.write(json, () => done()));
        return 0;
      }
      const target = resolve(output);
      const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
      try {
        writeFileSync(temp, json, { mode: 0o600 });
        renameSync(temp, target);
      } finally {
        rmSync(temp, { force: true });
      }
      process.stderr.write(`Wrote the integrations state to ${target}\n`);
      return 0;
    } catch (err) {
      process.stderr.write(`switchyard: state export failed: ${(err as Error).message}\n`);
      return 1;
    }
  });
}
