/**
 * Child process for crash.test.ts: writes metric batches to a store in a tight loop, printing
 * "committed <k>" after batch k is committed, until it is killed. Batch k writes steps
 * [50k − 10, 50k + 50) with value k: 50 new keys plus 10 replacements of the previous batch.
 */
import { openStore } from './store';

const file = process.argv[2];
const store = openStore(file);
const exp = store.upsertExperiment('crash', {}, null);
const [runId] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'crash', backendRequested: 'cpu', totalSteps: 1e9 }]);
store.updateRun(runId, { state: 'running' });
process.stdout.write(`run ${runId}\n`);
for (let k = 0; ; k++) {
  const points = [];
  for (let step = Math.max(0, 50 * k - 10); step < 50 * k + 50; step++) points.push({ split: 'train' as const, name: 'loss', step, value: k, time: Date.now() });
  store.insertMetrics(runId, points);
  store.updateRun(runId, { step: 50 * k + 49 });
  process.stdout.write(`committed ${k}\n`);
}
