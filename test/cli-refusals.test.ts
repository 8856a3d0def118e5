/**
 * Input the CLI must refuse in one line (issue 15), as a user meets it: `node bin/ablate.mjs …` in
 * a child process. Each case: exit 1, exactly one line on stderr starting "ablate: ", naming the
 * file, flag or path, and no stack trace. Permission cases run as `nobody` when the tests run as
 * root (root ignores chmod).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ROOT } from './support/workbench';

const dir = mkdtempSync(join(tmpdir(), 'ablate-refusals-'));
chmodSync(dir, 0o777);
const asRoot = process.getuid?.() === 0;

function ablate(args: string[], opts: { input?: string | Buffer; unprivileged?: boolean } = {}) {
  const res = spawnSync(process.execPath, [join(ROOT, 'bin/ablate.mjs'), ...args], {
    cwd: dir,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 120_000,
    ...(opts.unprivileged && asRoot ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: dir } } : {}),
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** Exit 1 and one "ablate: …" line matching `pattern`. */
function expectOneLine(res: { code: number | null; stderr: string }, pattern: RegExp | string): void {
  expect(res.stderr).not.toMatch(/\n\s+at /);
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^ablate: /);
  if (typeof pattern === 'string') expect(lines[0]).toBe(`ablate: ${pattern}`);
  else expect(lines[0]).toMatch(pattern);
  expect(res.code).toBe(1);
}

const SPEC = 'name: t\ndata: { task: synthetic-copy }\nbase: { layers: 1, d_model: 16, heads: 2, d_ff: 32 }\ntrain: { steps: 2 }\n';

describe('spec files', () => {
  it('refuses invalid UTF-8, naming the file and byte offset', () => {
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.concat([Buffer.from('name: caf'), Buffer.from([0xe9]), Buffer.from('\ndata: { task: synthetic-copy }\n')]));
    expectOneLine(ablate(['queue', 'latin1.yaml', '--db', 'x.sqlite']), 'latin1.yaml: not valid UTF-8 (byte 0xe9 at byte offset 9); save it as UTF-8');
  });

  it('escapes control characters and bidi marks of a name in the error instead of printing them raw', () => {
    writeFileSync(join(dir, 'bidi.yaml'), `${SPEC}variants: [{ name: "a\\u202Eexe.txt" }, { name: "a\\u202Eexe.txt" }]\n`);
    const res = ablate(['queue', 'bidi.yaml', '--db', 'x.sqlite']);
    expectOneLine(res, /variants\[0\]\.name: must not contain control characters or bidirectional marks/);
    expect(res.stderr).not.toContain('\u202e');
    writeFileSync(join(dir, 'key.yaml'), `${SPEC}x\u202eevil: 1\n`);
    const key = ablate(['queue', 'key.yaml', '--db', 'x.sqlite']);
    expectOneLine(key, /Unrecognized key: "x\\u\{202e\}evil"/);
  });

  it('refuses the issue’s 1e6-cell grid quickly, with the numbers', () => {
    const v = '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]';
    writeFileSync(join(dir, 'grid.yaml'), `name: g\ndata: { task: synthetic-copy }\ngrid: { layers: ${v}, d_ff: ${v}, d_k: ${v}, d_v: ${v}, dropout: [0, .1, .2, .3, .4, .5, .6, .7, .8, .9], label_smoothing: [0, .1, .2, .3, .4, .5, .6, .7, .8, .9] }\n`);
    expectOneLine(ablate(['queue', 'grid.yaml', '--db', 'x.sqlite']), /grid: 1000000 cells \(10 layers × 10 d_ff × 10 d_k × 10 d_v × 10 dropout × 10 label_smoothing\) is more than 1000/);
  });
});

