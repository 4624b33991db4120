/**
 * Replays a GitHub webhook payload against switchyard, signed like GitHub signs it
 * (`X-Hub-Signature-256: sha256=hex(HMAC-SHA256(secret, body))`,
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
 *
 *   npx node scripts/github-replay.ts --event pull_request \
 *     --url http://127.0.0.1:8080/integrations/github/webhook \
 *     --secret "$GITHUB_WEBHOOK_SECRET" scripts/samples/github-pull_request-opened.json
 *
 * `scripts/samples/` holds a sample payload (a pull request opened in
 * Codertocat/Hello-World, the repository of GitHub's own webhook examples); any payload
 * from a repository's Settings → Webhooks → Recent Deliveries works too.
 *
 * The body is the file's bytes as they are. X-GitHub-Delivery is a random UUID unless
 * `--delivery` is given (send the same one twice to see the duplicate answer). Prints the
 * HTTP status and the response body; exits 0 for a 2xx answer, 1 otherwise, 2 for bad usage.
 */
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** A payload that ships with the script (relative to the checkout). */
const SAMPLE = "scripts/samples/github-pull_request-opened.json";

const USAGE =
  "usage: github-replay.ts --event NAME [--url URL] [--secret SECRET] [--delivery ID] payload.json\n" +
  "  --url       default http://127.0.0.1:8080/integrations/github/webhook\n" +
  "  --secret    default $GITHUB_WEBHOOK_SECRET\n" +
  "  --delivery  X-GitHub-Delivery (default a random UUID)\n" +
  "example (a sample payload that ships with switchyard):\n" +
  `  npx node scripts/github-replay.ts --event pull_request ${SAMPLE}`;

/** Parses argv; exits 2 with the usage on bad arguments. */
function parse() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        url: { type: "string", default: "http://127.0.0.1:8080/integrations/github/webhook" },
        event: { type: "string" },
        secret: { type: "string" },
        delivery: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const { values, positionals } = parse();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const secret = values.secret ?? process.env.GITHUB_WEBHOOK_SECRET;
if (!secret) {
  console.error(`no secret: pass --secret or set GITHUB_WEBHOOK_SECRET\n${USAGE}`);
  process.exit(2);
}
if (!values.event || positionals.length !== 1) {
  console.error(USAGE);
  process.exit(2);
}

const body = readFileSync(positionals[0]!);
const delivery = values.delivery ?? randomUUID();
try {
  const res = await fetch(values.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/switchyard-replay",
      "x-github-event": values.event,
      "x-github-delivery": delivery,
      "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
    },
    body,
  });
  console.log(`${res.status} ${await res.text()}`);
  console.error(`X-GitHub-Delivery: ${delivery}`);
  process.exitCode = res.ok ? 0 : 1;
} catch (err) {
  console.error(`request failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
