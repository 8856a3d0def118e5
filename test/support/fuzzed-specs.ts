/**
 * Fuzzed YAML specs (issue 15: 4 of 325 fuzzed specs gave stack traces): a valid spec mutated with
 * a fixed seed — anchors, aliases to nothing, alias bombs, merge keys, tags, stray indicators, deep
 * nesting, cut lines — plus specs written to break a parser. test/spec-fuzz.test.ts parses them;
 * `npm run bench faults` queues them through `ablate serve`.
 */

const VALID = [
  'name: fuzz',
  'data: { task: synthetic-copy, vocab: 8, min_len: 3, max_len: 6, tokenizer: { kind: word, vocab: 32 } }',
  'base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: 0.1 }',
  'train:',
  '  steps: 40',
  '  seeds: [1, 2]',
  '  decode: { beam: 2, alpha: 0.6 }',
  'variants:',
  '  - { name: h1, heads: 1 }',
  '  - name: wide',
  '    d_model: 32',
  'grid:',
  '  dropout: [0, 0.1]',
].join('\n');

/** A small LCG: the same 300 specs on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SNIPPETS = [
  '&a', '*a', '*nope', '<<: *a', '!!binary', '!!set', '!!omap', '!!timestamp', '!foo', '!!str', '!!int', '? ', ': ', '- ', '{', '}', '[', ']', ',', '"', "'", '|', '>', '#', '%YAML 1.1', '---', '...', '@', '`', '\t', '\\u202e', '\u202e', '\u0000', '\ufeff', 'null', '~', '.inf', '-.nan', '0x1F', '1e999', 'true', 'y',
];

function mutate(r: () => number): string {
  let lines = VALID.split('\n');
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    const kind = Math.floor(r() * 8);
    const line = lines[i];
    const at = Math.floor(r() * (line.length + 1));
    const snippet = SNIPPETS[Math.floor(r() * SNIPPETS.length)];
    if (kind === 0) lines[i] = line.slice(0, at) + snippet + line.slice(at);
    else if (kind === 1) lines[i] = line.slice(0, at) + line.slice(at + 1 + Math.floor(r() * 5));
    else if (kind === 2) lines.splice(i, 0, line);
    else if (kind === 3) lines.splice(i, 1);
    else if (kind === 4) lines[i] = line.replace(/: /, `: &a${Math.floor(r() * 3)} `);
    else if (kind === 5) lines[i] = line.replace(/: ([^{[].*)$/, `: *a${Math.floor(r() * 3)}`);
    else if (kind === 6) lines = [...lines.slice(0, i), `x${i}: &a [${'*a, '.repeat(Math.floor(r() * 12))}1]`, ...lines.slice(i)];
    else lines[i] = ' '.repeat(Math.floor(r() * 6)) + line.trimStart();
  }
  return lines.join('\n');
}

/** Specs meant to break things rather than mutations of a good one. */
export const NASTY: readonly string[] = [
  // A billion laughs.
  ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n'),
  'name: &n x\ndata: *n\n',
  'name: x\ndata: *undefined_anchor\n',
  'a: &a [*a]\n',
  `name: deep\ndata: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
  `name: deep\ndata: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`,
  '? [a, b]\n: c\n',
  '--- a\n--- b\n',
  'name: x\n\tdata: 1\n',
  '<<: *x\n',
  'name: !!binary aGVsbG8=\ndata: { task: synthetic-copy }\n',
  'name: x\ndata: !!set { a, b }\n',
  '',
  '\ufeff',
  '[1, 2, 3]',
  'name: "unterminated\n',
];

/** The NASTY specs, then `mutations` mutations of the valid one: the same list for the same seed. */
export function fuzzedSpecs(seed = 15, mutations = 300): string[] {
  const r = rng(seed);
  return [...NASTY, ...Array.from({ length: mutations }, () => mutate(r))];
}
