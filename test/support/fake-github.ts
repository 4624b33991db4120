/**
 * A fake GitHub REST API on 127.0.0.1 for tests: serves the few endpoints the GitHub
 * integration uses, records every request, and can be told to fail.
 *
 * - `GET /repos/:o/:r/pulls/:n`, `GET /repos/:o/:r/pulls/:n/files` (`per_page`, `page`)
 * - `GET /repos/:o/:r/issues/:n` (`comments` is the live count)
 * - `GET /repos/:o/:r/issues/:n/comments` (`per_page` default 30, max 100; `page`; a
 *   `Link` header with `next` and `last` like GitHub's)
 * - `POST /repos/:o/:r/issues/:n/comments` `{body}` → 201 with the stored comment
 *
 * With `token` set, a request without `Authorization: Bearer <token>` gets 401. Unknown
 * paths and objects get 404 `{message: "Not Found"}`, like GitHub.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseJson, readBody, sendJson, startLocalServer } from "./http-server.ts";

/** One request received. */
export interface FakeGithubRequest {
  method: string;
  /** Path and query, e.g. `/repos/o/r/issues/1/comments?per_page=100&page=1`. */
  url: string;
  pathname: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: any;
}

/** A stored comment. */
export interface FakeComment {
  id: number;
  body: string;
  user: { login: string };
  created_at: string;
  html_url: string;
}

