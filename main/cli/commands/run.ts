/**
 * `ablate run SPEC|PRESET [--db FILE] [--backend B] [--json] [--force] [--slots N] [--corpus DIR]`:
 * queues the spec's runs and trains them (and anything queued before them), with a progress bar
 * per run on stderr; prints the Markdown result table, or with --json exactly the JSON array of
 * this spec's runs on stdout. Exits 1 when a run failed or was cancelled.
 */
import type { Command } from 'commander';
import type { RunRow } from '../../../contract/rows';
import { addDbOptions, BACKEND_HELP, SPEC_HELP, curvesHint, parseBackend, parseSlots, resolveDb, runJson, showProgress, stopOnSignal, type DbOptions } from '../support';
import { loadSpecArg } from '../../service/spec-edge';
import { Workbench } from '../../service/workbench';
import { addExecutorOptions, parseExecutorFlags, parseMaxParallel, type ExecutorFlags } from '../../service/executors/slurm/options';
import { checkSlurmChoice } from '../../service/executors/slurm/executor';

interface RunOptions extends DbOptions, ExecutorFlags {
  backend?: string;
  json?: boolean;
  force?: boolean;
  slots?: string;
  corpus?: string;
}

export function register(program: Command): void {
  addExecutorOptions(addDbOptions(program.command('run').argument('<spec>', SPEC_HELP).description('queue a spec and train its runs; prints the result table')))
    .option('--backend <name>', BACKEND_HELP)
    .option('--json', 'print the runs and their final metrics as JSON (stdout holds nothing else)')
    .option('--force', 'queue runs even when the same config is already queued or done')
    .option('--slots <n>', 'runs trained on this machine at the same time (default 1; cluster runs take none)')
    .option('--corpus <dir>', 'train on DIR/{train,valid,test}.{en,de} instead of the spec\'s data')
    .action(async (specArg: string, opts: RunOptions) => {
      const backend = parseBackend(opts.backend);
      const executor = parseExecutorFlags(opts);
      // --slots: runs on this machine; --max-parallel: cluster runs whose choice names none (default: --slots).
      const slots = parseSlots(opts.slots);
      const clusterSlots = parseMaxParallel(opts) ?? slots;
      // Validate before the database is touched: a bad spec changes nothing.
      const loaded = loadSpecArg(specArg, { corpus: opts.corpus });
      if (executor) await checkSlurmChoice(executor);
      const { dbPath, dataDir } = resolveDb(opts, false);
      // Lines logged while the workbench opens go straight to stderr; afterwards through the bars.
      const sink: { log: (line: string) => void } = { log: (line) => void process.stderr.write(`${line}\n`) };
      const wb = await Workbench.open({ dbPath, dataDir, slots, clusterSlots, backend, autoStart: false, log: (line) => sink.log(line) });
      const progress = showProgress(wb);
      sink.log = progress.log;
      const offSignal = stopOnSignal(wb, progress.log);
      let runs: RunRow[];
      try {
        // Start first: if another process is running this database's queue, fail before queueing anything.
        wb.start();
        if (wb.scheduler.paused) progress.log('the queue is paused (`ablate queue --resume` resumes it): the runs are queued but none will start');
        const result = wb.enqueue(loaded, { force: opts.force, backend, executor });
        for (const w of result.warnings ?? []) progress.log(`warning: ${w}`);
        for (const s of result.skipped) progress.log(`skipped ${s.variant} seed ${s.seed}: same config as run ${s.existingRunId} (use --force to train it again)`);
        progress.log(`${loaded.spec.name}: ${result.queued.length} run(s) queued${result.skipped.length ? `, ${result.skipped.length} skipped` : ''}`);
        const ids = [...result.queued, ...result.skipped.map((s) => s.existingRunId)];
        await wb.waitForRuns(ids);
        wb.flushEvents();
        runs = ids.map((id) => wb.runRow(id)).filter((r): r is RunRow => r !== undefined).sort((a, b) => a.id - b.id);
        if (opts.json) process.stdout.write(`${JSON.stringify(runs.map(runJson), null, 2)}\n`);
        else process.stdout.write(`\n${await wb.exportTable(result.experimentId, 'md')}\n`);
      } finally {
        progress.stop();
        offSignal();
        await wb.close();
      }
      process.stderr.write(`${curvesHint(opts.db)}\n`);
      const bad = runs.filter((r) => r.state !== 'done');
      if (bad.length) {
        process.stderr.write(`ablate: ${bad.length} of ${runs.length} run(s) did not finish: ${bad.map((r) => `run ${r.id} ${r.state}${r.error ? ` (${r.error})` : ''}`).join('; ')}\n`);
        process.exitCode = 1;
      }
    });
}
