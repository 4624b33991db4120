/**
 * Approvals in `switchyard chat`: when the turn's task waits for approval, each pending
 * request is shown (`Approval needed: <tool> <args JSON>`) and the next input line answers
 * it (`y`/`yes` approves, `n`/`no` denies, anything else asks again); the decision is
 * POSTed to `/api/v1/approvals/{id}` (the key needs `approvals:read` and `approvals:write`)
 * and the chat goes on waiting for the reply. A request decided elsewhere first (409) is
 * shown as such.
 */

/** Calls the server's REST API; throws with the status on a non-2xx answer. */
export type ApiCall = (method: string, path: string, body?: unknown) => Promise<any>;

/** The next input line, or undefined at end of input. */
export type NextLine = () => Promise<string | undefined>;

/**
 * Shows the task's pending approvals not asked about yet (`asked` keeps their ids) and
 * sends the user's answer to each.
 * @returns false when input ended before an answer (the request stays pending)
 */
export async function answerApprovals(
  call: ApiCall,
  taskId: string,
  asked: Set<string>,
  nextLine: NextLine,
  out: (text: string) => void,
): Promise<boolean> {
  const q = new URLSearchParams({ status: "pending", task_id: taskId });
  const pending = ((await call("GET", `/api/v1/approvals?${q}`)) as any[]).filter(
    (a) => !asked.has(a.id),
  );
  for (const a of pending.reverse()) {
    asked.add(a.id);
    out(`Approval needed: ${a.tool} ${JSON.stringify(a.args)} (expires ${a.expires_at})\n`);
    let decision: "approve" | "deny" | undefined;
    while (!decision) {
      out("Approve? [y/n] ");
      const line = await nextLine();
      if (line === undefined) {
        out("\nNo answer: the request stays pending.\n");
        return false;
      }
      const v = line.trim().toLowerCase();
      if (v === "y" || v === "yes") decision = "approve";
      else if (v === "n" || v === "no") decision = "deny";
    }
    try {
      const r = await call("POST", `/api/v1/approvals/${a.id}`, { decision });
      out(`${r.status === "approved" ? "Approved" : "Denied"}.\n`);
    } catch (err) {
      const m = (err as Error).message;
      out(/HTTP 409/.test(m) ? "Already decided elsewhere.\n" : `Not decided: ${m}\n`);
    }
  }
  return true;
}