/** A one-shot failure: the next request matching `method` and `path` gets `status`. */
export interface FailureRule {
  method?: string;
  /** Matched against the pathname. */
  path?: RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Handle on a running fake GitHub. */
export interface FakeGithub {
  /** API root, e.g. `http://127.0.0.1:12345` (use as GITHUB_API_URL). */
  url: string;
  requests: FakeGithubRequest[];
  /** Serves a pull request (also as an issue, like GitHub) and its changed files. */
  addPull(repo: string, pull: Record<string, any>, files?: Array<Record<string, any>>): void;
  /** Serves an issue. */
  addIssue(repo: string, issue: Record<string, any>): void;
  /** Stores a comment as if someone posted it. */
  addComment(repo: string, number: number, body: string, login?: string): FakeComment;
  /** The comments of an issue or pull request, oldest first. */
  comments(repo: string, number: number): FakeComment[];
  /** The next request matching the rule fails (nothing is stored). Rules queue up. */
  failNext(rule: FailureRule): void;
  /** The next comment POST is stored at once but answered only after `ms` (or never if the server closes first). */
  delayNextCommentResponse(ms: number): void;
  /** Resolves when the issue has at least `n` comments whose body includes `text`. */
  waitForComments(
    repo: string,
    number: number,
    text: string,
    n?: number,
    timeoutMs?: number,
  ): Promise<FakeComment[]>;
  close(): Promise<void>;
}

const key = (repo: string, number: number | string) => `${repo.toLowerCase()}#${number}`;

/** Starts a fake GitHub. @param opts.token the token requests must carry, when set */
export async function startFakeGithub(opts: { token?: string } = {}): Promise<FakeGithub> {
  const requests: FakeGithubRequest[] = [];
  const pulls = new Map<string, Record<string, any>>();
  const files = new Map<string, Array<Record<string, any>>>();
  const issues = new Map<string, Record<string, any>>();
  const comments = new Map<string, FakeComment[]>();
  const failures: FailureRule[] = [];
  const delays: number[] = [];
  let nextId = 1000;
  let url = "";

  const commentsOf = (k: string) => {
    let list = comments.get(k);
    if (!list) {
      list = [];
      comments.set(k, list);
    }
    return list;
  };
  const store = (repo: string, number: number, body: string, login: string): FakeComment => {
    const c: FakeComment = {
      id: nextId++,
      body,
      user: { login },
      created_at: new Date().toISOString(),
      html_url: `https://github.example/${repo}/issues/${number}#issuecomment-${nextId}`,
    };
    commentsOf(key(repo, number)).push(c);
    return c;
  };

  /** Answers with JSON; true (handlers return it to say the request is dealt with). */
  function send(res: ServerResponse, status: number, body: unknown, headers = {}): true {
    sendJson(res, status, body, { "content-type": "application/json; charset=utf-8", ...headers });
    return true;
  }

  /** A page of `list` with GitHub's Link header. */
  function page(
    req: FakeGithubRequest,
    res: ServerResponse,
    list: unknown[],
    defaultPer = 30,
  ): true {
    const per = Math.min(100, Math.max(1, Number(req.query.get("per_page") ?? defaultPer) || 30));
    const n = Math.max(1, Number(req.query.get("page") ?? 1) || 1);
    const last = Math.max(1, Math.ceil(list.length / per));
    const link = (p: number) => {
      const q = new URLSearchParams(req.query);
      q.set("per_page", String(per));
      q.set("page", String(p));
      return `<${url}${req.pathname}?${q}>`;
    };
    const rels = [];
    if (n < last) rels.push(`${link(n + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (n > 1) rels.push(`${link(1)}; rel="first"`, `${link(n - 1)}; rel="prev"`);
    return send(
      res,
      200,
      list.slice((n - 1) * per, n * per),
      rels.length ? { link: rels.join(", ") } : {},
    );
  }

  function route(req: FakeGithubRequest, res: ServerResponse): true {
    const m = /^\/repos\/([^/]+)\/([^/]+)\/(pulls|issues)\/(\d+)(\/files|\/comments)?$/.exec(
      req.pathname,
    );
    if (!m) return send(res, 404, { message: "Not Found" });
    const repo = `${m[1]}/${m[2]}`;
    const k = key(repo, m[4]!);
    const [kind, sub] = [m[3], m[5]];
    if (req.method === "GET" && kind === "pulls" && !sub) {
      const pr = pulls.get(k);
      return pr ? send(res, 200, pr) : send(res, 404, { message: "Not Found" });
    }
    if (req.method === "GET" && kind === "pulls" && sub === "/files") {
      return pulls.has(k)
        ? page(req, res, files.get(k) ?? [])
        : send(res, 404, { message: "Not Found" });
    }
    if (req.method === "GET" && kind === "issues" && !sub) {
      const issue = issues.get(k);
      if (!issue) return send(res, 404, { message: "Not Found" });
      return send(res, 200, { ...issue, comments: commentsOf(k).length });
    }
    if (kind === "issues" && sub === "/comments" && issues.has(k)) {
      if (req.method === "GET") return page(req, res, commentsOf(k));
      if (req.method === "POST") {
        if (typeof req.json?.body !== "string" || !req.json.body) {
          return send(res, 422, { message: "Validation Failed" });
        }
        if (req.json.body.length > 65_536) {
          return send(res, 422, { message: "body is too long (maximum is 65536 characters)" });
        }
        const c = store(repo, Number(m[4]), req.json.body, "switchyard-bot");
        const delay = delays.shift();
        if (delay === undefined) return send(res, 201, c);
        local.later(delay, () => send(res, 201, c));
        return true;
      }
    }
    return send(res, 404, { message: "Not Found" });
  }

  function handle(raw: IncomingMessage, res: ServerResponse, body: string): true {
    const u = new URL(raw.url ?? "/", "http://x");
    const req: FakeGithubRequest = {
      method: raw.method ?? "GET",
      url: raw.url ?? "/",
      pathname: u.pathname,
      query: u.searchParams,
      headers: raw.headers,
      body,
      json: parseJson(body),
    };
    requests.push(req);
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) {
      return send(res, 401, { message: "Bad credentials" });
    }
    const i = failures.findIndex(
      (f) => (!f.method || f.method === req.method) && (!f.path || f.path.test(req.pathname)),
    );
    if (i >= 0) {
      const [f] = failures.splice(i, 1);
      return send(res, f!.status, f!.body ?? { message: `Fake failure ${f!.status}` }, f!.headers);
    }
    return route(req, res);
  }

  const local = await startLocalServer((raw, res) => {
    readBody(raw).then(
      (body) => handle(raw, res, body.toString("utf8")),
      () => {},
    );
  });
  url = local.url;

  return {
    url,
    requests,
    addPull(repo, pull, list = []) {
      pulls.set(key(repo, pull.number), pull);
      files.set(key(repo, pull.number), list);
      issues.set(key(repo, pull.number), {
        number: pull.number,
        title: pull.title,
        body: pull.body,
        user: pull.user,
        state: pull.state,
        html_url: pull.html_url,
        pull_request: { url: pull.url },
      });
    },
    addIssue(repo, issue) {
      issues.set(key(repo, issue.number), issue);
    },
    addComment: (repo, number, body, login = "someone") => store(repo, number, body, login),
    comments: (repo, number) => commentsOf(key(repo, number)).slice(),
    failNext(rule) {
      failures.push(rule);
    },
    delayNextCommentResponse(ms) {
      delays.push(ms);
    },
    async waitForComments(repo, number, text, n = 1, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = commentsOf(key(repo, number)).filter((c) => c.body.includes(text));
        if (found.length >= n) return found;
        if (Date.now() > until) {
          throw new Error(
            `fake github: ${found.length} of ${n} comment(s) with ${JSON.stringify(text)} on ${repo}#${number} after ${timeoutMs} ms`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => local.close(),
  };
}
