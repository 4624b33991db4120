/**
 * `cli.ts` in an integration folder: commands run as `switchyard <folder> <command> [args…]`
 * (one-shot set-up chores such as registering a chat platform's commands). The module
 * exports a {@link CliDefinition} and does nothing when imported. See docs/integrations.md.
 */
import type { IntegrationContext } from "./context.ts";

/** One command of an integration's CLI. */
export interface CliCommand {
  /** One line, shown when the command is listed. */
  description: string;
  /**
   * Runs the command. `ctx` is the integration's context with its resolved settings and the
   * server's outbound HTTP client (no server runs: session and document calls throw);
   * `args` are the words after the command name. A returned string is printed to stdout.
   * @throws Error whose message is printed to stderr (exit code 1); never put a secret in it
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a command may return nothing
  run(ctx: IntegrationContext, args: string[]): Promise<string | undefined | void>;
}

/** `cli.ts`: the integration's commands, by name (lower-case words, `-` between). */
export interface CliDefinition {
  commands: Record<string, CliCommand>;
}
