/**
 * `ablate cancel RUN… --db FILE`: cancels queued, interrupted or running runs. With a worker (or
 * `ablate run`, `ablate serve`) running the queue, that process stops them (a running run stops
 * within a step and ends `cancelled`); on an idle database they are cancelled here. What a delete
 * of a queued or running run asks for first.
 */
import type { Command } from 'commander';
import { addDbOptions, parsePositiveInt, resolveDb, type DbOptions } from '../support';
import { Workbench } from '../../service/workbench';

export function register(program: Command): void {
  addDbOptions(program.command('cancel').argument('<runs...>', 'run ids').description('cancel queued, interrupted or running runs (the process running the queue stops them)')).action(
    async (runArgs: string[], opts: DbOptions) => {
      const ids = runArgs.map((a) => parsePositiveInt('cancel RUN', a));
      const { dbPath, dataDir } = resolveDb(opts, true);
      const wb = await Workbench.open({ dbPath, dataDir, autoStart: false });
      try {
        for (const id of ids) await wb.cancelRun(id);
        process.stdout.write(`cancel requested: ${ids.join(', ')}\n`);
      } finally {
        await wb.close();
      }
    },
  );
}
