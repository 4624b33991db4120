/**
 * `/api/v1/webhooks…` and `/api/v1/events`: event webhook subscriptions (register or
 * update by URL, list, delete) and emitting an event. Secrets are write-only: responses
 * carry `has_secret`. The same service calls back the MCP tools.
 */
import { z } from "zod";
import {
  EVENT_NAMES,
  OutboundInputError,
  type OutboundServices,
} from "../events/outbound-types.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";

/** The part of the outbound services these routes call. */
export type WebhookApiServices = Pick<
  OutboundServices,
  "listWebhooks" | "registerWebhook" | "deleteWebhook" | "emitEvent"
>;

const idParams = z.object({ id: z.string().min(1).max(200) });

/**
 * An event name of {@link EVENT_NAMES}; any other is a schema violation (400) whose detail
 * names it and lists the valid ones.
 */
export const eventName = z.enum(EVENT_NAMES, {
  error: (issue) =>
    `Unknown event: ${String(issue.input).slice(0, 100)}; valid events: ${EVENT_NAMES.join(", ")}`,
});

const registerBody = z.strictObject({
  url: z.string().min(1).max(2048),
  events: z.array(eventName).max(100).optional(),
  secret: z.string().max(1024).optional(),
});

const emitBody = z.strictObject({
  event: eventName,
  payload: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Runs an outbound service call, turning {@link OutboundInputError} into the API's
 * `{detail}` answer with its status (400, 404 or 422).
 */
export async function outboundCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof OutboundInputError) throw new HttpError(err.status, err.message);
    throw err;
  }
}

/** What webhooksApi needs. */
export interface WebhooksApiOptions {
  services: () => WebhookApiServices;
}

/** Registers the webhook subscription and event routes. */
export const webhooksApi = apiPlugin<WebhooksApiOptions>((routes, { services }) => {
  routes.add({
    method: "GET",
    url: "/api/v1/webhooks",
    summary:
      "Event webhook subscriptions: [{id, url, events, has_secret, created_at, updated_at, disabled_at}]",
    scope: "webhooks:read",
    async handler() {
      return services().listWebhooks();
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/webhooks",
    summary:
      "Register an event webhook, or update the one with the same URL (201 created, 200 updated); no events = all events",
    scope: "webhooks:write",
    body: registerBody,
    // No `status` here: RouteTable would override the 200 of an update with it.
    async handler({ body }, reply) {
      const r = await outboundCall(() => services().registerWebhook(body));
      reply.code(r.created ? 201 : 200);
      return r;
    },
  });

  routes.add({
    method: "DELETE",
    url: "/api/v1/webhooks/:id",
    summary: "Delete an event webhook: {removed: true, webhook_id}; 404 when there is none",
    scope: "webhooks:write",
    params: idParams,
    async handler({ params }) {
      const r = await outboundCall(() => services().deleteWebhook(params.id));
      if (!r.removed) throw notFound("Webhook");
      return r;
    },
  });

  routes.add({
    method: "POST",
    url: "/api/v1/events",
    summary:
      "Emit an event to its subscribers; answers after the inline attempts: {event, sent, failed, skipped, deliveries}",
    scope: "webhooks:write",
    body: emitBody,
    async handler({ body }) {
      return outboundCall(() => services().emitEvent(body.event, body.payload ?? {}));
    },
  });
});
