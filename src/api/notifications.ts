/**
 * `/api/v1/notifications` and `/api/v1/git-auto-commit`: send a notification and read the
 * history (newest 200 kept); read and change the git auto-commit settings. Input that
 * breaks the schemas answers 400 (wrong types, unknown channel — naming the registered
 * ones, which integrations' `notifier.ts` add to — priority or event name,
 * a blank message, out-of-range numbers); the service's refusals 422 (`{detail}`: a
 * missing webhook_url, a refused destination, no email recipient…).
 */
import { z } from "zod";
import type { GitAutoCommit } from "../events/git-auto-commit.ts";
import {
  NOTIFY_LIMITS,
  type NotificationService,
  unknownChannel,
} from "../events/notifications.ts";
import { NOTIFICATION_PRIORITIES, type NotifyInput } from "../events/outbound-types.ts";
import { apiPlugin } from "../http/routes.ts";
import { NOTIFICATION_HISTORY_LIMIT } from "../store/notifications.ts";
import { eventName, outboundCall } from "./webhooks.ts";

/**
 * What the schema can say is checked here (400 naming the field): channel from the live
 * list `channels()` and priority from its set, a message that is not blank, ranges. The
 * service checks the rest and answers 422 (a chat channel without webhook_url, a URL it
 * refuses, no email recipient, content a channel's notifier refuses); it repeats these
 * checks for the MCP tools.
 */
const notifyBody = (channels: () => string[]) =>
  z.strictObject({
    channel: z
      .string()
      .describe("A registered notification channel: email, webhook, or an integration's")
      .superRefine((c, ctx) => {
        if (!channels().includes(c)) {
          ctx.addIssue({ code: "custom", message: unknownChannel({ channels }) });
        }
      }),
    message: z
      .string()
      .max(NOTIFY_LIMITS.messageChars)
      .refine((m) => m.trim() !== "", "must not be empty"),
    priority: z.enum(NOTIFICATION_PRIORITIES).optional(),
    webhook_url: z.string().max(2048).optional(),
    attachments: z.array(z.unknown()).max(NOTIFY_LIMITS.attachments).optional(),
    timeout_ms: z.number().int().min(1).max(NOTIFY_LIMITS.timeoutMs).optional(),
    retry_count: z.number().int().min(0).max(NOTIFY_LIMITS.retries).optional(),
  });

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(NOTIFICATION_HISTORY_LIMIT).default(50),
});

const gitBody = z.strictObject({
  enabled: z.boolean().optional(),
  on_events: z.array(eventName).max(100).optional(),
});

/** What notificationsApi needs. */
export interface NotificationsApiOptions {
  notifications: () => NotificationService;
  /** The notification channels there are now (`NotifierRegistry.channels`). */
  channels: () => string[];
  git: () => GitAutoCommit;
}

/** Registers the notification and git auto-commit routes. */
export const notificationsApi = apiPlugin<NotificationsApiOptions>(
  (routes, { notifications, channels, git }) => {
    routes.add({
      method: "POST",
      url: "/api/v1/notifications",
      summary:
        "Send a notification (webhook and integrations' channels: POSTed to webhook_url; email: over SMTP) → {success, notification_id, delivered, channel, priority, delivery}",
      scope: "webhooks:write",
      body: notifyBody(channels),
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
