/** Per-run settings of one task (`execution_config` on the wire). */

/**
 * Per-run settings carried by a task; all optional. Unknown keys are refused (REST answers
 * 400, ctx throws InvalidInputError naming e.g. `execution_config.skils`), and so is a
 * `model_override` that is not `provider:model`.
 */
export interface ExecutionConfig {
  /** Text put before the bot's system prompt for this run. */
  system_preamble?: string;
  /** Skill ids added to the context: `integrations/<integration>/<stem>` for a skill file. */
  skills?: string[];
  /** Tool names added to the bot's own for this run. */
  tools?: string[];
  /** `provider:model` used instead of the bot's model. */
  model_override?: string;
  /**
   * Tightens the bot's approval policy for this run (it can never loosen it): `default:
   * "always"` makes every tool call wait for a person, `tools: {<name>: "always"}` the named
   * ones. Any other value is refused.
   */
  approval?: { default?: "always"; tools?: Record<string, "always"> };
}
