/**
 * What `ablate delete`, `archive` and `unarchive` share: the selection from the arguments (run ids
 * or `--experiment NAME`), the deletion plan as lines a person reads before saying yes, and the
 * yes itself, asked only on a terminal.
 */
import { createInterface } from 'node:readline/promises';
import type { DeletionPlan, RunSelection } from '../../contract/api';
import { UserError } from '../../contract/errors';
import { escapeUnsafeChars } from '../../contract/text-safety';
import type { Workbench } from '../service/workbench';
import { parsePositiveInt } from './support';

/** Run ids or one experiment by name (not both, not neither); a one-line error otherwise. */
export function selectionFrom(wb: Workbench, command: string, runArgs: readonly string[], experiment: string | undefined): RunSelection {
  if (experiment !== undefined && runArgs.length) throw new UserError(`${command}: give run ids or --experiment NAME, not both`);
  if (experiment !== undefined) return { experimentId: wb.experimentNamed(experiment).id };
  if (!runArgs.length) throw new UserError(`${command}: give run ids or --experiment NAME`);
  return { runIds: runArgs.map((a) => parsePositiveInt(`${command} RUN`, a)) };
}

/** The plan as lines: the experiment, each run, the rows and checkpoint folders that go with them. */
export function planLines(plan: DeletionPlan): string[] {
  const lines = [plan.experiment ? `experiment ${escapeUnsafeChars(plan.experiment.name)} and its ${plan.runs.length} run(s):` : `${plan.runs.length} run(s):`];
  for (const r of plan.runs) lines.push(`  run ${r.id}  ${escapeUnsafeChars(r.experiment)}  ${escapeUnsafeChars(r.variant)}  seed ${r.seed}  ${r.state}`);
  lines.push(`  with ${plan.metricPoints} metric points and ${plan.hypotheses} stored hypotheses`);
  if (plan.checkpointDirs.length) lines.push(`  checkpoint folders removed from disk:`, ...plan.checkpointDirs.map((d) => `    ${escapeUnsafeChars(d)}`));
  for (const u of plan.reusedBy) lines.push(`  run ${u.runId} also leaves the result table of experiment ${escapeUnsafeChars(u.experiment)}, which reuses it`);
  return lines;
}

export interface ConfirmIo {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

/**
 * Asks `question` [y/N] on a terminal; true only for y or yes. Without a terminal nobody can
 * answer, so it refuses in one line saying how to go on (`--yes`).
 */
export async function confirmOnTerminal(question: string, refusal: string, io: ConfirmIo = { input: process.stdin, output: process.stderr }): Promise<boolean> {
  if (!io.input.isTTY) throw new UserError(refusal);
  const rl = createInterface({ input: io.input, output: io.output });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
