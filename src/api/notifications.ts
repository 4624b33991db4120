/**
 * `/api/v1/notifications` and `/api/v1/git-auto-commit`: send a notification and read the
 * history (newest 200 kept); read and change the git auto-commit settings. Bad input
 * answers 400 (wrong JSON types) or 422 (`{detail}` from the service: unknown channel,
 * priority or event name, missing message or webhook_url, refused destination…).
 */
import { z } from "zod";
import type { GitAutoCommit } from "../events/git-auto-commit.ts";
import type { NotificationService } from "../events/notifications.ts";
import type { NotifyInput } from "../events/outbound-types.ts";
import { apiPlugin } from "../http/routes.ts";
import { NOTIFICATION_HISTORY_LIMIT } from "../store/notifications.ts";
import { outboundCall } from "./webhooks.ts";

/** Types only; the service checks values (and answers 422) so REST and MCP agree. */
const notifyBody = z.strictObject({
  channel: z.string().max(50),
  message: z.string().optional(),
  priority: z.string().max(50).optional(),
  webhook_url: z.string().max(2048).optional(),
  attachments: z.array(z.unknown()).optional(),
  timeout_ms: z.number().int().optional(),
  retry_count: z.number().int().optional(),
});

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(NOTIFICATION_HISTORY_LIMIT).default(50),
});

const gitBody = z.strictObject({
  enabled: z.boolean().optional(),
  on_events: z.array(z.string().max(100)).max(100).optional(),
});

/** What notificationsApi needs. */
export interface NotificationsApiOptions {
  notifications: () => NotificationService;
  git: () => GitAutoCommit;
}

/** Registers the notification and git auto-commit routes. */
export const notificationsApi = apiPlugin<NotificationsApiOptions>(
  (routes, { notifications, git }) => {
    routes.add({
      method: "POST",
      url: "/api/v1/notifications",
      summary:
        "Send a notification (chat and webhook channels: to webhook_url; email: over SMTP) → {success, notification_id, delivered, channel, priority, delivery}",
      scope: "webhooks:write",
      body: notifyBody,
      status: 201,
      async handler({ body }) {
        return outboundCall(() => notifications().notify(body as NotifyInput));
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/notifications",
      summary: "Notification history, newest first (limit, default 50, at most 200)",
      scope: "webhooks:read",
      query: listQuery,
      async handler({ query }) {
        return notifications().list(query.limit);
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/git-auto-commit",
      summary: "Git auto-commit settings: {enabled, on_events}",
      scope: "webhooks:read",
      async handler() {
        return git().get();
      },
    });

    routes.add({
      method: "PUT",
      url: "/api/v1/git-auto-commit",
      summary: "Change git auto-commit settings ({enabled?, on_events?}; omitted fields kept)",
      scope: "admin",
      body: gitBody,
      async handler({ body }) {
        return outboundCall(() => git().set(body));
      },
    });
  },
);
