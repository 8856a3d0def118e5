/**
 * Which errors are the user's (bad spec, bad data, bad flag): those print one line, no stack.
 * Anything else is a bug and keeps its stack trace.
 */
import { SpecError } from '../experiments/spec';
import { DataError } from '../experiments/data/types';

/** An error whose message is meant for the user as it is. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

const USER_ERROR_NAMES = new Set(['UserError', 'SpecError', 'DataError', 'BackendUnavailableError', 'StoreVersionError', 'ZodError']);

/** The one-line message for a user error, or null when `err` is a bug. */
export function userErrorMessage(err: unknown): string | null {
  if (err instanceof SpecError || err instanceof DataError || err instanceof UserError) return err.message;
  if (err instanceof Error && USER_ERROR_NAMES.has(err.name)) return err.message.split('\n')[0];
  return null;
}
