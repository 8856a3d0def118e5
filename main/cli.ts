/**
 * The `ablate` command line (contract in ../shared/ARCHITECTURE.md). Each command lives in
 * main/commands/<name>.ts and exports `register(program)`; this file only wires them and turns
 * user errors into one line and a non-zero exit.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { userErrorMessage } from './errors';

export interface CommandModule {
  register(program: Command): void;
}

export async function buildProgram(): Promise<Command> {
  const program = new Command('ablate')
    .description('Ablation Workbench: train, compare and tabulate Transformer ablations')
    .showHelpAfterError('(run `ablate --help` for usage)')
    .exitOverride();
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as CommandModule;
    mod.register(program);
  }
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
    const message = userErrorMessage(err);
    if (message !== null) {
      process.stderr.write(`ablate: ${message}\n`);
      process.exitCode = 1;
      return;
    }
    throw err;
  }
}
