/**
 * Corpora staged for a cluster reached over ssh (stand-in ssh, root only behind it): each file
 * copied once by content under <root>/data, its name kept, binary-exact; a second run sends nothing;
 * a file only on the cluster is used in place; one on neither side is one line.
 */
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunJob } from '../../../../contract/run-protocol';
import { REMOTE_ROOT, standInSsh } from '../../../../test/support/stand-in-ssh';
import { shellClusterFs } from './cluster-fs';
import { stageCorpus } from './staging';

const ssh = standInSsh('ablate-staging-');
const fs = shellClusterFs(ssh.shell());
const job = (corpus: object): RunJob => ({ runId: 1, backend: 'cpu', checkpointDir: '/c', cacheDir: '/k', config: { data: { corpus, tokenizer: { kind: 'bpe' } } } }) as unknown as RunJob;

describe('corpora for a cluster over ssh', () => {
  it('copies each file once by content under the root, keeping its name, and names the copies in the job', async () => {
    const here = mkdtempSync(join(tmpdir(), 'ablate-corpus-'));
    const en = join(here, 'train.en');
    const de = join(here, "train it's.de");
    const valid = join(here, 'valid.tsv.gz');
    writeFileSync(en, 'a b c\nd e\n');
    writeFileSync(de, 'x y z\nw v\n');
    writeFileSync(valid, gzipSync('a\tx\n'));
    const root = ssh.remote(join(ssh.base, 'cluster'));
    const before = ssh.calls().length;
    const staged = await stageCorpus(job({ train: [en, de], valid }), root, fs);
    const c = staged.config.data.corpus!;
    const [sEn, sDe] = c.train as [string, string];
    expect(sEn).toMatch(new RegExp(`^${root}/data/[0-9a-f]{32}/train\\.en$`));
    expect(sDe.endsWith("/train it's.de")).toBe(true);
    expect((c.valid as string).endsWith('/valid.tsv.gz')).toBe(true);
    expect(c.test).toBeUndefined();
    for (const [local, there] of [[en, sEn], [de, sDe], [valid, c.valid as string]]) expect(readFileSync(ssh.local(there)).equals(readFileSync(local))).toBe(true);
    expect(staged.checkpointDir).toBe('/c');
    const firstCalls = ssh.calls().length - before;
    // Another run (or spec) with the same files: one existence test each, nothing sent.
    const again = ssh.calls().length;
    expect((await stageCorpus(job({ train: [en, de], valid }), root, fs)).config).toEqual(staged.config);
    expect(ssh.calls().length - again).toBe(3);
    expect(firstCalls).toBe(9); // per file: test, mkdir, write
    expect(existsSync(REMOTE_ROOT)).toBe(false);
  });

  it('uses a file that is only on the cluster in place, and names one that is on neither side', async () => {
    const root = ssh.remote(join(ssh.base, 'cluster2'));
    mkdirSync(ssh.local(`${root}/shared`), { recursive: true });
    writeFileSync(ssh.local(`${root}/shared/train.tsv`), 'a\tb\n');
    const staged = await stageCorpus(job({ train: `${root}/shared/train.tsv`, valid: `${root}/shared/train.tsv` }), root, fs);
    expect(staged.config.data.corpus).toMatchObject({ train: `${root}/shared/train.tsv`, valid: `${root}/shared/train.tsv` });
    await expect(stageCorpus(job({ train: '/nowhere/train.tsv', valid: '/nowhere/valid.tsv' }), root, fs)).rejects.toThrow('corpus file /nowhere/train.tsv is neither on this machine nor on ssh ana@login.hpc');
  });
});
