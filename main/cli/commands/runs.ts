/**
 * `ablate runs --db FILE [--json] [--experiment NAME] [--archived]`: every run with its state,
 * config hash, step and final metrics; archived runs only with --archived. Read-only: it never
 * touches a queue another process is working on.
 */
import type { Command } from 'commander';
import { addDbOptions, openReader, runJson, type DbOptions } from '../support';
import { escapeUnsafeChars } from '../../../contract/text-safety';

interface RunsOptions extends DbOptions {
  json?: boolean;
  experiment?: string;
  archived?: boolean;
}

const num = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));

export function register(program: Command): void {
  addDbOptions(program.command('runs').description('list runs: state, config hash, step, final metrics'))
    .option('--json', 'print the runs as a JSON array')
    .option('--experiment <name>', 'only this experiment\'s runs')
    .option('--archived', 'list archived runs too (`ablate archive`)')
    .action(async (opts: RunsOptions) => {
      const wb = await openReader(opts);
      try {
        const experimentId = opts.experiment !== undefined ? wb.experimentNamed(opts.experiment).id : undefined;
        const runs = await wb.listRuns({ experimentId, includeArchived: Boolean(opts.archived) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(runs.map(runJson), null, 2)}\n`);
          return;
        }
        // Cluster runs add a column: the Slurm job, its attempt (requeues) and node.
        const cluster = runs.some((r) => r.cluster);
        const header = ['id', 'experiment', 'variant', 'seed', 'state', 'hash', 'step', 'backend', ...(cluster ? ['slurm'] : []), 'valid_ppl', 'valid_bleu', 'test_bleu', 'params', 'error'];
        // Names and errors from older databases may hold control or bidi characters: shown escaped.
        const rows = runs.map((r) => [
          String(r.id),
          escapeUnsafeChars(r.experiment),
          escapeUnsafeChars(r.variant),
          String(r.seed),
          r.archivedAt ? `${r.state} (archived)` : r.state,
          r.configHash,
          `${r.step}/${r.totalSteps}`,
          r.backend ?? '',
          ...(cluster ? [r.cluster ? `${r.cluster.jobId ?? 'unsubmitted'} r${r.cluster.attempt}${r.cluster.node ? ` on ${r.cluster.node}` : ''}` : 'local'] : []),
          num(r.metrics.valid_ppl, 2),
          num(r.metrics.valid_bleu, 2),
          num(r.metrics.test_bleu, 2),
          r.params === null ? '' : String(r.params),
          escapeUnsafeChars(r.error ?? '').replace(/\n/g, ' '),
        ]);
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
        const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
        process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
      } finally {
        await wb.close();
      }
    });
}
