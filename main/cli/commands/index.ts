/**
 * Every `ablate` command, in the order `ablate --help` lists them. A command is a module that
 * exports `register(program)`; adding one means adding it here (no directory scan: a stray file in
 * this folder is never a command, and a bundler sees every command).
 */
import type { Command } from 'commander';
import * as run from './run';
import * as queue from './queue';
import * as worker from './worker';
import * as retry from './retry';
import * as runs from './runs';
import * as cancel from './cancel';
import * as deleteRuns from './delete';
import * as archive from './archive';
import * as exportTable from './export';
import * as translate from './translate';
import * as serve from './serve';
import * as bleu from './bleu';
import * as tokenize from './tokenize';

export interface CommandModule {
  register(program: Command): void;
}

export const COMMANDS: readonly CommandModule[] = [run, queue, worker, retry, cancel, runs, deleteRuns, archive, exportTable, translate, serve, bleu, tokenize];
