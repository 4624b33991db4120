/**
 * A helper module (the `_` prefix keeps the loader away): lifecycle events seen by
 * hooks.ts, shown by router.ts at GET /events. Newest 500 kept.
 */
export interface SeenEvent {
  event: string;
  correlation_id: string;
  session_id: string;
  extra: Record<string, unknown>;
}

export const seenEvents: SeenEvent[] = [];

export function remember(e: SeenEvent): void {
  seenEvents.push(e);
  if (seenEvents.length > 500) seenEvents.splice(0, seenEvents.length - 500);
}
