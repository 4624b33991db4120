/**
 * The shape of this integration's settings, as `ctx.settings` holds them. The keys and
 * their defaults are declared in `setup.ts`; this file only gives them a type.
 */
export interface ExampleSettings {
  EXAMPLE_WEBHOOK_SECRET?: string;
  EXAMPLE_OUTBOUND_URL?: string;
  EXAMPLE_GREETING?: string;
  EXAMPLE_PROCESS_ENABLED?: string;
  [key: string]: string | undefined;
}
