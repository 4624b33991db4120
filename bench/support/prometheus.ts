/**
 * Reads a server's `GET /metrics` (Prometheus text exposition format 0.0.4) for benchmarks.
 */
import type { ApiClient } from "./api-client.ts";

/** One scrape: the value of each sample, keyed by its name and labels as written. */
export interface Scrape {
  /** The value of `name` with exactly `labels` (`{}` or omitted: no labels); NaN when absent. */
  value(name: string, labels?: Record<string, string>): number;
  /** The sum of every sample of `name`, whatever its labels, where `where(labels)` holds. */
  sum(name: string, where?: (labels: Record<string, string>) => boolean): number;
}

/** Parses exposition text (comments skipped; label values without escaped quotes). */
export function parseMetrics(text: string): Scrape {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const same = (a: Record<string, string>, b: Record<string, string>) => {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
  };
  return {
    value: (name, labels = {}) =>
      samples.find((s) => s.name === name && same(s.labels, labels))?.value ?? Number.NaN,
    sum: (name, where = () => true) =>
      samples.filter((s) => s.name === name && where(s.labels)).reduce((a, s) => a + s.value, 0),
  };
}

/**
 * Scrapes `GET /metrics` through `api` (whose key needs scope `tasks:read`).
 * @throws Error when the server does not answer 200
 */
export async function scrape(api: ApiClient): Promise<Scrape> {
  const r = await api.get("/metrics");
  if (r.status !== 200)
    throw new Error(`GET /metrics answered ${r.status}: ${r.text.slice(0, 200)}`);
  return parseMetrics(r.text);
}
