/**
 * The session service's typed errors. Each has a stable `name`, so callers that cannot
 * import the class (integrations get them through ctx) test `err.name`; REST maps them to
 * 422 "Unknown bot: <id>" and 404 "Session not found".
 */

/** The bot named for a new session does not exist. */
export class UnknownBotError extends Error {
  override readonly name = "UnknownBotError";
  /** The id that names no bot. */
  readonly botId: string;
  constructor(botId: string) {
    super(`Unknown bot: ${botId}`);
    this.botId = botId;
  }
}

/** The session does not exist. */
export class SessionNotFoundError extends Error {
  override readonly name = "SessionNotFoundError";
  /** The id that names no session. */
  readonly sessionId: string;
  constructor(sessionId: string) {
    super("Session not found");
    this.sessionId = sessionId;
  }
}

/** A dispatch config its dispatcher can never deliver to (e.g. a refused webhook URL). */
export class InvalidDispatchConfigError extends Error {
  override readonly name = "InvalidDispatchConfigError";
  constructor(reason: string) {
    super(reason);
  }
}

/** An input that every way into a session refuses (REST answers 400 with the same words). */
export class InvalidInputError extends Error {
  override readonly name = "InvalidInputError";
  /** The field, e.g. `content` or `metadata.tags.1`. */
  readonly field: string;
  /** What is wrong with it, e.g. "must not be empty". */
  readonly problem: string;
  constructor(field: string, problem: string) {
    super(`Invalid ${field}: ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}

/**
 * A dedupe key (an `Idempotency-Key`) was already used for another request: same key, other
 * body. REST answers 422. Nothing was stored.
 */
export class DedupeKeyReusedError extends Error {
  override readonly name = "DedupeKeyReusedError";
  constructor() {
    super("The dedupe key was already used with a different request");
  }
}
