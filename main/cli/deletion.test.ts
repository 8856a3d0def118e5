/** The delete command's confirmation: asked on a terminal (only y/yes deletes), refused in one line without one; the plan as a person reads it. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../contract/errors';
import { confirmOnTerminal, planLines } from './deletion';

function terminal(answer: string): { input: PassThrough & { isTTY?: boolean }; output: PassThrough; asked: () => string } {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let asked = '';
  output.on('data', (d: Buffer) => (asked += d.toString()));
  setTimeout(() => input.write(`${answer}\n`), 10);
  return { input, output, asked: () => asked };
}

describe('confirming a delete', () => {
  it('asks on a terminal and deletes only on y or yes', async () => {
    for (const [answer, yes] of [['y', true], ['YES', true], ['', false], ['n', false], ['yess', false]] as const) {
      const io = terminal(answer);
      expect(await confirmOnTerminal('delete these?', 'refused', io)).toBe(yes);
      expect(io.asked()).toContain('delete these? [y/N] ');
    }
  });

  it('refuses in one line when stdin is not a terminal', async () => {
    const io = { input: new PassThrough(), output: new PassThrough() };
    await expect(confirmOnTerminal('delete these?', 'delete: not confirmed: stdin is not a terminal; pass --yes to delete without asking', io)).rejects.toThrow(
      new UserError('delete: not confirmed: stdin is not a terminal; pass --yes to delete without asking'),
    );
  });

  it('lists the experiment, each run, the rows, the checkpoint folders and the tables a reused run leaves', () => {
    const lines = planLines({
      experiment: { id: 2, name: 'heads' },
      runs: [{ id: 7, experiment: 'heads', variant: 'h=1', seed: 1, state: 'done' }],
      metricPoints: 120,
      hypotheses: 48,
      checkpointDirs: ['/d/run-7'],
      reusedBy: [{ runId: 7, experiment: 'other' }],
    });
    expect(lines).toEqual([
      'experiment heads and its 1 run(s):',
      '  run 7  heads  h=1  seed 1  done',
      '  with 120 metric points and 48 stored hypotheses',
      '  checkpoint folders removed from disk:',
      '    /d/run-7',
      '  run 7 also leaves the result table of experiment other, which reuses it',
    ]);
  });
});
