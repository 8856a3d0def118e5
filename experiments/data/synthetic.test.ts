import { describe, expect, it } from 'vitest';
import { DataSchema } from '../../contract/spec';
import { loadTokenizer, prepareData } from './index';
import { generateSynthetic, syntheticParams } from './synthetic';

const params = (task: string, extra: Record<string, unknown> = {}) => syntheticParams(DataSchema.parse({ task, ...extra }));

describe('synthetic tasks', () => {
  it('generate identical data from the same seed and different data from another seed', () => {
    for (const task of ['synthetic-copy', 'synthetic-reverse', 'synthetic-reorder']) {
      const a = generateSynthetic(params(task, { seed: 7, train_size: 300 }));
      const b = generateSynthetic(params(task, { seed: 7, train_size: 300 }));
      const c = generateSynthetic(params(task, { seed: 8, train_size: 300 }));
      expect(b).toEqual(a);
      expect(c.train.sources).not.toEqual(a.train.sources);
    }
  });

  it('gives identical token ids through prepareData for the same seed', async () => {
    const cfg = DataSchema.parse({ task: 'synthetic-reorder', seed: 3, train_size: 200 });
    const [a, b] = [await prepareData(cfg, '/nonexistent-cache-unused'), await prepareData(cfg, '/nonexistent-cache-unused')];
    expect(b.train.map((p) => [...p.src, -1, ...p.tgt])).toEqual(a.train.map((p) => [...p.src, -1, ...p.tgt]));
    expect(a.info.cacheHit).toBe(false);
    // A closed vocabulary: no generated symbol is UNK (id 3).
    for (const p of [...a.train, ...a.valid, ...(a.test ?? [])]) expect([...p.src, ...p.tgt]).not.toContain(3);
  });

  it('map each symbol to one id wherever it stands, and decode back to the generated text', async () => {
    const d = await prepareData(DataSchema.parse({ task: 'synthetic-reverse', vocab: 10, train_size: 500 }), '/nonexistent-cache-unused');
    // 4 reserved ids + w0…w9, shared by source and target.
    expect(d.srcTokenizer.vocabSize).toBe(14);
    expect(d.tgtTokenizer).toBe(d.srcTokenizer);
    const copy = loadTokenizer(JSON.parse(JSON.stringify(d.srcTokenizer.toJSON())));
    for (const p of d.train) {
      expect([...p.tgt]).toEqual([...p.src].reverse());
      expect(d.tgtTokenizer.decode([...p.tgt])).toBe(p.target);
      expect(copy.encode(p.source)).toEqual([...p.src]);
    }
  });

  it('respect the length range and the copy / reverse rules', () => {
    const copy = generateSynthetic(params('synthetic-copy', { min_len: 3, max_len: 9, vocab: 10 }));
    const rev = generateSynthetic(params('synthetic-reverse', { min_len: 3, max_len: 9, vocab: 10 }));
    for (const [i, s] of copy.train.sources.entries()) {
      const words = s.split(' ');
      expect(words.length).toBeGreaterThanOrEqual(3);
      expect(words.length).toBeLessThanOrEqual(9);
      expect(words.every((w) => /^w\d$/.test(w))).toBe(true);
      expect(copy.train.targets[i]).toBe(s);
    }
    for (const [i, s] of rev.train.sources.entries()) expect(rev.train.targets[i]).toBe(s.split(' ').reverse().join(' '));
    // Sizes as configured; defaults from the issue (4000 / 200 / 200).
    expect([copy.train.sources.length, copy.valid.sources.length, copy.test.sources.length]).toEqual([4000, 200, 200]);
  });

  it('reorder: SVO → SOV, adjectives after their noun agreeing with it, the verb agreeing with subject and object', () => {
    const data = generateSynthetic(params('synthetic-reorder', { max_len: 12, train_size: 2000 }));
    // Each noun's class must be one fixed value across the whole data set: learn it from the
    // targets and check every inflection against the rule.
    const nounClass = new Map<string, string>();
    const classOf = (noun: string, cls: string) => {
      if (!nounClass.has(noun)) nounClass.set(noun, cls);
      expect(nounClass.get(noun)).toBe(cls);
    };
    let farAgreements = 0;
    for (const [i, source] of data.train.sources.entries()) {
      const s = source.split(' ');
      const t = data.train.targets[i].split(' ');
      const v = s.findIndex((w) => w.startsWith('v'));
      const subjAdj = s.slice(0, v - 1);
      const subj = s[v - 1];
      const objAdj = s.slice(v + 1, -1);
      const obj = s[s.length - 1];
      expect(subj).toMatch(/^n\d+$/);
      expect(obj).toMatch(/^n\d+$/);
      expect([...subjAdj, ...objAdj].every((w) => /^a\d+$/.test(w))).toBe(true);
      const verbForm = t[t.length - 1];
      const [verb, agreement] = verbForm.split('.');
      expect(verb).toBe(s[v].toUpperCase());
      classOf(subj, agreement[0]);
      classOf(obj, agreement[1]);
      const expected = [subj.toUpperCase(), ...subjAdj.map((a) => `${a.toUpperCase()}.${agreement[0]}`), obj.toUpperCase(), ...objAdj.map((a) => `${a.toUpperCase()}.${agreement[1]}`), verbForm];
      expect(t).toEqual(expected);
      if (t.length - 1 >= 6) farAgreements++;
    }
    // Both classes occur, and many verbs sit ≥ 6 tokens after the subject they agree with.
    expect(new Set(nounClass.values())).toEqual(new Set(['x', 'y']));
    expect(farAgreements).toBeGreaterThan(500);
  });
});
