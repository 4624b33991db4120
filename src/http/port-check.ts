/**
 * A start-up check that HOST:PORT can be listened on, made before anything else starts:
 * `serve` runs it before the database is opened, so a port that is taken leaves no
 * database file, tables, API key or default bot behind.
 */
import { createServer } from "node:net";

/**
 * Listens on `host`:`port` and closes again at once. Port 0 (any free port) always passes.
 * A port taken between this check and the real listen still fails the start, later.
 * @throws the listen error (`EADDRINUSE`, `EACCES`, `ENOTFOUND` for an unknown host…)
 */
export async function checkCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen({ host, port }, resolve);
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}
