/**
 * `ablate runs --db FILE [--json] [--experiment NAME]`: every run with its state, config hash,
 * step and final metrics. Read-only: it never touches a queue another process is working on.
 */
import type { Command } from 'commander';
import { openStore } from '../../../db/store';
import { UserError } from '../../../contract/errors';
import { addDbOptions, resolveDb, runJson, type DbOptions } from '../support';

interface RunsOptions extends DbOptions {
  json?: boolean;
  experiment?: string;
}

const num = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits));

export function register(program: Command): void {
  addDbOptions(program.command('runs').description('list runs: state, config hash, step, final metrics'))
    .option('--json', 'print the runs as a JSON array')
    .option('--experiment <name>', 'only this experiment\'s runs')
    .action((opts: RunsOptions) => {
      const { dbPath } = resolveDb(opts, true);
      const store = openStore(dbPath);
      try {
        let experimentId: number | undefined;
        if (opts.experiment !== undefined) {
          const exp = store.getExperimentByName(opts.experiment);
          if (!exp) throw new UserError(`--experiment ${opts.experiment}: no such experiment (have: ${store.listExperiments().map((e) => e.name).join(', ') || 'none'})`);
          experimentId = exp.id;
        }
        const runs = store.listRuns(experimentId === undefined ? undefined : { experimentId });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(runs.map(runJson), null, 2)}\n`);
          return;
        }
        const header = ['id', 'experiment', 'variant', 'seed', 'state', 'hash', 'step', 'backend', 'valid_ppl', 'valid_bleu', 'test_bleu', 'params', 'error'];
        const rows = runs.map((r) => [
          String(r.id),
          r.experiment,
          r.variant,
          String(r.seed),
          r.state,
          r.configHash,
          `${r.step}/${r.totalSteps}`,
          r.backend ?? '',
          num(r.metrics.valid_ppl, 2),
          num(r.metrics.valid_bleu, 2),
          num(r.metrics.test_bleu, 2),
          r.params === null ? '' : String(r.params),
          r.error ?? '',
        ]);
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
        const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
        process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
      } finally {
        store.close();
      }
    });
}
