/**
 * `ablate export --db FILE --format csv|md|latex [--experiment NAME] [--out FILE]`: the
 * Table-3-style result table (db/export.ts). Without --experiment: the most recent experiment.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from '../../../contract/api';
import { UserError } from '../../../contract/errors';
import { addDbOptions, openReader, type DbOptions } from '../support';

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
    .action(async (opts: ExportOptions) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new UserError(`--format: expected one of ${EXPORT_FORMATS.join(', ')}, got "${opts.format}"`);
      const wb = await openReader(opts);
      try {
        const exp = opts.experiment !== undefined ? wb.experimentNamed(opts.experiment) : wb.latestExperiment();
        if (!exp) throw new UserError(`${opts.db}: no experiments yet`);
        const text = await wb.exportTable(exp.id, opts.format as ExportFormat);
        const out = text.endsWith('\n') ? text : `${text}\n`;
        if (opts.out) {
          writeFileSync(opts.out, out);
          process.stderr.write(`wrote ${opts.out} (${exp.name}, ${opts.format})\n`);
        } else process.stdout.write(out);
      } finally {
        await wb.close();
      }
    });
}
