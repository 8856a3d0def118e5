import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandSpec, parseSpec, type SpecInput } from '../contract/spec';
import { UserError } from '../contract/errors';
import { checkRequeue, configDiff } from './requeue';
import { openStore, type Store } from './store';

let store: Store;
beforeEach(() => (store = openStore(':memory:')));
afterEach(() => store.close());

const SPEC: SpecInput = { name: 'exp', data: { task: 'synthetic-copy' }, train: { steps: 100, seeds: [1] }, variants: [{ name: 'h1', heads: 1 }] };

function queue(input: SpecInput): void {
  const spec = parseSpec(input);
  const exp = store.upsertExperiment(spec.name, spec, null);
  store.insertRuns(exp.id, expandSpec(spec).map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: r.hash, backendRequested: 'cpu', totalSteps: 1 })));
}

describe('re-queueing under an existing experiment name', () => {
  it('allows more seeds and new variants', () => {
    queue(SPEC);
    const more = parseSpec({ ...SPEC, train: { steps: 100, seeds: [1, 2, 3] }, variants: [{ name: 'h1', heads: 1 }, { name: 'h8', heads: 8 }] });
    expect(() => checkRequeue(store, 'exp', expandSpec(more))).not.toThrow();
  });

  it('refuses a changed config of an existing variant, naming the variant and the field', () => {
    queue(SPEC);
    const edited = parseSpec({ ...SPEC, train: { steps: 400, seeds: [1] } });
    let err: unknown;
    try {
      checkRequeue(store, 'exp', expandSpec(edited));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe('experiment "exp" already has runs with a different config; queue the changed spec under a new name (e.g. "exp-v2") or keep the old settings');
    expect((err as UserError).issues).toEqual(['variant "base": train.steps 100 → 400', 'variant "h1": train.steps 100 → 400']);
  });

  it('lists nested differences as dotted paths', () => {
    const [a] = expandSpec(parseSpec(SPEC));
    const [b] = expandSpec(parseSpec({ ...SPEC, base: { d_model: 256 } }));
    expect(configDiff(a.config, b.config)).toEqual(['model.d_k 32 → 64', 'model.d_model 128 → 256', 'model.d_v 32 → 64']);
  });
});
