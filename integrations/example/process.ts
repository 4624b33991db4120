/** A supervised background process: prints a heartbeat line every second. */
import { join } from "node:path";
import type { ProcessDefinition } from "switchyard";

export default {
  description: "Heartbeat: prints a line every second",
  command: [process.execPath, join(import.meta.dirname, "_heartbeat.mjs")],
  requiredEnv: ["EXAMPLE_PROCESS_ENABLED"],
} satisfies ProcessDefinition;
