/**
 * Trains a preset's runs one after another in this process, without the database: the whole run
 * path (data, training, evaluation, beam search, checkpoints) on a machine that has only the packed
 * folder (bench/portable/pack.sh), e.g. to check real GPU training through WebGPU.
 *   node job.cjs [preset=quick] [backend=webgpu]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import './backends';
import { findPreset } from '../../experiments/presets';
import type { BackendName } from '../../contract/backends';
import { expandSpec, parseSpec } from '../../contract/spec';
import { runJob } from '../../experiments/run/run-job';

async function main(presetName = 'quick', backend = 'webgpu'): Promise<void> {
  const preset = findPreset(presetName);
  if (!preset) throw new Error(`unknown preset ${presetName}`);
  const dir = mkdtempSync(join(tmpdir(), 'ablate-job-'));
  try {
    for (const [i, run] of expandSpec(parseSpec(parse(preset.yaml))).entries()) {
      const started = performance.now();
      let last = '';
      await runJob(
        { runId: i + 1, config: run.config, backend: backend as BackendName, checkpointDir: join(dir, `run-${i + 1}`), cacheDir: join(dir, 'cache') },
        {
          shouldStop: () => false,
          emit: (m) => {
            if (m.type === 'ready') console.log(`${run.config.variant}: ${m.backend} (${m.device}), ${m.params} parameters`);
            else if (m.type === 'log' && m.level !== 'info') console.log(`  ${m.level}: ${m.text}`);
            else if (m.type === 'metrics') {
              const bleu = m.points.find((p) => p.name === 'valid_bleu' && p.split === 'valid');
              if (bleu) console.log(`  step ${bleu.step}: valid BLEU ${bleu.value.toFixed(2)}`);
            } else if (m.type === 'progress') last = `${m.tokensPerSecond.toFixed(0)} tok/s`;
            else if (m.type === 'failed') console.log(`  failed: ${m.reason}`);
            else if (m.type === 'done')
              console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s (${last}): valid ppl ${m.metrics.valid_ppl?.toFixed(2)}, valid BLEU ${m.metrics.valid_bleu?.toFixed(2)}, test BLEU ${m.metrics.test_bleu?.toFixed(2)}`);
          },
        },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv[2], process.argv[3]).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
