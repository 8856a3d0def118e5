/**
 * The `ablate` command line (contract in ../shared/ARCHITECTURE.md). Each command lives in
 * main/cli/commands/<name>.ts and is listed in commands/index.ts; this file only wires them and
 * turns user errors — and failures of the machine (environment-errors.ts) — into one line and a
 * non-zero exit. Control characters and bidi marks in that line are escaped: a name or path from
 * a spec never reaches the terminal raw.
 */
import { Command, CommanderError } from 'commander';
import { userErrorMessage } from '../../contract/errors';
import { escapeUnsafeChars } from '../../contract/text-safety';
import { COMMANDS } from './commands';
import { environmentError } from './environment-errors';
import { currentDb } from './support';

export async function buildProgram(): Promise<Command> {
  const program = new Command('ablate')
    .description('Ablation Workbench: train, compare and tabulate Transformer ablations')
    .showHelpAfterError('(run `ablate --help` for usage)')
    .exitOverride();
  for (const command of COMMANDS) command.register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const message = userErrorMessage(err) ?? userErrorMessage(environmentError(err, currentDb()));
    if (message !== null) {
      process.stderr.write(`ablate: ${escapeUnsafeChars(message)}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
