/**
 * `ablate bleu` and `ablate tokenize` as a user runs them (`node bin/ablate.mjs …` in a child
 * process), checked against outputs of the real sacreBLEU 2.6.0
 * (test/fixtures/sacrebleu/sacrebleu-vectors.json).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadVectors, perturb, readLines, REPO_ROOT, SHARED_DATA_DIR } from './fixtures/sacrebleu/vectors';

const vectors = loadVectors();
const dir = mkdtempSync(join(tmpdir(), 'ablate-cli-bleu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ablate(args: string[], stdin: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/ablate.mjs', ...args], { cwd: REPO_ROOT, input: stdin, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let fileCount = 0;
function writeLines(lines: readonly string[]): string {
  const file = join(dir, `f${fileCount++}.txt`);
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

function bleuCase(id: string) {
  const c = vectors.bleu_cases.find((x) => x.id === id);
  if (!c) throw new Error(`no fixture case ${id}`);
  return c;
}

describe('ablate bleu', () => {
  const cases: [string, string[]][] = [
    ['clip-by-max-over-refs', ['--effective-order']],
    ['lowercase-intl', ['--lowercase', '--tokenize', 'intl']],
    ['max-order-2-floor', ['--smooth', 'floor', '--max-ngram-order', '2']],
    ['add-k-corpus', ['--smooth', 'add-k', '--smooth-value', '0.5']],
  ];
  for (const [id, flags] of cases) {
    it(`prints sacreBLEU's line for ${id} (${flags.join(' ')})`, () => {
      const c = bleuCase(id);
      const r = ablate(['bleu', ...flags, ...c.refs.map((s) => writeLines(s as string[]))], c.hyps.map((h) => `${h}\n`).join(''));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${c.expected.line}\n`);
    });
  }

  it('prints {"score","precisions","bp","ratio","sys_len","ref_len"} with --json', () => {
    const c = bleuCase('clip-by-max-over-refs');
    const r = ablate(['bleu', '--json', '--effective-order', ...c.refs.map((s) => writeLines(s as string[]))], `${c.hyps[0]}\n`);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(j).sort()).toEqual(['bp', 'precisions', 'ratio', 'ref_len', 'score', 'sys_len']);
    expect(j.score as number).toBeCloseTo(c.expected.score, 10);
    expect(j.precisions).toHaveLength(4);
    (j.precisions as number[]).forEach((p, i) => expect(p).toBeCloseTo(c.expected.precisions[i], 10));
    expect([j.bp, j.ratio, j.sys_len, j.ref_len]).toEqual([c.expected.bp, c.expected.ratio, c.expected.sys_len, c.expected.ref_len]);
  });

  it('reads hypotheses ending in \\r\\n and trailing spaces as sacreBLEU does', () => {
    const c = bleuCase('trailing-whitespace-hyp');
    const r = ablate(['bleu', writeLines(c.refs[0] as string[])], c.hyps.map((h) => `${h}\r\n`).join(''));
    expect(r.stdout).toBe(`${c.expected.line}\n`);
  });

  const haveData = existsSync(SHARED_DATA_DIR);
  it.skipIf(!haveData)(`scores the whole Multi30k test set like sacreBLEU${haveData ? '' : ` — skipped: ${SHARED_DATA_DIR} not found`}`, () => {
    const c = vectors.corpus_cases.find((x) => x.id === 'm30k-test-de-drop-2refs')!;
    const hyps = perturb(readLines(c.hyps.file), c.hyps.perturb);
    const refFiles = c.refs.map((s) => writeLines(perturb(readLines(s.file), s.perturb)));
    const r = ablate(['bleu', ...refFiles], hyps.map((h) => `${h}\n`).join(''));
    expect(r.stdout).toBe(`${c.expected.line}\n`);
  });

  it.skipIf(!haveData)('scores each line with --sentence like sacreBLEU --sentence-level', () => {
    const scan = vectors.sentence_scan;
    const hyps = perturb(readLines(scan.hyps.file), scan.hyps.perturb).slice(0, scan.count);
    const ref = writeLines(readLines(scan.ref).slice(0, scan.count));
    const r = ablate(['bleu', '--sentence', '--json', ref], hyps.map((h) => `${h}\n`).join(''));
    expect(r.status).toBe(0);
    const scores = r.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { score: number }).score);
    expect(scores).toHaveLength(scan.count);
    scores.forEach((s, i) => expect(Math.abs(s - scan.scores[i]), `line ${i}`).toBeLessThanOrEqual(1e-12 * Math.max(1, scan.scores[i])));
  });

  it('fails with one line naming the reference file and both line counts when they differ', () => {
    const ref = writeLines(['a b c', 'd e f', 'g h i']);
    const r = ablate(['bleu', ref], 'a b c\nd e f\n');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`ablate: reference file ${ref} has 3 lines but stdin has 2\n`);
  });

  it('fails with one line naming a missing reference file', () => {
    const missing = join(dir, 'missing.txt');
    const r = ablate(['bleu', missing], 'a b c\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ablate: reference file not found: ${missing}\n`);
  });
});

describe('ablate tokenize', () => {
  // Lines without \n or \r: those would be split into several input lines.
  const single = vectors.tokenizer_cases.filter((c) => !/[\r\n]/.test(c.line));
  for (const kind of ['13a', 'intl', 'char', 'none'] as const) {
    it(`prints what sacreBLEU's ${kind} tokenizer gives BLEU for each stdin line`, () => {
      const cs = single.filter((c) => c.tokenize === kind);
      const r = ablate(['tokenize', '--tokenize', kind], cs.map((c) => `${c.line}\n`).join(''));
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(cs.map((c) => `${c.preprocessed}\n`).join(''));
    });
  }

  it('lowercases first with --lowercase', () => {
    const cs = single.filter((c) => c.tokenize === 'intl');
    const r = ablate(['tokenize', '--tokenize', 'intl', '--lowercase'], cs.map((c) => `${c.line}\n`).join(''));
    expect(r.stdout).toBe(cs.map((c) => `${c.preprocessed_lowercase}\n`).join(''));
  });

  it('rejects an unknown tokenizer in one line', () => {
    const r = ablate(['tokenize', '--tokenize', 'moses'], 'a\n');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('ablate: --tokenize: expected one of 13a, intl, char, none, got "moses"\n');
  });
});
