/**
 * `ablate translate --db FILE --run ID [--beam K] [--alpha A]`: translates stdin lines (one
 * sentence per line) with the run's latest checkpoint; one translation per line on stdout.
 * Beam and length penalty default to the run's own decode settings.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { openStore } from '../../../db/store';
import type { RunConfig } from '../../../contract/spec';
import { UserError } from '../../../contract/errors';
import { addDbOptions, parsePositiveInt, resolveDb, type DbOptions } from '../support';

interface TranslateOptions extends DbOptions {
  run: string;
  beam?: string;
  alpha?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command): void {
  addDbOptions(program.command('translate').description('translate stdin lines with a run\'s latest checkpoint'))
    .requiredOption('--run <id>', 'run id (see `ablate runs`)')
    .option('--beam <k>', 'beam width (1 = greedy; default: the run\'s decode.beam)')
    .option('--alpha <a>', 'length penalty exponent (default: the run\'s decode.alpha)')
    .action(async (opts: TranslateOptions) => {
      const runId = parsePositiveInt('--run', opts.run);
      const { dbPath } = resolveDb(opts, true);
      const store = openStore(dbPath);
      let ckptPath: string;
      let decode: RunConfig['train']['decode'];
      try {
        const run = store.getRun(runId);
        if (!run) throw new UserError(`--run ${opts.run}: no such run in ${opts.db}`);
        const ckpt = store.latestCheckpoint(runId);
        if (!ckpt) throw new UserError(`--run ${opts.run}: run has no checkpoint yet (state ${run.state}, step ${run.step})`);
        if (!existsSync(ckpt.path)) throw new UserError(`--run ${opts.run}: checkpoint file is missing: ${ckpt.path}`);
        ckptPath = ckpt.path;
        decode = (run.config as RunConfig).train.decode;
      } finally {
        store.close();
      }
      const beam = opts.beam !== undefined ? parsePositiveInt('--beam', opts.beam) : decode.beam;
      const alpha = opts.alpha !== undefined ? Number(opts.alpha) : decode.alpha;
      if (!Number.isFinite(alpha) || alpha < 0) throw new UserError(`--alpha: expected a number ≥ 0, got "${opts.alpha}"`);
      const lines = (await readStdin()).split(/\r?\n/);
      if (lines.length && lines[lines.length - 1] === '') lines.pop();
      const { openCheckpoint, translate } = await import('../../../experiments/run/inference');
      const loaded = await openCheckpoint(ckptPath);
      // Batches of 64 keep memory flat on long inputs; empty lines stay empty lines.
      const out: string[] = [];
      for (let i = 0; i < lines.length; i += 64) {
        const chunk = lines.slice(i, i + 64);
        const nonEmpty = chunk.filter((l) => l.trim() !== '');
        const translated = nonEmpty.length ? await translate(loaded, nonEmpty, { beam, alpha }) : [];
        let k = 0;
        for (const l of chunk) out.push(l.trim() === '' ? '' : translated[k++]);
      }
      process.stdout.write(out.length ? `${out.join('\n')}\n` : '');
    });
}
