/**
 * Corpora for a cluster reached over ssh. A run's config names its corpus files by this machine's
 * paths (contract/spec.ts makes them absolute); a login node does not see them. So before a run
 * over ssh is submitted, each corpus file is copied once under the cluster root, by content:
 * `<root>/data/<sha256 prefix>/<file name>` (the name kept: readers pick gzip and TSV by it), and
 * the job.json the job reads names those copies. Another run, or another spec with the same
 * files, finds the copy there (one `test -e` a file) and sends nothing. A file that is not on this
 * machine but is on the cluster at the same path (a spec naming cluster paths) is used in place.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { UserError } from '../../../../contract/errors';
import type { RunJob } from '../../../../contract/run-protocol';
import type { ClusterFs } from './cluster-fs';

type Split = string | [string, string];

/** `job` with its corpus files copied under `clusterRoot` through `fs` (when not there yet) and named by those copies. */
export async function stageCorpus(job: RunJob, clusterRoot: string, fs: ClusterFs): Promise<RunJob> {
  const corpus = job.config.data.corpus;
  if (!corpus) return job;
  const staged = new Map<string, string>();
  const stage = async (file: string): Promise<string> => {
    const done = staged.get(file);
    if (done) return done;
    let there: string;
    if (existsSync(file)) {
      const bytes = readFileSync(file);
      const dir = posix.join(clusterRoot, 'data', createHash('sha256').update(bytes).digest('hex').slice(0, 32));
      there = posix.join(dir, posix.basename(file));
      if (!(await fs.exists(there))) {
        await fs.mkdirp(dir);
        await fs.writeFile(there, bytes);
      }
    } else if (await fs.exists(file)) there = file;
    else throw new UserError(`corpus file ${file} is neither on this machine nor on ${fs.where}`);
    staged.set(file, there);
    return there;
  };
  const split = async (s: Split | readonly [string, string]): Promise<Split> => (typeof s === 'string' ? stage(s) : [await stage(s[0]), await stage(s[1])]);
  return {
    ...job,
    config: {
      ...job.config,
      data: {
        ...job.config.data,
        corpus: { train: await split(corpus.train), valid: await split(corpus.valid), test: corpus.test === undefined ? undefined : await split(corpus.test) },
      },
    },
  };
}
