/**
 * A local S3-compatible server for tests: `s3rver` (npm, dev dependency) on 127.0.0.1, port
 * 0, with one bucket, data in a temp dir. Credentials are s3rver's fixed `S3RVER`/`S3RVER`.
 */
import { tempDir } from "./db.ts";

/** A running S3-compatible server. */
export interface FakeS3 {
  /** `http://127.0.0.1:<port>`: the `S3_ENDPOINT`. */
  endpoint: string;
  bucket: string;
  /** The env that points switchyard's S3 store at it (`s3://<bucket>/<prefix>`). */
  env(prefix: string): Record<string, string>;
  close(): Promise<void>;
}

/** Starts s3rver with bucket `bucket` (≥ 3 characters). */
export async function startFakeS3(bucket = "switchyard-test"): Promise<FakeS3> {
  // s3rver ships no types: imported by a name held in a variable.
  const pkg = "s3rver";
  const { default: S3rver } = (await import(pkg)) as { default: any };
  const dir = tempDir("switchyard-s3-");
  const server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: dir.path,
    configureBuckets: [{ name: bucket }],
  });
  const addr = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${addr.port}`;
  return {
    endpoint,
    bucket,
    env: (prefix) => ({
      SWITCHYARD_ATTACHMENTS: `s3://${bucket}/${prefix}`,
      S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
    }),
    async close() {
      await server.close();
      dir.remove();
    },
  };
}
