/**
 * The one user-error class. Every layer throws a UserError (or a subclass) for input the user can
 * fix — a bad spec, a missing file, an unknown flag, a backend that is not installed — and every
 * front renders it the same way: its one-line `message`, plus `issues` (one line each) where there
 * are several. Anything that is not a UserError is a bug and keeps its stack trace.
 *
 * Errors cross process and network edges (IPC, WebSocket) as `WireError`, so a front rebuilds a
 * UserError with its issues instead of parsing a message.
 */

export class UserError extends Error {
  /** One line per problem (a spec's `path: message` lines); `[message]` when there is one. */
  readonly issues: readonly string[];

  constructor(message: string, issues?: readonly string[]) {
    super(message);
    this.name = 'UserError';
    this.issues = issues && issues.length ? issues : [message];
  }
}

/** The one-line message for a user error, or null when `err` is a bug. */
export function userErrorMessage(err: unknown): string | null {
  return err instanceof UserError ? err.message.split('\n')[0] : null;
}

/** An error as it crosses a process or network edge: JSON-safe. */
export interface WireError {
  readonly message: string;
  readonly issues?: readonly string[];
  /** True for a UserError; false for a bug (the receiving front may say "internal error"). */
  readonly user: boolean;
}

/** Encodes any thrown value for the wire (a bug keeps only its first line: stacks stay server-side). */
export function toWireError(err: unknown): WireError {
  if (err instanceof UserError) return { message: err.message.split('\n')[0], issues: err.issues, user: true };
  return { message: err instanceof Error ? err.message.split('\n')[0] : String(err), user: false };
}

/**
 * A bug on the other side of an edge (`user: false`): kept apart from UserError so a front does not
 * present it as input to fix (the CLI rethrows it, the app shows it as an internal error).
 */
export class RemoteBugError extends Error {
  constructor(message: string) {
    super(`internal error: ${message}`);
    this.name = 'RemoteBugError';
  }
}

/** Rebuilds the error a WireError describes: a UserError with its issues, or a RemoteBugError for a bug. */
export function fromWireError(wire: WireError): Error {
  return wire.user === false ? new RemoteBugError(wire.message) : new UserError(wire.message, wire.issues);
}

/** Whether a value has the shape of a WireError (checked at the edge that receives one). */
export function isWireError(value: unknown): value is WireError {
  const v = value as Partial<WireError> | null;
  return !!v && typeof v === 'object' && typeof v.message === 'string' && (v.issues === undefined || (Array.isArray(v.issues) && v.issues.every((i) => typeof i === 'string')));
}
