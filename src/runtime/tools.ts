/**
 * The core workspace tools, given to a bot by name like any tool: `bash`, `read_file`,
 * `write_file`, `edit_file` (exact string replace, one match), `list_files`. Each runs in
 * the task's scope (the bot's `runtime.scope`), through the bot's runtime provider; every
 * path is confined to the scope root ({@link resolveInScope}). Results are capped at the
 * bot's `runtime.max_output_bytes` and say when they were cut. A failure is thrown: the
 * model sees it as the tool's error.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { AgentTool } from "../agent/tools.ts";
import type { ToolContext } from "../sdk/tools.ts";
import { displayPath, resolveInScope } from "./paths.ts";
import type { RuntimeService, ScopedRuntime } from "./service.ts";

/** Names of the core workspace tools. */
export const WORKSPACE_TOOL_NAMES = ["bash", "read_file", "write_file", "edit_file", "list_files"];

/** Most entries `list_files` returns. */
export const MAX_LIST_ENTRIES = 1000;

/** A tool's failure that the model should read (a bad path, no match, not a file…). */
export class WorkspaceToolError extends Error {}

interface Opened extends ScopedRuntime {
  /** Resolves a tool path (relative, or absolute under the root) to a real path inside. */
  path(p: string | undefined): Promise<string>;
  /** A real path shown relative to the root. */
  show(abs: string): string;
}

async function openScope(service: RuntimeService, ctx: ToolContext): Promise<Opened> {
  const scoped = await service.open({ sessionId: ctx.sessionId, botId: ctx.botId });
  const paths = { hostRoot: scoped.scope.path, runtimeRoot: scoped.runtime.root };
  const realRoot = await resolveInScope(paths, ".");
  return {
    ...scoped,
    path: (p) => resolveInScope(paths, p ?? "."),
    show: (abs) => displayPath(realRoot, abs),
  };
}

/** Opens a file for writing without following a symlink planted at its name. */
async function writeNoFollow(abs: string, data: string, append: boolean): Promise<void> {
  const flags =
    constants.O_WRONLY |
    constants.O_CREAT |
    constants.O_NOFOLLOW |
    (append ? constants.O_APPEND : constants.O_TRUNC);
  const fh = await open(abs, flags, 0o644);
  try {
    await fh.writeFile(data, "utf8");
  } finally {
    await fh.close();
  }
}

/** Makes the parents of a confined path, then checks the path once more (a parent may be a link). */
async function prepareWrite(s: Opened, p: string): Promise<string> {
  const abs = await s.path(p);
  await mkdir(dirname(abs), { recursive: true });
  return s.path(abs);
}

function str(v: unknown, name: string): string {
  if (typeof v !== "string") throw new WorkspaceToolError(`${name} must be a string`);
  return v;
}

