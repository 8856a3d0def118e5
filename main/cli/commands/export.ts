/**
 * `ablate export --db FILE --format csv|md|latex [--experiment NAME] [--out FILE] [--stats]
 * [--archived]`: the Table-3-style result table (db/export.ts). Without --experiment: the most
 * recent experiment. Archived runs (`ablate archive`) are left out, as `ablate runs` leaves them out,
 * and stderr says how many; --archived counts them, as `ablate runs --archived` lists them.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from '../../../contract/api';
import { UserError } from '../../../contract/errors';
import { archivedNote } from '../../../contract/result-notes';
import { addDbOptions, openReader, type DbOptions } from '../support';
import { environmentError } from '../environment-errors';

/** Refuses an --out that cannot be written before any work: a folder, or a file in a missing folder. */
export function checkOutPath(out: string): void {
  const abs = resolve(out);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new UserError(`--out ${out}: is a folder; name the file to write (e.g. ${out.replace(/\/+$/, '')}/table.md)`);
  const dir = dirname(abs);
  if (!existsSync(dir)) throw new UserError(`--out ${out}: the folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UserError(`--out ${out}: ${dir} is not a folder`);
}

interface ExportOptions extends DbOptions {
  format: string;
  experiment?: string;
  out?: string;
  stats?: boolean;
  archived?: boolean;
}

export function register(program: Command): void {
  addDbOptions(program.command('export').description('export the result table (one row per variant, mean ± std over seeds)'))
    .option('--format <format>', 'csv, md or latex', 'md')
    .option('--experiment <name>', 'experiment to tabulate (default: the most recent)')
    .option('--out <file>', 'write to FILE instead of stdout')
    .option('--stats', 'add the significance table: per variant vs base, MultEval mean/s_dev/s_sel/p (approximate randomization) and sacreBLEU paired bootstrap per seed pair')
    .option('--archived', 'count archived runs too (`ablate archive`; left out by default, as in `ablate runs`)')
    .action(async (opts: ExportOptions) => {
      if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format)) throw new UserError(`--format: expected one of ${EXPORT_FORMATS.join(', ')}, got "${opts.format}"`);
      if (opts.out !== undefined) checkOutPath(opts.out);
      const wb = await openReader(opts);
      try {
        const includeArchived = Boolean(opts.archived);
        const exp = opts.experiment !== undefined ? wb.experimentNamed(opts.experiment) : wb.latestExperiment({ includeArchived });
        if (!exp) throw new UserError(`${opts.db}: ${wb.latestExperiment({ includeArchived: true }) ? 'every experiment is archived; --archived exports the most recent' : 'no experiments yet'}`);
        // Named but archived: every run of it is archived, so the table would be empty.
        if (exp.archivedAt && !includeArchived) throw new UserError(`--experiment ${exp.name}: archived; pass --archived to export it anyway, or \`ablate unarchive --experiment ${exp.name}\` first`);
        const { text, table } = await wb.exportedTable(exp.id, opts.format as ExportFormat, { stats: opts.stats, includeArchived });
        const archived = archivedNote(table);
        if (archived) process.stderr.write(`${exp.name}: ${archived}; --archived counts them\n`);
        const out = text.endsWith('\n') ? text : `${text}\n`;
        if (opts.out) {
          try {
            writeFileSync(opts.out, out);
          } catch (err) {
            const env = environmentError(err);
            if (!env) throw err;
            // A write error (ENOSPC) carries no path: name the file here.
            throw new UserError(`--out ${opts.out}: ${env.message.startsWith(opts.out) ? env.message.slice(opts.out.length + 2) : env.message}`);
          }
          process.stderr.write(`wrote ${opts.out} (${exp.name}, ${opts.format})\n`);
        } else process.stdout.write(out);
      } finally {
        await wb.close();
      }
    });
}
