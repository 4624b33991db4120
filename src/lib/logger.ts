/**
 * The server's logger: pino records as one JSON object a line (for log collectors), or as
 * human-readable lines for a person at a terminal (`12:34:56.789 INFO  message key=value`),
 * as `SWITCHYARD_LOG_FORMAT` says. The banner is not a log record: `serve` prints it itself.
 */
import { isatty } from "node:tty";
import pino, { type Level, type Logger } from "pino";

/** `SWITCHYARD_LOG_FORMAT`: `auto` (pretty on a terminal, JSON otherwise), `pretty`, `json`. */
export type LogFormatSetting = "auto" | "pretty" | "json";

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level: Level | "silent";
  format: LogFormatSetting;
}

/** The format in force: `auto` is pretty when the output is a terminal, JSON otherwise. */
export function logFormat(setting: LogFormatSetting, isTerminal: boolean): "pretty" | "json" {
  if (setting === "auto") return isTerminal ? "pretty" : "json";
  return setting;
}

/**
 * A logger writing synchronously to file descriptor `fd` (1 stdout, 2 stderr), in the
 * format {@link logFormat} picks; pretty lines are coloured only on a terminal without
 * `NO_COLOR`.
 */
export function createLogger(opts: LoggerOptions, fd: 1 | 2 = 1): Logger {
  const dest = pino.destination({ dest: fd, sync: true });
  const terminal = isatty(fd);
  if (logFormat(opts.format, terminal) === "json") return pino({ level: opts.level }, dest);
  const color = terminal && !process.env.NO_COLOR;
  return pino(
    { level: opts.level },
    { write: (line: string) => dest.write(prettyLine(line, color)) },
  );
}

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
/** ANSI colours of the level names: grey, cyan, green, yellow, red, magenta. */
const LEVEL_COLORS: Record<number, string> = {
  10: "90",
  20: "36",
  30: "32",
  40: "33",
  50: "31",
  60: "35",
};
/** Record fields the line shows in its own way, or not at all (pid and host are the same on every line). */
const SHOWN_APART = new Set(["level", "time", "pid", "hostname", "msg", "err"]);

/**
 * One pino JSON record as a human-readable line: local time, level, message, the other
 * fields as `key=value` (values JSON unless a plain word), and an error's stack indented
 * below. A line that is not JSON is passed through.
 */
export function prettyLine(json: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = Number(rec.level);
  let label = (LEVEL_NAMES[level] ?? String(rec.level)).padEnd(5);
  if (color && LEVEL_COLORS[level]) label = `\u001b[${LEVEL_COLORS[level]}m${label}\u001b[39m`;
  const fields = Object.entries(rec)
    .filter(([k]) => !SHOWN_APART.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`);
  const err = rec.err as { message?: string; stack?: string } | string | undefined;
  let stack = "";
  if (err && typeof err === "object" && err.stack) {
    stack = `\n${err.stack.replace(/^/gm, "    ")}`;
  } else if (err !== undefined) {
    fields.push(`err=${fieldValue(typeof err === "object" ? err.message : err)}`);
  }
  const msg = rec.msg === undefined ? "" : String(rec.msg);
  return `${clock(rec.time)} ${label} ${[msg, ...fields].filter(Boolean).join(" ")}${stack}\n`;
}

function fieldValue(v: unknown): string {
  if (typeof v === "string" && /^[^\s"=]+$/.test(v)) return v;
  return JSON.stringify(v) ?? String(v);
}

/** `HH:MM:SS.mmm`, local time. */
function clock(time: unknown): string {
  const d = typeof time === "number" ? new Date(time) : new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}
