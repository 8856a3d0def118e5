/**
 * `ablate retry RUN… | --failed [--from-scratch] --db FILE`: queues failed, cancelled or
 * interrupted runs again at the head of the queue. Each resumes from its newest checkpoint that
 * verifies unless `--from-scratch`; a worker (or `ablate run`) trains them. With a worker running
 * on the database, it picks them up within seconds.
 */
import type { Command } from 'commander';
import { UserError } from '../../../contract/errors';
import { addDbOptions, parsePositiveInt, resolveDb, type DbOptions } from '../support';
import { Workbench } from '../../service/workbench';

interface RetryOptions extends DbOptions {
  failed?: boolean;
  fromScratch?: boolean;
}

export function register(program: Command): void {
  addDbOptions(program.command('retry').argument('[runs...]', 'run ids').description('queue failed, cancelled or interrupted runs again, resuming from their last good checkpoint'))
    .option('--failed', 'retry every failed run')
    .option('--from-scratch', 'start over at step 0 instead of resuming from a checkpoint')
    .action(async (runArgs: string[], opts: RetryOptions) => {
      if (opts.failed && runArgs.length) throw new UserError('retry: give run ids or --failed, not both');
      if (!opts.failed && !runArgs.length) throw new UserError('retry: give run ids or --failed');
      const ids = runArgs.map((a) => parsePositiveInt('retry RUN', a));
      const { dbPath, dataDir } = resolveDb(opts, true);
      const wb = await Workbench.open({ dbPath, dataDir, autoStart: false });
      try {
        const targets = opts.failed ? (await wb.listRuns()).filter((r) => r.state === 'failed').map((r) => r.id) : ids;
        if (!targets.length) {
          process.stderr.write('retry: no failed run\n');
          return;
        }
        for (const id of targets) await wb.retryRun(id, { fromScratch: opts.fromScratch });
        process.stdout.write(`queued again: ${targets.join(', ')}${opts.fromScratch ? ' (from scratch)' : ' (resuming from their last good checkpoint)'}\n`);
      } finally {
        await wb.close();
      }
    });
}
