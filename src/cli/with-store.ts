/** Opening the database for a one-shot CLI command. */
import type { Config } from "../config.ts";
import { Store } from "../store/index.ts";

/**
 * Opens the configured database, runs `fn` with it and closes it, whatever `fn` does.
 * @returns `fn`'s exit code, or 1 after printing "cannot open the database: …" to stderr
 */
export async function withStore(
  config: Config,
  fn: (store: Store) => Promise<number>,
): Promise<number> {
  let store: Store;
  try {
    store = await Store.open(config.databaseUrl);
  } catch (err) {
    process.stderr.write(`switchyard: cannot open the database: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
