/**
 * Sending approval outputs to an adapter (from the outbox only). Rows written by the
 * approval service carry `{kind: "approval_request" | "approval_decided", task_id,
 * approval_id}`; the approval is read at send time, so the output shows its current
 * state and the request's post id:
 * - `approval_request`: sent while the approval is pending (a request decided before it
 *   went out is not shown; its `approval_decided` follows as a notice). The post id that
 *   `send` returns is kept on the row (`request_post`).
 * - `approval_decided`: sent with `requestPost`, for the adapter to edit the request.
 */
import type { Adapter, AdapterTarget } from "../sdk/adapter.ts";
import { DeliveryError } from "../sdk/errors.ts";
import type { Delivery } from "../store/deliveries.ts";
import type { Store } from "../store/index.ts";
import { approvalView } from "./view.ts";

/** True for the outbox payload kinds this module sends. */
export function isApprovalOutput(kind: unknown): kind is "approval_request" | "approval_decided" {
  return kind === "approval_request" || kind === "approval_decided";
}

/**
 * Sends one approval output row.
 * @throws DeliveryError (not retried) when the approval is gone; the adapter's error otherwise
 */
export async function sendApprovalOutput(
  store: Store,
  adapter: Adapter,
  d: Delivery,
  base: Omit<AdapterTarget, "deliveryId">,
): Promise<void> {
  const id = typeof d.payload.approval_id === "string" ? d.payload.approval_id : "";
  const a = id ? await store.approvals.get(id) : undefined;
  if (!a) throw new DeliveryError(`approval ${id || "(none)"} not found`, { retryable: false });
  const target: AdapterTarget = { ...base, deliveryId: d.id };
  if (d.payload.kind === "approval_request") {
    if (a.status !== "pending") return;
    const r = await adapter.send(target, { kind: "approval_request", approval: approvalView(a) });
    const postId = r && typeof r === "object" ? r.postId : undefined;
    if (typeof postId === "string" && postId) await store.approvals.setRequestPost(a.id, postId);
    return;
  }
  await adapter.send(target, {
    kind: "approval_decided",
    approval: approvalView(a),
    ...(a.requestPost ? { requestPost: a.requestPost } : {}),
  });
}
