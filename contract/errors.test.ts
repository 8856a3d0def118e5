import { describe, expect, it } from 'vitest';
import { fromWireError, RemoteBugError, toWireError, UserError, userErrorMessage } from './errors';

describe('errors across an edge', () => {
  it('a user error comes back as a UserError with its issues', () => {
    const back = fromWireError(toWireError(new UserError('spec.yaml: 2 problems', ['base.heads: must be a positive integer', 'train.steps: required'])));
    expect(back).toBeInstanceOf(UserError);
    expect(back.message).toBe('spec.yaml: 2 problems');
    expect((back as UserError).issues).toEqual(['base.heads: must be a positive integer', 'train.steps: required']);
    expect(userErrorMessage(back)).toBe('spec.yaml: 2 problems');
  });

  it('a bug on the other side stays a bug: not a UserError, named as an internal error', () => {
    const back = fromWireError(toWireError(new TypeError("Cannot read properties of undefined (reading 'step')\n    at f (x.ts:1:1)")));
    expect(back).not.toBeInstanceOf(UserError);
    expect(back).toBeInstanceOf(RemoteBugError);
    expect(back.message).toBe("internal error: Cannot read properties of undefined (reading 'step')");
    expect(userErrorMessage(back)).toBeNull(); // the CLI rethrows it with a stack instead of one quiet line
  });
});
