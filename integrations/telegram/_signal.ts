/**
 * grammY types its signals with the `abort-controller` polyfill's AbortSignal; Node's own
 * works at run time (grammY only listens for `abort` and reads `aborted`).
 */
import type { Bot } from "grammy";

/** The AbortSignal type grammY's methods take. */
export type GrammySignal = Parameters<Bot["api"]["getMe"]>[0];

/** `signal`, typed for grammY. */
export const forGrammy = (signal: AbortSignal): GrammySignal => signal as unknown as GrammySignal;
