/**
 * `switchyard keys list` and `switchyard keys revoke <id|name>`, straight on the database
 * (the server need not run). Neither ever prints a key or its hash. A running server
 * refuses a key revoked here once its lookup cache expires (5 s); revoking through
 * `DELETE /api/v1/admin/keys/{id}` takes effect at once on the instance that answers.
 */
import type { Config } from "../config.ts";
import type { ApiKeyListing } from "../store/api-keys.ts";
import { withStore } from "./with-store.ts";

const iso = (ms: number | null) => (ms == null ? "never" : new Date(ms).toISOString());

/**
 * Prints the keys in force: a table (id, name, scopes, created, last used), or with `json`
 * the same fields as `GET /api/v1/admin/keys`.
 * @returns the exit code: 0, or 1 when the database cannot be opened
 */
export async function keysList(config: Config, opts: { json?: boolean }): Promise<number> {
  return withStore(config, async (store) => {
    const keys = await store.apiKeys.list();
    const text = opts.json ? `${JSON.stringify(keys.map(listingJson), null, 2)}\n` : table(keys);
    await new Promise<void>((done) => process.stdout.write(text, () => done()));
    return 0;
  });
}

/**
 * Revokes the key with this id or, failing that, the only key in force with this name.
 * @returns the exit code: 0 when revoked; 1 when none matches or the name is ambiguous
 */
export async function keysRevoke(config: Config, idOrName: string): Promise<number> {
  return withStore(config, async (store) => {
    const keys = await store.apiKeys.list();
    let target = keys.find((k) => k.id === idOrName);
    if (!target) {
      const named = keys.filter((k) => k.name === idOrName);
      if (named.length > 1) {
        process.stderr.write(
          `${named.length} keys are named "${idOrName}"; revoke one by id: ${named.map((k) => k.id).join(", ")}\n`,
        );
        return 1;
      }
      target = named[0];
    }
    if (!target || !(await store.apiKeys.revoke(target.id))) {
      process.stderr.write(`No API key in force has the id or name "${idOrName}"\n`);
      return 1;
    }
    process.stderr.write(`Revoked key "${target.name}" (${target.id}).\n`);
    return 0;
  });
}

function listingJson(k: ApiKeyListing) {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    created_at: new Date(k.createdAt).toISOString(),
    last_used_at: k.lastUsedAt == null ? null : new Date(k.lastUsedAt).toISOString(),
  };
}

function table(keys: ApiKeyListing[]): string {
  if (keys.length === 0) return "No API keys in the database.\n";
  const rows = [
    ["ID", "NAME", "SCOPES", "CREATED", "LAST USED"],
    ...keys.map((k) => [k.id, k.name, k.scopes.join(","), iso(k.createdAt), iso(k.lastUsedAt)]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows.map((r) => `${r.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd()).join("\n") +
    "\n"
  );
}