describe('ablate bleu input', () => {
  it('refuses --max-ngram-order 1e9 and above 10', () => {
    writeFileSync(join(dir, 'ref.txt'), 'a b c\n');
    expectOneLine(ablate(['bleu', 'ref.txt', '--max-ngram-order', '1e9'], { input: 'a b c\n' }), '--max-ngram-order: expected a positive integer, got "1e9"');
    expectOneLine(ablate(['bleu', 'ref.txt', '--max-ngram-order', '1000000000'], { input: 'a b c\n' }), '--max-ngram-order: at most 10, got 1000000000');
  });

  it('refuses invalid UTF-8 in a reference file or on stdin, naming it and the byte offset', () => {
    writeFileSync(join(dir, 'bad-ref.txt'), Buffer.from([0x61, 0x0a, 0x62, 0xff, 0x0a]));
    expectOneLine(ablate(['bleu', 'bad-ref.txt'], { input: 'a\nb\n' }), 'reference file bad-ref.txt: not valid UTF-8 (byte 0xff at byte offset 3); save it as UTF-8');
    expectOneLine(ablate(['bleu', 'ref.txt'], { input: Buffer.from([0x61, 0xc3, 0x28, 0x0a]) }), 'stdin (hypotheses): not valid UTF-8 (byte 0xc3 at byte offset 1); save it as UTF-8');
  });
});

describe('databases and files the CLI cannot use', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'spec.yaml'), SPEC);
    const made = ablate(['queue', 'spec.yaml', '--db', 'ok.sqlite']);
    expect(made.code, made.stderr).toBe(0);
    copyFileSync(join(dir, 'ok.sqlite'), join(dir, 'ro.sqlite'));
    chmodSync(join(dir, 'ro.sqlite'), 0o444);
    mkdirSync(join(dir, 'rodir'));
    copyFileSync(join(dir, 'ok.sqlite'), join(dir, 'rodir', 'ok.sqlite'));
    chmodSync(join(dir, 'rodir'), 0o555);
    writeFileSync(join(dir, 'notdb.sqlite'), 'just some text, not SQLite\n'.repeat(100));
  }, 120_000);

  it('a chmod 444 database: one line naming the file for queue and run', () => {
    for (const cmd of ['queue', 'run']) expectOneLine(ablate([cmd, 'spec.yaml', '--db', 'ro.sqlite', '--force'], { unprivileged: true }), /^ablate: ro\.sqlite: the database is read-only .*\(SQLITE_READONLY\)$/);
  });

  it('a read-only folder: one line naming the path for run, queue, runs and export', () => {
    for (const args of [['run', 'spec.yaml'], ['queue', 'spec.yaml'], ['runs'], ['export']])
      expectOneLine(ablate([...args, '--db', 'rodir/ok.sqlite'], { unprivileged: true }), /^ablate: \S*rodir\S*: (permission denied|the database is read-only)/);
  });

  it('a full disk (a file-size limit): one line naming the database for queue', () => {
    const res = spawnSync('bash', ['-c', `ulimit -f 1; exec "${process.execPath}" "${join(ROOT, 'bin/ablate.mjs')}" queue spec.yaml --db ok.sqlite --force`], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expectOneLine({ code: res.status, stderr: res.stderr }, /^ablate: ok\.sqlite: input\/output error writing the database \(a full or read-only disk\?\) \(SQLITE_IOERR\w*\)$/);
  });

  it('runs shows a stored name with a bidi mark or NUL escaped, never raw', () => {
    copyFileSync(join(dir, 'ok.sqlite'), join(dir, 'ctl.sqlite'));
    const db = new Database(join(dir, 'ctl.sqlite'));
    db.prepare('UPDATE runs SET variant = ?, error = ? WHERE id = 1').run('evil\u202Etxt.exe', 'line one\nline\u0000two');
    db.close();
    const res = ablate(['runs', '--db', 'ctl.sqlite']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('evil\\u{202e}txt.exe');
    expect(res.stdout).toContain('line one line\\u{0000}two');
    expect(res.stdout).not.toMatch(/[\u0000\u202e]/);
  });

  it('runs --db on a file that is not a database', () => {
    expectOneLine(ablate(['runs', '--db', 'notdb.sqlite']), /^ablate: \S*notdb\.sqlite: not a SQLite database \(file is not a database\)$/);
  });

  it('--db naming a folder', () => {
    expectOneLine(ablate(['runs', '--db', 'rodir']), /^ablate: --db rodir: is a folder; name the database file/);
  });

  it('export --out to a missing folder or to a folder', () => {
    expectOneLine(ablate(['export', '--db', 'ok.sqlite', '--out', 'missing/table.md']), `--out missing/table.md: the folder ${join(dir, 'missing')} does not exist`);
    expectOneLine(ablate(['export', '--db', 'ok.sqlite', '--out', 'rodir']), '--out rodir: is a folder; name the file to write (e.g. rodir/table.md)');
  });
});
