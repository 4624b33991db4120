/**
 * The integrations state (seed 003 `getIntegrationState`): webhooks without secrets, the
 * git auto-commit settings and the notification history, in one JSON object.
 *
 * `version` and `updated_at` (seed 003 keeps both at the top of the state):
 * - `version` is the settings revision: 1 + the sum of the versions of the settings
 *   documents in `integrations_state` (`git_auto_commit`…), so it is 1 for a fresh state (as
 *   in the seed) and grows by one with every settings write.
 * - `updated_at` is the latest change of any part: the settings documents' `updated_at`,
 *   the webhooks' `updated_at`, the notifications' `created_at` and their deliveries'
 *   `delivered_at` (ISO 8601; the Unix epoch when there is nothing at all). Compare it to
 *   learn whether anything changed; a deleted webhook leaves no time behind, though.
 */
import type { Store } from "../store/index.ts";
import { loadGitAutoCommitConfig } from "./git-auto-commit.ts";
import { notificationRecord } from "./notifications.ts";
import type { IntegrationsState, WebhookSummary } from "./outbound-types.ts";
import { webhookSummary } from "./webhook-subscriptions.ts";

/** Where the state comes from. */
export interface IntegrationsStateSources {
  store: Store;
  /**
   * The webhook subscriptions without secrets (the subscription service's list); default:
   * read from the store (for `switchyard state export`, which runs no service).
   */
  listWebhooks?: () => Promise<WebhookSummary[]>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The stored subscriptions without secrets, for callers without a subscription service. */
function readWebhooks(store: Store): Promise<WebhookSummary[]> {
  return store.webhookSubscriptions.list().then((subs) => subs.map(webhookSummary));
}

/**
 * Assembles the whole state (see the module comment for `version` and `updated_at`).
 * @throws database errors, and whatever `listWebhooks` throws
 */
export async function integrationsState(src: IntegrationsStateSources): Promise<IntegrationsState> {
  const { store } = src;
  const [webhooks, git, notifications, docs] = await Promise.all([
    src.listWebhooks ? src.listWebhooks() : readWebhooks(store),
    loadGitAutoCommitConfig(store),
    store.notifications.list(),
    store.stateDocs.summary(),
  ]);
  let latest = docs.updatedAt;
  for (const w of webhooks) latest = Math.max(latest, Date.parse(w.updated_at) || 0);
  for (const n of notifications) {
    latest = Math.max(latest, n.createdAt, n.delivery?.deliveredAt ?? 0);
  }
  return {
    version: 1 + docs.versionSum,
    updated_at: iso(latest),
    webhooks,
    git_auto_commit: git.value,
    notifications: notifications.map(notificationRecord),
  };
}
