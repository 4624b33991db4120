/**
 * The tool registry: every tool an agent may call, by unique name, with a JSON-Schema
 * parameter definition. Bots list tool names; a task may add more through
 * `execution_config.tools`.
 */
import type { JsonSchemaObject, ToolContext } from "../sdk/tools.ts";

/** A tool the agent can call. `execute` returns any JSON-serialisable value or a string. */
export interface AgentTool {
  name: string;
  description: string;
  parameters: JsonSchemaObject;
  execute(args: any, ctx: ToolContext): unknown | Promise<unknown>;
}

/** A registered tool with the place it came from (a file path or "core"). */
export interface RegisteredTool extends AgentTool {
  source: string;
}

const NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;

/** Tool registry. Names are unique: registering a taken name replaces it and says so. */
export class ToolRegistry {
  readonly #tools = new Map<string, RegisteredTool>();

  /**
   * Registers a tool.
   * @returns the source of the tool it replaced, if any (callers report the clash)
   * @throws TypeError when the name or parameters are not valid
   */
  register(tool: AgentTool, source = "core"): string | undefined {
    if (!NAME_RE.test(tool.name)) {
      throw new TypeError(`Tool name "${tool.name}" must match ${NAME_RE}`);
    }
    if (tool.parameters?.type !== "object") {
      throw new TypeError(`Tool "${tool.name}": parameters must be a JSON Schema of type object`);
    }
    if (typeof tool.execute !== "function") {
      throw new TypeError(`Tool "${tool.name}": execute must be a function`);
    }
    const previous = this.#tools.get(tool.name)?.source;
    this.#tools.set(tool.name, { ...tool, source });
    return previous;
  }

  /** Removes a tool; true when it was there. */
  unregister(name: string): boolean {
    return this.#tools.delete(name);
  }

  /** The tool with this name, or undefined. */
  get(name: string): RegisteredTool | undefined {
    return this.#tools.get(name);
  }

  /** Every registered tool, by name. */
  list(): RegisteredTool[] {
    return [...this.#tools.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Resolves names (duplicates removed, order kept) to tools.
   * @returns the tools found and the names that are not registered
   */
  resolve(names: readonly string[]): { tools: RegisteredTool[]; unknown: string[] } {
    const tools: RegisteredTool[] = [];
    const unknown: string[] = [];
    for (const n of new Set(names)) {
      const t = this.#tools.get(n);
      if (t) tools.push(t);
      else unknown.push(n);
    }
    return { tools, unknown };
  }
}
