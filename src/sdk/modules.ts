/** The shapes of an integration folder's files (DESIGN §5), other than tools, dispatchers and hooks. */
import type { FastifyInstance } from "fastify";
import type { IntegrationContext } from "./context.ts";

/** `index.ts`: optional metadata. */
export interface IntegrationMetadata {
  id?: string;
  name?: string;
  version?: string;
}

/**
 * `router.ts`: a Fastify plugin mounted at `/integrations/<name>/`. Every route must state
 * its auth in `config.auth`: `"self"` (the integration verifies the caller, e.g. a
 * webhook signature over `req.rawBody`) or an API scope such as `"sessions:write"`.
 */
export type RouterDefinition = (
  app: FastifyInstance,
  ctx: IntegrationContext,
) => Promise<void> | void;

/** `process.ts`: a supervised background process. */
export interface ProcessDefinition {
  description: string;
  /** argv: the program and its arguments. */
  command: string[];
  /** Settings that must all be set for the process to start. */
  requiredEnv?: string[];
  /**
   * Run it on one instance only when several servers share a database (default false: every
   * instance runs its own). A singleton runs only while this instance holds the lease
   * `<integration>/process`: it starts when the lease is taken, is stopped when the lease is
   * lost, and on a clean shutdown the lease is given back so another instance starts it at
   * once. Meanwhile its state is `standby`.
   */
  singleton?: boolean;
}

/** One setting in `setup.ts`. */
export interface EnvVarSpec {
  key: string;
  required?: boolean;
  secret?: boolean;
  description?: string;
  default?: string;
}

/** `setup.ts`: the manifest. */
export interface SetupManifest {
  env_vars?: EnvVarSpec[];
  webhook?: { path: string; description?: string };
  sidebar_section?: Record<string, unknown>;
  dashboard_modules?: Array<Record<string, unknown>>;
  activation?: Record<string, unknown>;
}
