/**
 * `ablate delete RUN… | --experiment NAME [--yes] --db FILE`: deletes runs (or an experiment with
 * its runs): their rows, metrics, hypotheses and checkpoint folders. Lists what would go first and
 * asks on a terminal; without one it refuses unless `--yes`. Queued or running runs are refused
 * (cancel them first). With a worker running the queue, the worker carries the delete out.
 */
import type { Command } from 'commander';
import { addDbOptions, resolveDb, type DbOptions } from '../support';
import { confirmOnTerminal, planLines, selectionFrom } from '../deletion';
import { Workbench } from '../../service/workbench';

interface DeleteOptions extends DbOptions {
  experiment?: string;
  yes?: boolean;
}

export function register(program: Command): void {
  addDbOptions(program.command('delete').argument('[runs...]', 'run ids').description('delete runs or a whole experiment: rows, metrics, hypotheses and checkpoint files (asks first)'))
    .option('--experiment <name>', 'delete this experiment and every run of it')
    .option('--yes', 'delete without asking (needed when stdin is not a terminal)')
    .action(async (runArgs: string[], opts: DeleteOptions) => {
      const { dbPath, dataDir } = resolveDb(opts, true);
      const wb = await Workbench.open({ dbPath, dataDir, autoStart: false, log: (line) => process.stderr.write(`${line}\n`) });
      try {
        const selection = selectionFrom(wb, 'delete', runArgs, opts.experiment);
        const plan = await wb.planDeletion(selection);
        process.stderr.write(`${opts.yes ? 'deleting' : 'would delete'} ${planLines(plan).join('\n')}\n`);
        if (!opts.yes && !(await confirmOnTerminal('delete these?', 'delete: not confirmed: stdin is not a terminal; pass --yes to delete without asking'))) {
          process.stderr.write('nothing deleted\n');
          return;
        }
        await wb.deleteRuns(selection);
        process.stdout.write(`deleted ${plan.experiment ? `experiment ${plan.experiment.name} and ` : ''}run(s) ${plan.runs.map((r) => r.id).join(', ') || '(none)'}\n`);
      } finally {
        await wb.close();
      }
    });
}
