/** The structured logger every integration module and tool receives. */

/** A structured logger (pino's methods): `log.info({ task_id }, "message")`. */
export interface IntegrationLogger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  child(bindings: Record<string, unknown>): IntegrationLogger;
}
