/**
 * `ablate worker --db FILE [--slots N] [--backend B]`: processes the queue until it is empty.
 * Runs a crashed process left `running` become `interrupted` and resume first, from their latest
 * checkpoint ("run 3 (base, seed 1) resumed from step 200").
 */
import type { Command } from 'commander';
import { addDbOptions, parseSlots, resolveDb, showProgress, stopOnSignal, type DbOptions } from '../support';
import { Workbench } from '../../service/workbench';

interface WorkerOptions extends DbOptions {
  slots?: string;
}

export function register(program: Command): void {
  addDbOptions(program.command('worker').description('train queued runs until the queue is empty, resuming interrupted runs first'))
    .option('--slots <n>', 'runs trained at the same time (default 1)')
    .action(async (opts: WorkerOptions) => {
      const slots = parseSlots(opts.slots);
      const { dbPath, dataDir } = resolveDb(opts, true);
      // Lines logged while the workbench opens go straight to stderr; afterwards through the bars.
      const sink: { log: (line: string) => void } = { log: (line) => void process.stderr.write(`${line}\n`) };
      const wb = await Workbench.open({ dbPath, dataDir, slots, autoStart: false, log: (line) => sink.log(line) });
      const progress = showProgress(wb);
      sink.log = progress.log;
      const offSignal = stopOnSignal(wb, progress.log);
      try {
        if (wb.scheduler.paused) progress.log('the queue is paused (`ablate queue --resume` resumes it); no run will start');
        wb.start();
        await wb.waitForIdle();
        wb.flushEvents();
        const runs = await wb.listRuns();
        const count = (s: string) => runs.filter((r) => r.state === s).length;
        progress.log(`worker: queue empty (${count('done')} done, ${count('failed')} failed, ${count('cancelled')} cancelled, ${count('queued')} queued)`);
      } finally {
        progress.stop();
        offSignal();
        await wb.close();
      }
    });
}
