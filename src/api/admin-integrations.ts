/**
 * `/api/v1/admin/integrations…` (admin scope): what loaded and how it is configured,
 * settings (write-only secrets: masked on read), manifest sections, and process control.
 */
import { z } from "zod";
import type { AdapterStatus } from "../adapters/host.ts";
import { HttpError, notFound } from "../http/errors.ts";
import { apiPlugin } from "../http/routes.ts";
import {
  type IntegrationManager,
  type IntegrationRecord,
  UnknownSettingError,
} from "../integrations/manager.ts";
import type { ProcessSupervisor } from "../integrations/processes.ts";
import { maskSecret } from "../integrations/settings.ts";

const idParams = z.object({ id: z.string().min(1) });
const putBody = z.strictObject({ settings: z.record(z.string(), z.string()) });

function settingsJson(r: IntegrationRecord) {
  return r.settings.map((s) => ({
    key: s.spec.key,
    value: s.value === undefined ? null : s.spec.secret ? maskSecret(s.value) : s.value,
    is_set: s.value !== undefined,
    source: s.value === undefined ? null : s.source,
    required: s.spec.required ?? false,
    secret: s.spec.secret ?? false,
    description: s.spec.description ?? null,
    /** The manifest's default (never for a secret). */
    default: s.spec.secret ? null : (s.spec.default ?? null),
  }));
}

/** What adminIntegrationsApi needs. */
export interface AdminIntegrationsApiOptions {
  integrations: () => IntegrationManager;
  processes: () => ProcessSupervisor;
  baseUrl: () => string;
  /** The adapter of an integration and how it runs (state, last start error, next try). */
  adapterStatus?: (integration: string) => AdapterStatus | undefined;
}

/** An adapter status on the wire (snake_case; times as ISO strings). */
function adapterJson(a: AdapterStatus | undefined) {
  if (!a) return null;
  return {
    name: a.name,
    kind: a.kind,
    state: a.state,
    error: a.error,
    failures: a.failures,
    next_retry_at: a.nextRetryAt ? new Date(a.nextRetryAt).toISOString() : null,
  };
}

/** Registers the integration admin routes; the getters are read per request. */
export const adminIntegrationsApi = apiPlugin<AdminIntegrationsApiOptions>(
  (routes, { integrations, processes, baseUrl, adapterStatus }) => {
    const get = (id: string) => {
      const r = integrations().get(id);
      if (!r) throw notFound("Integration");
      return r;
    };

    routes.add({
      method: "GET",
      url: "/api/v1/admin/integrations",
      summary: "Integrations: parts, status, settings (is_set, source), webhook URL, load errors",
      scope: "admin",
      async handler() {
        return integrations()
          .list()
          .map((r) => ({
            id: r.metadata.id,
            name: r.metadata.name,
            folder: r.name,
            version: r.metadata.version,
            source: r.dir,
            overrides: r.overrides,
            parts: r.parts,
            status: r.status,
            env_vars: settingsJson(r).map(({ value: _v, ...rest }) => rest),
            webhook_url: r.setup?.webhook ? `${baseUrl()}${r.setup.webhook.path}` : null,
            errors: r.errors,
            warnings: r.warnings,
            process: processes().status(r.name)[0] ?? null,
            adapter: adapterJson(adapterStatus?.(r.name)),
          }));
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/admin/integrations/sidebar-sections",
      summary: "Sidebar sections declared by integrations' setup.ts",
      scope: "admin",
      async handler() {
        return integrations()
          .list()
          .filter((r) => r.setup?.sidebar_section)
          .map((r) => ({ integration: r.name, ...r.setup!.sidebar_section }));
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/admin/integrations/dashboard-modules",
      summary: "Dashboard modules declared by integrations' setup.ts",
      scope: "admin",
      async handler() {
        return integrations()
          .list()
          .flatMap((r) =>
            (r.setup?.dashboard_modules ?? []).map((m) => ({ integration: r.name, ...m })),
          );
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/admin/integrations/:id/settings",
      summary: "An integration's settings; secrets masked",
      scope: "admin",
      params: idParams,
      async handler({ params }) {
        return { settings: settingsJson(get(params.id)) };
      },
    });

    routes.add({
      method: "PUT",
      url: "/api/v1/admin/integrations/:id/settings",
      summary: 'Store settings ({settings: {KEY: value}}; "" deletes); unknown key → 422',
      scope: "admin",
      params: idParams,
      body: putBody,
      async handler({ params, body }) {
        get(params.id);
        try {
          return {
            settings: settingsJson(await integrations().updateSettings(params.id, body.settings)),
          };
        } catch (err) {
          if (err instanceof UnknownSettingError) throw new HttpError(422, err.message);
          throw err;
        }
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/admin/integrations/:id/process",
      summary: "The integration's process status",
      scope: "admin",
      params: idParams,
      async handler({ params }) {
        get(params.id);
        const s = processes().status(params.id)[0];
        if (!s) throw new HttpError(404, "Integration has no process");
        return s;
      },
    });

    routes.add({
      method: "GET",
      url: "/api/v1/admin/integrations/:id/process/output",
      summary:
        "The process's recent output on this instance: [{at, stream: stdout|stderr, line}], the newest 200, oldest first",
      scope: "admin",
      params: idParams,
      async handler({ params }) {
        get(params.id);
        const lines = processes().output(params.id);
        if (!lines) throw new HttpError(404, "Integration has no process");
        return lines;
      },
    });

    for (const action of ["start", "stop", "restart"] as const) {
      routes.add({
        method: "POST",
        url: `/api/v1/admin/integrations/:id/process/${action}`,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} the integration's process`,
        scope: "admin",
        params: idParams,
        async handler({ params }) {
          get(params.id);
          if (!processes().status(params.id)[0])
            throw new HttpError(404, "Integration has no process");
          try {
            return await processes()[action](params.id);
          } catch (err) {
            throw new HttpError(409, (err as Error).message);
          }
        },
      });
    }
  },
);
