/**
 * The `github` dispatcher: posts a finished task's answer as a comment on the issue or
 * pull request named by its dispatch config `{type: "github", repo: "owner/name", number}`
 * (set by router.ts).
 *
 * Idempotent across outbox retries: each comment ends with a hidden marker holding the
 * outbox delivery id and the part index (`<!-- switchyard-github delivery=<id> part=i/n -->`).
 * Every attempt first lists the newest comments and posts only the parts whose
 * marker is not there yet, and the POST itself is never retried inline, so a time-out
 * after GitHub stored the comment never posts it twice (../shared/REFERENCE.md, "Unknown
 * outcome").
 *
 * Errors thrown are the server's `ctx.errors.DeliveryError`, carrying `retryable`, `status`
 * and `retryAfterMs` for the outbox: 5xx, 408, 429, rate-limited 403, time-outs and network
 * errors are retried on its schedule; a bad dispatch config, a missing token, a repository
 * outside GITHUB_REPO_ALLOWLIST and other 4xx are final (`retryable: false`, the delivery
 * is dead with the reason recorded).
 *
 * A failed or cancelled task posts nothing (its internal error stays in switchyard), nor
 * does an empty answer.
 */
import type { DeliveryError, DispatcherDefinition, IntegrationContext } from "switchyard";
import { type GithubFailure, parseNumber, parseRepo, type RepoRef, repoAllowed } from "./_api.ts";
import { commentBodies, findMarkers, postComment } from "./_comments.ts";
import { deliveryMarker, MESSAGE_MARKER } from "./_text.ts";

/** The outbox's error for a failed GitHub call, keeping its status, retryability and wait. */
function deliveryError(ctx: IntegrationContext, f: GithubFailure): DeliveryError {
  return new ctx.errors.DeliveryError(f.error, {
    retryable: f.retryable,
    status: f.status,
    ...(f.retryAfterMs !== undefined ? { retryAfterMs: f.retryAfterMs } : {}),
  });
}

/** Where a comment goes, from a dispatch config. @throws a final error when it is unusable */
function targetOf(ctx: IntegrationContext, config: Record<string, unknown>) {
  const repo = parseRepo(config.repo);
  const number = parseNumber(config.number);
  const final = (error: string) => new ctx.errors.DeliveryError(error, { retryable: false });
  if (!repo || !number) {
    throw final('github dispatch config needs {repo: "owner/name", number: <issue or PR number>}');
  }
  if (!repoAllowed(ctx.settings, repo)) {
    throw final(`refused: ${repo.full} is not in GITHUB_REPO_ALLOWLIST`);
  }
  if (!ctx.settings.GITHUB_TOKEN) throw final("GITHUB_TOKEN is not set");
  return { repo, number };
}

/** Posts `bodies` in order, skipping those whose marker was already posted. @throws on failure */
async function postMissing(
  ctx: IntegrationContext,
  repo: RepoRef,
  number: number,
  bodies: string[],
  markers: string[],
): Promise<number> {
  const found = await findMarkers(ctx, repo, number, markers);
  if (!(found instanceof Set)) throw deliveryError(ctx, found);
  let posted = 0;
  for (const [i, body] of bodies.entries()) {
    if (found.has(markers[i]!)) continue;
    const failure = await postComment(ctx, repo, number, body);
    if (failure) throw deliveryError(ctx, failure);
    posted++;
  }
  return posted;
}

const dispatcher: DispatcherDefinition = (ctx) => ({
  async deliver(task, result, opts) {
    const { repo, number } = targetOf(ctx, task.dispatch_config);
    if (task.status === "failed" || task.status === "cancelled" || !result.trim()) {
      ctx.log.info(
        { task_id: task.id, status: task.status, repo: repo.full, number },
        "github: nothing to post",
      );
      return;
    }
    const markers: string[] = [];
    const bodies = commentBodies(result, (part, parts) => {
      const m = deliveryMarker(opts.deliveryId, part, parts);
      markers.push(m);
      return m;
    });
    const posted = await postMissing(ctx, repo, number, bodies, markers);
    ctx.log.info(
      { task_id: task.id, repo: repo.full, number, parts: bodies.length, posted },
      "github: answer posted",
    );
  },

  async postMessage(config, text) {
    try {
      const { repo, number } = targetOf(ctx, config);
      if (!text.trim()) return false;
      for (const body of commentBodies(text, () => MESSAGE_MARKER)) {
        const failure = await postComment(ctx, repo, number, body);
        if (failure) throw deliveryError(ctx, failure);
      }
      return true;
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message }, "github: postMessage failed");
      return false;
    }
  },
});

export default dispatcher;
