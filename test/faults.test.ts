/**
 * The fault-injection suite's small subset in `npm test`: one trial of every fault of
 * bench/faults.bench.ts (`npm run bench faults` runs more), each row at 100%: the run finished,
 * at most one checkpoint interval of recorded steps lost, no duplicate row, integrity ok, and the
 * same train curve as an uninterrupted run. Full-disk and read-only rows need `mount -t tmpfs`.
 */
import { describe, expect, it } from 'vitest';
import { FAULTS, runFault, seeded } from '../bench/faults.bench';

describe('fault injection (one trial each)', () => {
  const rng = seeded(7);
  for (const fault of FAULTS) {
    it(fault.name, async () => {
      const row = await runFault(fault, 1, rng);
      if (row.skipped) return;
      expect(row.problems.join("\n")).toBe("");
      expect(row.finished).toBe(1);
      expect(row.maxStepsLost).toBeLessThanOrEqual(row.interval);
      expect(row.duplicates).toBe(0);
      expect(row.integrity).toBe(1);
      expect(row.identical).toBe(1);
    }, 300_000);
  }
});
