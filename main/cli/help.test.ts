import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../contract/backends';
import { PRESETS } from '../../experiments/presets';
import { buildProgram } from './index';

// The help named only two presets and five backends long after table3-multi30k(-cpu) and fused existed.
describe('ablate help', () => {
  for (const name of ['run', 'queue']) {
    it(`${name} --help names every preset and every backend`, async () => {
      const program = await buildProgram();
      const help = program.commands.find((c) => c.name() === name)!.helpInformation().replace(/\s+/g, ' ');
      for (const p of PRESETS) expect(help).toContain(p.name);
      expect(help).toContain(`(${BACKENDS.join(', ')}; default auto)`);
    });
  }
});
