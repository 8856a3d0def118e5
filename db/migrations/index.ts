/** Every schema version in order; openStore applies the ones a database has not seen yet. */
import { initial } from './001-initial';
import { attemptsAndCommands } from './002-attempts-commands';
import { reusedRuns } from './003-reused-runs';
import { hypotheses } from './004-hypotheses';
import { clusterRuns } from './005-cluster-runs';
import { archiveDelete } from './006-archive-delete';
import type { Migration } from './types';

export type { Migration } from './types';

export const MIGRATIONS: readonly Migration[] = [initial, attemptsAndCommands, reusedRuns, hypotheses, clusterRuns, archiveDelete];

/** The schema version this code writes. */
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