/** `buf` cut to at most `max` bytes, on a UTF-8 character boundary. */
export function capBytes(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/** Builds the five workspace tools over `service`. */
export function workspaceTools(service: RuntimeService): AgentTool[] {
  const bash: AgentTool = {
    name: "bash",
    description:
      "Run a shell command (bash) in this conversation's workspace folder. Returns exit_code, stdout, stderr; output is cut past the bot's limit and a command is killed after its timeout.",
    parameters: {
      type: "object",
      properties: {
        command: { type: "string", description: "The command line" },
        cwd: { type: "string", description: "Working directory, relative to the workspace" },
      },
      required: ["command"],
    },
    async execute(args, ctx) {
      const s = await openScope(service, ctx);
      const r = await s.runtime.bash({
        command: str(args?.command, "command"),
        cwd: args?.cwd === undefined ? undefined : str(args.cwd, "cwd"),
        timeoutMs: s.config.timeout_s * 1000,
        maxOutputBytes: s.config.max_output_bytes,
        network: s.config.network,
        signal: ctx.signal,
      });
      const notes: string[] = [];
      if (r.timedOut) notes.push(`killed after the ${s.config.timeout_s} s timeout`);
      if (r.truncated) notes.push(`output cut at ${s.config.max_output_bytes} bytes per stream`);
      return {
        exit_code: r.exitCode,
        stdout: r.stdout,
        stderr: r.stderr,
        timed_out: r.timedOut,
        truncated: r.truncated,
        duration_ms: r.durationMs,
        ...(notes.length ? { note: notes.join("; ") } : {}),
      };
    },
  };

  const readFileTool: AgentTool = {
    name: "read_file",
    description:
      "Read a text file of the workspace. Long files are cut; pass offset (bytes) to read on.",
    parameters: {
      type: "object",
      properties: {
        path: { type: "string", description: "Relative to the workspace" },
        offset: { type: "integer", minimum: 0, description: "Byte offset to start at" },
      },
      required: ["path"],
    },
    async execute(args, ctx) {
      const s = await openScope(service, ctx);
      const abs = await s.path(str(args?.path, "path"));
      const st = await lstat(abs).catch(() => undefined);
      if (!st) throw new WorkspaceToolError(`No file ${s.show(abs)} in the workspace`);
      if (!st.isFile()) throw new WorkspaceToolError(`${s.show(abs)} is not a file`);
      const offset = Number.isInteger(args?.offset) && args.offset > 0 ? args.offset : 0;
      const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        // 3 bytes more than kept: enough to see whether the cut splits a character.
        const buf = Buffer.alloc(s.config.max_output_bytes + 3);
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        const chunk = capBytes(buf.subarray(0, bytesRead), s.config.max_output_bytes);
        if (chunk.includes(0)) {
          return { path: s.show(abs), size: st.size, binary: true, note: "binary file: not shown" };
        }
        const end = offset + chunk.length;
        const truncated = end < st.size;
        return {
          path: s.show(abs),
          size: st.size,
          content: chunk.toString("utf8"),
          truncated,
          ...(truncated
            ? { note: `cut at byte ${end} of ${st.size}; read on with offset ${end}` }
            : {}),
        };
      } finally {
        await fh.close();
      }
    },
  };

  const writeFileTool: AgentTool = {
    name: "write_file",
    description: "Create or overwrite a text file in the workspace (parent folders are created).",
    parameters: {
      type: "object",
      properties: {
        path: { type: "string", description: "Relative to the workspace" },
        content: { type: "string" },
        append: { type: "boolean", description: "Append instead of overwriting" },
      },
      required: ["path", "content"],
    },
    async execute(args, ctx) {
      const s = await openScope(service, ctx);
      const content = str(args?.content, "content");
      const abs = await prepareWrite(s, str(args?.path, "path"));
      await writeNoFollow(abs, content, args?.append === true);
      return { path: s.show(abs), bytes_written: Buffer.byteLength(content) };
    },
  };

  const editFileTool: AgentTool = {
    name: "edit_file",
    description:
      "Replace one exact occurrence of old_string with new_string in a workspace file. old_string must occur exactly once.",
    parameters: {
      type: "object",
      properties: {
        path: { type: "string", description: "Relative to the workspace" },
        old_string: { type: "string" },
        new_string: { type: "string" },
      },
      required: ["path", "old_string", "new_string"],
    },
    async execute(args, ctx) {
      const s = await openScope(service, ctx);
      const oldString = str(args?.old_string, "old_string");
      const newString = str(args?.new_string, "new_string");
      if (oldString === "") throw new WorkspaceToolError("old_string must not be empty");
      const abs = await s.path(str(args?.path, "path"));
      const st = await lstat(abs).catch(() => undefined);
      if (!st?.isFile()) throw new WorkspaceToolError(`No file ${s.show(abs)} in the workspace`);
      const text = await readFile(abs, "utf8");
      const first = text.indexOf(oldString);
      if (first < 0) throw new WorkspaceToolError(`old_string was not found in ${s.show(abs)}`);
      let count = 0;
      for (let i = first; i >= 0; i = text.indexOf(oldString, i + 1)) count++;
      if (count > 1) {
        throw new WorkspaceToolError(
          `old_string occurs ${count} times in ${s.show(abs)}; include more context so it is unique`,
        );
      }
      const next = text.slice(0, first) + newString + text.slice(first + oldString.length);
      await writeNoFollow(abs, next, false);
      return { path: s.show(abs), replaced: 1 };
    },
  };

  const listFilesTool: AgentTool = {
    name: "list_files",
    description:
      "List files and folders of the workspace (or of a folder in it), optionally recursively. Symbolic links are listed, not followed.",
    parameters: {
      type: "object",
      properties: {
        path: {
          type: "string",
          description: "Folder relative to the workspace (default: its root)",
        },
        recursive: { type: "boolean" },
      },
    },
    async execute(args, ctx) {
      const s = await openScope(service, ctx);
      const dir = await s.path(args?.path === undefined ? "." : str(args.path, "path"));
      const st = await lstat(dir).catch(() => undefined);
      if (!st?.isDirectory())
        throw new WorkspaceToolError(`${s.show(dir)} is not a folder in the workspace`);
      const entries: { path: string; type: string; size?: number }[] = [];
      let truncated = false;
      let bytes = 0;
      const walk = async (d: string): Promise<void> => {
        for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
          a.name.localeCompare(b.name),
        )) {
          if (entries.length >= MAX_LIST_ENTRIES || bytes >= s.config.max_output_bytes) {
            truncated = true;
            return;
          }
          const abs = join(d, e.name);
          const type = e.isDirectory()
            ? "dir"
            : e.isSymbolicLink()
              ? "symlink"
              : e.isFile()
                ? "file"
                : "other";
          const size = e.isFile() ? (await lstat(abs).catch(() => undefined))?.size : undefined;
          const rel = s.show(abs);
          bytes += rel.length + 40;
          entries.push(size === undefined ? { path: rel, type } : { path: rel, type, size });
          if (args?.recursive === true && e.isDirectory()) await walk(abs);
        }
      };
      await walk(dir);
      return {
        path: s.show(dir),
        entries,
        truncated,
        ...(truncated ? { note: `listing cut at ${entries.length} entries` } : {}),
      };
    },
  };

  return [bash, readFileTool, writeFileTool, editFileTool, listFilesTool];
}
