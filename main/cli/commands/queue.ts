/**
 * `ablate queue SPEC|PRESET --db FILE [--force] [--backend B] [--corpus DIR]`: validates and queues
 * without training (a worker trains them). `ablate queue --pause` / `--resume` flip the persisted
 * pause flag that the app, the server and workers obey.
 */
import type { Command } from 'commander';
import { UserError } from '../../../contract/errors';
import { addDbOptions, BACKEND_HELP, SPEC_HELP, parseBackend, resolveDb, type DbOptions } from '../support';
import { loadSpecArg } from '../../service/spec-edge';
import { Workbench } from '../../service/workbench';
import { addExecutorOptions, parseExecutorFlags, type ExecutorFlags } from '../../service/executors/slurm/options';
import { checkSlurmChoice } from '../../service/executors/slurm/executor';

interface QueueOptions extends DbOptions, ExecutorFlags {
  force?: boolean;
  backend?: string;
  corpus?: string;
  json?: boolean;
  pause?: boolean;
  resume?: boolean;
}

export function register(program: Command): void {
  addExecutorOptions(addDbOptions(program.command('queue').argument('[spec]', SPEC_HELP).description('queue a spec\'s runs without training them (see `ablate worker`)')))
    .option('--force', 'queue runs even when the same config is already queued or done')
    .option('--backend <name>', BACKEND_HELP)
    .option('--corpus <dir>', 'train on DIR/{train,valid,test}.{en,de} instead of the spec\'s data')
    .option('--json', 'print {experimentId, queued, skipped} as JSON')
    .option('--pause', 'pause the queue (running runs finish; no new run starts)')
    .option('--resume', 'resume a paused queue')
    .action(async (specArg: string | undefined, opts: QueueOptions) => {
      const backend = parseBackend(opts.backend);
      if (opts.pause && opts.resume) throw new UserError('--pause and --resume exclude each other');
      if (!specArg && !opts.pause && !opts.resume) throw new UserError('queue: give a spec file or preset name (or --pause / --resume)');
      const loaded = specArg ? loadSpecArg(specArg, { corpus: opts.corpus }) : undefined;
      const executor = parseExecutorFlags(opts);
      // sbatch, the cluster root and the options are checked before the database is touched.
      if (executor && loaded) await checkSlurmChoice(executor);
      const { dbPath, dataDir } = resolveDb(opts, false);
      const wb = await Workbench.open({ dbPath, dataDir, backend, autoStart: false });
      try {
        if (opts.pause) await wb.pauseQueue();
        if (opts.resume) await wb.resumeQueue();
        if (loaded) {
          const result = wb.enqueue(loaded, { force: opts.force, backend, executor });
          if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
          else {
            for (const w of result.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
            for (const s of result.skipped) process.stderr.write(`skipped ${s.variant} seed ${s.seed}: same config as run ${s.existingRunId} (use --force to train it again)\n`);
            process.stdout.write(`${loaded.spec.name}: queued ${result.queued.length} run(s)${result.queued.length ? ` (${result.queued.join(', ')})` : ''}${result.skipped.length ? `, skipped ${result.skipped.length}` : ''}\n`);
          }
        }
        if (opts.pause || opts.resume) process.stderr.write(`queue ${opts.pause ? 'paused' : 'resumed'}\n`);
      } finally {
        await wb.close();
      }
    });
}
