// Mutation testing (issue 16 item 3) with StrykerJS and its tap runner: each test file runs
// as its own `node --test-reporter=tap <file>` process on Node 24's type stripping (no build),
// and each mutant runs only the files of its module's list that covered it in the dry run.
//
// Run it with `npm run mutate` (scripts/mutate.ts runs Stryker once per module, so a mutant
// is tried only against that module's tests); `npx stryker run` alone mutates every module
// against the union of their tests. SWITCHYARD_MUTATE_MODULE=<name> selects one module.
// Reports: reports/mutation/<module>.html (and .json). Not part of `npm test`.

/**
 * The modules that carry switchyard's promises, each with the test files that exercise it.
 * Globs of files that may not exist yet are fine (they match nothing). Tests added to kill
 * surviving mutants live in `test/*-mutants.test.ts`.
 */
export const modules = {
  "task-queue": {
    mutate: ["src/tasks/worker.ts", "src/store/tasks.ts", "src/store/task-leases.ts"],
    tests: [
      "test/task-queue-mutants.test.ts",
      "test/store.test.ts",
      "test/flow.test.ts",
      "test/listing.test.ts",
      "test/task-lease*.test.ts",
      "test/cancel*.test.ts",
    ],
  },
  outbox: {
    mutate: [
      "src/outbox/worker.ts",
      "src/outbox/destination-slots.ts",
      "src/store/deliveries.ts",
      // The retry schedule: each delay ±20 %, the floor after a 429 or timeout, Retry-After.
      "src/outbox/retry-policy.ts",
    ],
    // The fast file first: a mutant stops at the first file that fails.
    tests: [
      "test/outbox-mutants.test.ts",
      "test/store.test.ts",
      "test/webhooks.test.ts",
      "test/hook-webhooks.test.ts",
      "test/webhooks-events.test.ts",
      "test/dispatch-contract.test.ts",
      "test/outbox-schedule*.test.ts",
    ],
  },
  "http-client": {
    mutate: ["src/outbox/http-client.ts", "src/outbox/http-attempt.ts"],
    tests: [
      "test/http-client.test.ts",
      "test/webhooks-ssrf.test.ts",
      "test/http-client-mutants.test.ts",
    ],
  },
  ssrf: {
    mutate: ["src/outbox/ssrf.ts"],
    tests: [
      "test/ssrf.test.ts",
      "test/http-client.test.ts",
      "test/webhooks-ssrf.test.ts",
      "test/ssrf-mutants.test.ts",
    ],
  },
  signing: {
    mutate: ["src/outbox/signing.ts", "src/http/verify.ts"],
    tests: [
      "test/verify.test.ts",
      "test/webhooks.test.ts",
      "test/github.test.ts",
      "test/signing-mutants.test.ts",
    ],
  },
  redaction: {
    mutate: ["src/lib/redact.ts"],
    tests: [
      "test/ssrf.test.ts",
      "test/webhooks.test.ts",
      "test/notifications.test.ts",
      "test/redaction*.test.ts",
    ],
  },
  approvals: {
    // The policy (who waits), the service (park, decide as compare-and-set, expiry sweep)
    // and how an approval is shown (arguments with secrets masked).
    mutate: ["src/approvals/policy.ts", "src/approvals/service.ts", "src/approvals/view.ts"],
    // The fast file first: a mutant stops at the first file that fails. The two-instance
    // suite is left out: what it adds (the compare-and-set) lives in src/store/approvals.ts.
    tests: [
      "test/approvals-mutants.test.ts",
      "test/approvals.test.ts",
      "test/approvals-webhook-adapter.test.ts",
    ],
  },
  scheduler: {
    mutate: [
      "src/scheduler/schedule.ts",
      "src/scheduler/runner.ts",
      "src/scheduler/service.ts",
      "src/scheduler/loop.ts",
      "src/scheduler/sync.ts",
    ],
    // The fast file first (a mutant stops at the first file that fails); not the admin UI's
    // browser suite (admin-ui-jobs), which reaches the scheduler only through REST.
    tests: [
      "test/scheduler-mutants.test.ts",
      "test/scheduler-runner-mutants.test.ts",
      "test/jobs.test.ts",
    ],
  },
  "adapter-dedupe": {
    mutate: [
      // The adapter handler: one delivery id → one message, a redelivery answers `duplicate`.
      "src/adapters/inbound.ts",
      // The receipt at the door of every inject (the batch's claims, fingerprint check, writes).
      "src/sessions/inject-write.ts",
    ],
    tests: [
      "test/adapter-dedupe-mutants.test.ts",
      "test/bulk-write.test.ts",
      "test/adapter-host.test.ts",
      "test/inbound-dedupe*.test.ts",
      "test/webhook-adapter.test.ts",
    ],
  },
  "inbound-dedupe": {
    mutate: [
      "src/store/inbound-receipts.ts",
      // The dedupe part of an injection: the receipt's claim and stamp (inject-write.ts).
      "src/sessions/inject-write.ts",
    ],
    // The fast files first (a mutant stops at the first failing file): the multi-row claim
    // and writes, then the adapter handler's, which reads receipts back.
    tests: [
      "test/bulk-write.test.ts",
      "test/adapter-dedupe-mutants.test.ts",
      "test/group-commit.test.ts",
      "test/inbound-dedupe*.test.ts",
      "test/idempotency-key.test.ts",
      "test/github.test.ts",
      "test/store.test.ts",
    ],
  },
};

const selected = process.env.SWITCHYARD_MUTATE_MODULE;
if (selected && !(selected in modules)) {
  throw new Error(`unknown module ${selected}; known: ${Object.keys(modules).join(", ")}`);
}
const chosen = selected ? [modules[selected]] : Object.values(modules);
const report = `reports/mutation/${selected ?? "all"}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "tap",
  plugins: ["@stryker-mutator/tap-runner"],
  tap: {
    testFiles: [...new Set(chosen.flatMap((m) => m.tests))],
    // `node` is Node 24 here because npm/npx put node_modules/.bin first on PATH.
    nodeArgs: ["--test-reporter=tap", "-r", "{{hookFile}}", "{{testFile}}"],
    forceBail: true,
  },
  mutate: chosen.flatMap((m) => m.mutate),
  coverageAnalysis: "perTest",
  // Two cores: keep at most two test processes (override with --concurrency).
  concurrency: 2,
  // Tests poll and run servers; a slow machine must not turn a survivor into a "timeout".
  timeoutMS: 15_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `${report}.html` },
  jsonReporter: { fileName: `${report}.json` },
  clearTextReporter: { allowEmojis: false, logTests: false },
  tempDirName: ".stryker-tmp",
  // Another run's sandbox (--tempDirName .stryker-tmp-2) is not part of the project.
  ignorePatterns: [".stryker-tmp*", "reports"],
  cleanTempDir: true,
};
