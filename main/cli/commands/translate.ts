/**
 * `ablate translate --db FILE --run ID [--beam K] [--alpha A]`: translates stdin lines (one
 * sentence per line) with the run's latest checkpoint; one translation per line on stdout.
 * Beam and length penalty default to the run's own decode settings. The model runs in the
 * workbench's inference process, as the app's attention maps do.
 */
import type { Command } from 'commander';
import { UserError } from '../../../contract/errors';
import { addDbOptions, openReader, parsePositiveInt, type DbOptions } from '../support';

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
      const beam = opts.beam !== undefined ? parsePositiveInt('--beam', opts.beam) : undefined;
      const alpha = opts.alpha !== undefined ? Number(opts.alpha) : undefined;
      if (alpha !== undefined && (!Number.isFinite(alpha) || alpha < 0)) throw new UserError(`--alpha: expected a number ≥ 0, got "${opts.alpha}"`);
      const wb = await openReader(opts);
      try {
        if (!wb.runRow(runId)) throw new UserError(`--run ${opts.run}: no such run in ${opts.db}`);
        const lines = (await readStdin()).split(/\r?\n/);
        if (lines.length && lines[lines.length - 1] === '') lines.pop();
        const out = lines.length ? await wb.translate(runId, lines, { beam, alpha }) : [];
        process.stdout.write(out.length ? `${out.join('\n')}\n` : '');
      } finally {
        await wb.close();
      }
    });
}
