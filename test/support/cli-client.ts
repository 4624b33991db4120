/** Runs the `switchyard` CLI as a client of a running test server (chat, jobs, …). */
import { join } from "node:path";
import { TEST_API_KEY } from "./app.ts";
import { tempDir } from "./db.ts";
import { type RunResult, runCommand } from "./run.ts";

/** The `bin/switchyard` launcher of this checkout. */
export const SWITCHYARD_BIN = join(import.meta.dirname, "..", "..", "bin/switchyard");

/**
 * Runs `switchyard <args>` as a client of a running test server: in a fresh temp dir (its
 * data dir, removed at exit) with the test API key, `input` (if any) piped to stdin.
 */
export async function runClient(args: string[], input?: string): Promise<RunResult> {
  const dir = tempDir();
  try {
    return await runCommand(
      SWITCHYARD_BIN,
      args,
      dir.path,
      {
        SWITCHYARD_API_KEY: TEST_API_KEY,
        SWITCHYARD_DATA_DIR: dir.path,
        SWITCHYARD_MODEL: "openai-compatible:fake-model",
      },
      input,
    );
  } finally {
    dir.remove();
  }
}
