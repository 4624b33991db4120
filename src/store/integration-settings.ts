/**
 * Integration settings stored in the database (set through the admin API). They win over
 * the environment. With `SWITCHYARD_SECRET_KEY` set, every value is encrypted at rest with
 * AES-256-GCM (key = SHA-256 of the secret key; a fresh 12-byte IV per value).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "./schema.ts";

/** Thrown when a stored value cannot be decrypted (wrong or missing SWITCHYARD_SECRET_KEY). */
export class SettingDecryptError extends Error {}

function keyOf(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Encrypts `plain` as `v1:<iv>:<tag>:<ciphertext>` (base64 parts). */
export function encryptSetting(plain: string, secret: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", keyOf(secret), iv);
  const data = Buffer.concat([c.update(plain, "utf8"), c.final()]);
  return `v1:${iv.toString("base64")}:${c.getAuthTag().toString("base64")}:${data.toString("base64")}`;
}

/** Reverses {@link encryptSetting}. @throws SettingDecryptError */
export function decryptSetting(stored: string, secret: string | undefined): string {
  const [v, iv, tag, data] = stored.split(":");
  if (v !== "v1" || !iv || !tag || data === undefined || !secret) {
    throw new SettingDecryptError(
      "stored setting is encrypted and SWITCHYARD_SECRET_KEY is missing or wrong",
    );
  }
  try {
    const d = createDecipheriv("aes-256-gcm", keyOf(secret), Buffer.from(iv, "base64"));
    d.setAuthTag(Buffer.from(tag, "base64"));
    return Buffer.concat([d.update(Buffer.from(data, "base64")), d.final()]).toString("utf8");
  } catch {
    throw new SettingDecryptError(
      "stored setting is encrypted and SWITCHYARD_SECRET_KEY is missing or wrong",
    );
  }
}

/** Repository of stored integration settings. */
export class IntegrationSettingsRepository {
  readonly #db: Kysely<Database>;
  readonly #secret: string | undefined;
  /** @param secretKey `SWITCHYARD_SECRET_KEY`: values are encrypted at rest when given */
  constructor(db: Kysely<Database>, secretKey: string | undefined) {
    this.#db = db;
    this.#secret = secretKey;
  }

  /**
   * Every stored value of `integration`, decrypted. A value that cannot be decrypted is
   * left out and reported through `onError` (it then resolves from the environment).
   */
  async get(
    integration: string,
    onError: (key: string, err: Error) => void = () => {},
  ): Promise<Record<string, string>> {
    const rows = await this.#db
      .selectFrom("integration_settings")
      .selectAll()
      .where("integration", "=", integration)
      .execute();
    const out: Record<string, string> = {};
    for (const r of rows) {
      try {
        out[r.key] = Number(r.encrypted) ? decryptSetting(r.value, this.#secret) : r.value;
      } catch (err) {
        onError(r.key, err as Error);
      }
    }
    return out;
  }

  /**
   * Stores (or, with `""`, deletes) each value in one transaction (the caller's, when this
   * repository is bound to one).
   */
  async put(integration: string, values: Record<string, string>): Promise<void> {
    const now = Date.now();
    const write = async (trx: Kysely<Database>) => {
      for (const [key, value] of Object.entries(values)) {
        await trx
          .deleteFrom("integration_settings")
          .where("integration", "=", integration)
          .where("key", "=", key)
          .execute();
        if (value === "") continue;
        await trx
          .insertInto("integration_settings")
          .values({
            integration,
            key,
            value: this.#secret ? encryptSetting(value, this.#secret) : value,
            encrypted: this.#secret ? 1 : 0,
            updated_at: now,
          })
          .execute();
      }
    };
    if (this.#db.isTransaction) await write(this.#db);
    else await this.#db.transaction().execute(write);
  }
}
