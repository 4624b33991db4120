/**
 * Output capture of supervised processes: a child's stdout or stderr cut into lines, each
 * handed on (the supervisor logs it with the integration's name), with a bound on how much
 * of an unterminated line is held.
 */
import type { Readable } from "node:stream";

/** Lines longer than this (characters) are handed on in pieces rather than buffered without limit. */
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Calls `emit` with each line of `stream`, read as UTF-8: the "\n" (and a "\r" before it)
 * removed, a line longer than {@link MAX_LINE_CHARS} in pieces of that size, and an
 * unterminated last line when the stream ends. Stream errors are ignored: the child's exit
 * is observed elsewhere, and a broken pipe of an exiting child is not news.
 */
export function pipeLines(stream: Readable, emit: (line: string) => void): void {
  let buf = "";
  const line = (text: string): void => emit(text.endsWith("\r") ? text.slice(0, -1) : text);
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf("\n");
    while (nl !== -1) {
      line(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
    }
    while (buf.length > MAX_LINE_CHARS) {
      line(buf.slice(0, MAX_LINE_CHARS));
      buf = buf.slice(MAX_LINE_CHARS);
    }
  });
  stream.on("end", () => {
    if (buf.length > 0) line(buf);
    buf = "";
  });
  stream.on("error", () => {});
}
