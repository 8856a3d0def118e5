/**
 * `ablate worker --db FILE [--slots N] [--backend B]`: processes the queue until it is empty.
 * Runs a crashed process left `running` become `interrupted` and resume first, from their latest
 * checkpoint ("run 3 (base, seed 1) resumed from step 200"). Exits 1 when a run failed while it
 * worked or the database could not be written; stopped by a signal it says nothing about an empty
 * queue (stopOnSignal exits 130 once its runs are interrupted).
 */
import type { Command } from 'commander';
import { addDbOptions, parseSlots, resolveDb, showProgress, stopOnSignal, type DbOptions } from '../support';
import { Workbench } from '../../service/workbench';
import { addExecutorOptions, parseExecutorFlags, parseMaxParallel, type ExecutorFlags } from '../../service/executors/slurm/options';
import { checkSlurmChoice } from '../../service/executors/slurm/executor';

interface WorkerOptions extends DbOptions, ExecutorFlags {
  slots?: string;
}

export function register(program: Command): void {
  addExecutorOptions(addDbOptions(program.command('worker').description('train queued runs until the queue is empty, resuming interrupted runs first')))
    .option('--slots <n>', 'runs trained on this machine at the same time (default 1; cluster runs take none)')
    .action(async (opts: WorkerOptions) => {
      const executor = parseExecutorFlags(opts);
      // --slots: runs on this machine; --max-parallel: cluster runs whose choice names none (default: --slots).
      const slots = parseSlots(opts.slots);
      const clusterSlots = parseMaxParallel(opts) ?? slots;
      if (executor) await checkSlurmChoice(executor);
      const { dbPath, dataDir } = resolveDb(opts, true);
      // Lines logged while the workbench opens go straight to stderr; afterwards through the bars.
      const sink: { log: (line: string) => void } = { log: (line) => void process.stderr.write(`${line}\n`) };
      const wb = await Workbench.open({ dbPath, dataDir, slots, clusterSlots, autoStart: false, log: (line) => sink.log(line) });
      const progress = showProgress(wb);
      sink.log = progress.log;
      const offSignal = stopOnSignal(wb, progress.log);
      try {
        if (wb.scheduler.paused) progress.log('the queue is paused (`ablate queue --resume` resumes it); no run will start');
        const failedBefore = new Set((await wb.listRuns()).filter((r) => r.state === 'failed').map((r) => r.id));
        // --executor slurm: the queued runs not on a cluster yet go to this one.
        if (executor) for (const r of await wb.listRuns()) if (r.state === 'queued' && !r.cluster) wb.assignSlurm(r.id, executor);
        wb.start();
        await wb.waitForIdle();
        if (wb.fatalError) {
          process.exitCode = 1;
          return;
        }
        if (wb.isClosing) return;
        wb.flushEvents();
        const runs = await wb.listRuns();
        const count = (s: string) => runs.filter((r) => r.state === s).length;
        const failedNow = runs.filter((r) => r.state === 'failed' && !failedBefore.has(r.id));
        // Runs parked by a full checkpoint disk stay interrupted: the queue is not done.
        const parked = runs.filter((r) => r.state === 'interrupted');
        if (parked.length) {
          progress.log(`worker: stopped with ${parked.length} run(s) interrupted (${parked.map((r) => r.id).join(', ')}): they resume with \`ablate worker\` once the problem in their log is fixed`);
          process.exitCode = 1;
        } else progress.log(`worker: queue empty (${count('done')} done, ${count('failed')} failed, ${count('cancelled')} cancelled, ${count('queued')} queued)`);
        if (failedNow.length) {
          progress.log(`worker: ${failedNow.length} run(s) failed: ${failedNow.map((r) => r.id).join(', ')} (\`ablate retry RUN\` resumes one)`);
          process.exitCode = 1;
        }
      } finally {
        progress.stop();
        offSignal();
        await wb.close();
      }
    });
}
