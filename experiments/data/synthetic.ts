/**
 * Built-in tasks generated from a seed (no files), for quick starts and tests:
 *
 * - `synthetic-copy`: target = source, uniform random symbols `w0 … w{V-1}`.
 * - `synthetic-reverse`: target = source reversed (needs positions: without them the encoder's
 *   output is a bag of tokens and the order cannot be recovered).
 * - `synthetic-reorder`: a toy translation. Source sentences are SVO with adjectives before their
 *   noun:  `a* n_subj v a* n_obj`  (e.g. `a3 a7 n12 v4 a1 n5`). The target is SOV, adjectives
 *   follow their noun, and words inflect:
 *     - each noun has a fixed hidden class (x or y, drawn once per task from the seed);
 *     - an adjective takes its noun's class: `A3.x`;
 *     - the verb moves to the end and agrees with BOTH the subject's and the object's class:
 *       `V4.xy`. The subject sits at the start of the target and the verb at its end, so
 *       predicting the verb form needs two facts from far apart (two heads help).
 *   Target of the example, if n12 is class x and n5 class y: `N12 A3.x A7.x N5 A1.y V4.xy`.
 *
 * Parameters (data.*): vocab = number of distinct source content symbols, min_len/max_len =
 * source length range, train/valid/test sizes, seed. Same parameters → identical data.
 */
import type { DataConfig } from '../../contract/spec';
import { Rng, subSeed } from '../seeding';

export type SyntheticTask = NonNullable<DataConfig['task']>;

/** Defaults for the synthetic fields that the spec leaves optional. */
export const SYNTHETIC_DEFAULTS = { vocab: 32, min_len: 4, train_size: 4000, valid_size: 200, test_size: 200, seed: 1 } as const;
/**
 * Longest generated source. data.max_len defaults to 64 for real corpora (a token limit for
 * filtering); generating 64-token toy sentences would make a quick start slow for no insight, so
 * synthetic lengths are capped here.
 */
export const SYNTHETIC_MAX_LEN_CAP = 24;

export interface SyntheticParams {
  readonly task: SyntheticTask;
  readonly vocab: number;
  readonly minLen: number;
  readonly maxLen: number;
  readonly trainSize: number;
  readonly validSize: number;
  readonly testSize: number;
  readonly seed: number;
}

export interface SyntheticSplit {
  readonly sources: string[];
  readonly targets: string[];
}

export interface SyntheticData {
  readonly train: SyntheticSplit;
  readonly valid: SyntheticSplit;
  readonly test: SyntheticSplit;
}

/** Resolves the data config's synthetic fields with their defaults. */
export function syntheticParams(data: DataConfig): SyntheticParams {
  if (!data.task) throw new Error('syntheticParams: data.task is not set');
  // reorder needs at least subject, verb, object.
  const floor = data.task === 'synthetic-reorder' ? 3 : 1;
  const maxLen = Math.max(floor, Math.min(data.max_len, SYNTHETIC_MAX_LEN_CAP));
  const minLen = Math.min(maxLen, Math.max(floor, data.min_len ?? SYNTHETIC_DEFAULTS.min_len));
  return {
    task: data.task,
    // reorder splits the vocabulary into nouns, verbs and adjectives: at least 2 of each.
    vocab: Math.max(data.task === 'synthetic-reorder' ? 6 : 1, data.vocab ?? SYNTHETIC_DEFAULTS.vocab),
    minLen,
    maxLen,
    trainSize: data.train_size ?? SYNTHETIC_DEFAULTS.train_size,
    validSize: data.valid_size ?? SYNTHETIC_DEFAULTS.valid_size,
    testSize: data.test_size ?? SYNTHETIC_DEFAULTS.test_size,
    seed: data.seed ?? SYNTHETIC_DEFAULTS.seed,
  };
}

/** Generates all three splits; each split has its own random stream, so sizes don't shift each other. */
export function generateSynthetic(p: SyntheticParams): SyntheticData {
  // The noun classes are part of the task's "language", fixed by the seed for all splits.
  const grammar = makeGrammar(p);
  const make = (n: number, stream: number): SyntheticSplit => {
    const rng = new Rng(subSeed(p.seed, stream));
    const sources: string[] = [];
    const targets: string[] = [];
    for (let i = 0; i < n; i++) {
      const [s, t] = p.task === 'synthetic-reorder' ? reorderPair(rng, p, grammar) : sequencePair(rng, p);
      sources.push(s.join(' '));
      targets.push(t.join(' '));
    }
    return { sources, targets };
  };
  return { train: make(p.trainSize, 1), valid: make(p.validSize, 2), test: make(p.testSize, 3) };
}

function sequencePair(rng: Rng, p: SyntheticParams): [string[], string[]] {
  const len = rng.int(p.minLen, p.maxLen);
  const src = Array.from({ length: len }, () => `w${rng.int(0, p.vocab - 1)}`);
  return [src, p.task === 'synthetic-reverse' ? [...src].reverse() : src];
}

interface Grammar {
  readonly nouns: number;
  readonly verbs: number;
  readonly adjectives: number;
  /** Hidden class of each noun: 'x' or 'y'. */
  readonly nounClass: readonly ('x' | 'y')[];
}

function makeGrammar(p: SyntheticParams): Grammar {
  const nouns = Math.max(2, Math.floor(p.vocab / 2));
  const verbs = Math.max(2, Math.floor((p.vocab - nouns) / 2));
  const adjectives = Math.max(2, p.vocab - nouns - verbs);
  const rng = new Rng(subSeed(p.seed, 0));
  // Balanced classes (half x, half y) in a seeded random order.
  const nounClass = rng.shuffle(Array.from({ length: nouns }, (_, i) => (i % 2 === 0 ? 'x' : 'y') as 'x' | 'y'));
  return { nouns, verbs, adjectives, nounClass };
}

function reorderPair(rng: Rng, p: SyntheticParams, g: Grammar): [string[], string[]] {
  const len = rng.int(p.minLen, p.maxLen);
  const adjTotal = len - 3;
  const subjAdj = rng.int(0, adjTotal);
  const objAdj = adjTotal - subjAdj;
  const subj = rng.int(0, g.nouns - 1);
  const obj = rng.int(0, g.nouns - 1);
  const verb = rng.int(0, g.verbs - 1);
  const adjs = (n: number) => Array.from({ length: n }, () => rng.int(0, g.adjectives - 1));
  const sa = adjs(subjAdj);
  const oa = adjs(objAdj);
  const cs = g.nounClass[subj];
  const co = g.nounClass[obj];
  const src = [...sa.map((a) => `a${a}`), `n${subj}`, `v${verb}`, ...oa.map((a) => `a${a}`), `n${obj}`];
  const tgt = [`N${subj}`, ...sa.map((a) => `A${a}.${cs}`), `N${obj}`, ...oa.map((a) => `A${a}.${co}`), `V${verb}.${cs}${co}`];
  return [src, tgt];
}
