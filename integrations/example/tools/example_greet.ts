/** A tool: greets someone with the configured EXAMPLE_GREETING. */
import type { ToolDefinition } from "switchyard";

export default {
  name: "example_greet",
  description: "Greet a person by name",
  parameters: {
    type: "object",
    properties: { name: { type: "string", description: "Who to greet" } },
    required: ["name"],
  },
  execute: async (args: { name: string }, ctx) => ({
    greeting: `${ctx.integration.settings.EXAMPLE_GREETING ?? "Hello"}, ${args.name}!`,
  }),
} satisfies ToolDefinition;
