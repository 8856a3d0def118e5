/**
 * `ablate export --db FILE --format csv|md|latex [--experiment NAME] [--out FILE]`: the
 * Table-3-style result table (db/export.ts). Without --experiment: the most recent experiment.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildResultTable, formatResultTable } from '../../../db/export';
import { openStore } from '../../../db/store';
import type { ExportFormat } from '../../../contract/api';
import { UserError } from '../../../contract/errors';
import { addDbOptions, resolveDb, type DbOptions } from '../support';

const FORMATS: readonly ExportFormat[] = ['csv', 'md', 'latex'];

interface ExportOptions extends DbOptions {
  format: string;
  experiment?: string;
  out?: string;
}

export function register(program: Command): void {
  addDbOptions(program.command('export').description('export the result table (one row per variant, mean ± std over seeds)'))
    .option('--format <format>', 'csv, md or latex', 'md')
    .option('--experiment <name>', 'experiment to tabulate (default: the most recent)')
    .option('--out <file>', 'write to FILE instead of stdout')
    .action((opts: ExportOptions) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) throw new UserError(`--format: expected one of ${FORMATS.join(', ')}, got "${opts.format}"`);
      const { dbPath } = resolveDb(opts, true);
      const store = openStore(dbPath);
      try {
        const experiments = store.listExperiments();
        const exp = opts.experiment !== undefined ? store.getExperimentByName(opts.experiment) : [...experiments].sort((a, b) => b.createdAt - a.createdAt || b.id - a.id)[0];
        if (!exp) {
          throw new UserError(
            opts.experiment !== undefined
              ? `--experiment ${opts.experiment}: no such experiment (have: ${experiments.map((e) => e.name).join(', ') || 'none'})`
              : `${opts.db}: no experiments yet`,
          );
        }
        const text = formatResultTable(buildResultTable(store, exp.id), opts.format as ExportFormat);
        const out = text.endsWith('\n') ? text : `${text}\n`;
        if (opts.out) {
          writeFileSync(opts.out, out);
          process.stderr.write(`wrote ${opts.out} (${exp.name}, ${opts.format})\n`);
        } else process.stdout.write(out);
      } finally {
        store.close();
      }
    });
}
