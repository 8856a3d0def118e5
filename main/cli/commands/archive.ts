/**
 * `ablate archive RUN… | --experiment NAME --db FILE` and `ablate unarchive …`: archived runs and
 * experiments are hidden from `ablate runs` and the app's lists and compare views but kept whole
 * (unarchive brings them back), so nothing is asked first. `ablate runs --archived` lists them.
 */
import type { Command } from 'commander';
import { addDbOptions, resolveDb, type DbOptions } from '../support';
import { selectionFrom } from '../deletion';
import { Workbench } from '../../service/workbench';

interface ArchiveOptions extends DbOptions {
  experiment?: string;
}

function registerOne(program: Command, archived: boolean): void {
  const name = archived ? 'archive' : 'unarchive';
  addDbOptions(
    program
      .command(name)
      .argument('[runs...]', 'run ids')
      .description(archived ? 'hide runs or an experiment from lists and compare views, keeping everything (undo with unarchive)' : 'bring archived runs or an experiment back to the lists'),
  )
    .option('--experiment <name>', `${name} this experiment with every run of it`)
    .action(async (runArgs: string[], opts: ArchiveOptions) => {
      const { dbPath, dataDir } = resolveDb(opts, true);
      const wb = await Workbench.open({ dbPath, dataDir, autoStart: false });
      try {
        const selection = selectionFrom(wb, name, runArgs, opts.experiment);
        await wb.setArchived(selection, archived);
        process.stdout.write(`${archived ? 'archived' : 'unarchived'} ${opts.experiment !== undefined ? `experiment ${opts.experiment}` : `run(s) ${runArgs.join(', ')}`}\n`);
      } finally {
        await wb.close();
      }
    });
}

export function register(program: Command): void {
  registerOne(program, true);
  registerOne(program, false);
}
