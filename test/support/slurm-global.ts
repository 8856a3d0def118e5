/**
 * Vitest global setup: when .ci/run started the local Slurm cluster for the suite
 * (ABLATE_SLURM_STOP_AFTER_TESTS=1), stop it once every test file is done. The cluster tests
 * themselves stop it only when they started it, and they run in parallel workers, so no single
 * test file may stop a cluster the others still use.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  return () => {
    if (process.env.ABLATE_SLURM_STOP_AFTER_TESTS !== '1') return;
    const script = fileURLToPath(new URL('../../scripts/slurm-cluster.sh', import.meta.url));
    const r = spawnSync('bash', [script, 'stop'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) process.stderr.write(`slurm-cluster.sh stop: ${r.stderr || r.error?.message}\n`);
  };
}
