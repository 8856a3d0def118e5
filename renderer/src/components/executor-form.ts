/**
 * The Queue view's executor setting as data: where new runs train (this machine, or a Slurm
 * cluster with `ablate queue --executor slurm`'s options), the form's fields read into the API's
 * ExecutorChoice, and one line per problem naming the field as the form labels it. The server
 * checks again (contract/api-schemas.ts, `ablate serve`'s allowed cluster roots and sbatch
 * options, `sbatch --test-only`); these checks only catch what is wrong before asking it.
 *
 * "Max parallel" is the choice's maxParallel: the cluster runs queued with it that are pending or
 * running on the cluster at once (they take none of the workbench's local slots); empty: the
 * workbench's own bound (`ablate worker --max-parallel`, `ablate serve --max-parallel`, else its
 * slots). `ablate serve` refuses more than its --max-parallel from its clients.
 */
import type { EnqueueResult, WorkbenchApi } from '../../../contract/api';
import { MAX_PARALLEL_LIMIT, SSH_TARGET, WORKBENCH_SBATCH_OPTIONS, type ExecutorChoice } from '../../../contract/rows';
import { UserError } from '../../../contract/errors';

export interface ExecutorForm {
  readonly executor: 'local' | 'slurm';
  readonly clusterRoot: string;
  /** The login node, host or user@host; empty: Slurm and the cluster root are on the workbench's machine. */
  readonly ssh: string;
  /** node on the cluster; empty: this machine's path. */
  readonly clusterNode: string;
  /** The project's checkout on the cluster; empty: this machine's path. */
  readonly clusterCheckout: string;
  readonly partition: string;
  readonly gres: string;
  readonly time: string;
  /** Cluster runs of this choice in flight at once, a whole number; empty: the workbench's bound. */
  readonly maxParallel: string;
  /** One sbatch option per line, e.g. --qos=high. */
  readonly sbatchArgs: string;
}

export const LOCAL_FORM: ExecutorForm = { executor: 'local', clusterRoot: '', ssh: '', clusterNode: '', clusterCheckout: '', partition: '', gres: '', time: '', maxParallel: '', sbatchArgs: '' };

/** The labels the form shows, used to name a field in its messages. */
export const FIELD_LABELS = {
  clusterRoot: 'Cluster root',
  ssh: 'Login node (ssh)',
  clusterNode: 'node on the cluster',
  clusterCheckout: 'Checkout on the cluster',
  partition: 'Partition',
  gres: 'GRES',
  time: 'Time limit',
  maxParallel: 'Max parallel',
  sbatchArgs: 'sbatch options',
} as const;

/** Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS, or unlimited. */
const SLURM_TIME = /^((\d+-)?\d+(:\d{1,2}){0,2}|UNLIMITED|INFINITE)$/i;
const ONE_WORD = /^[^\s\0]+$/;

/** The sbatch options written in the form: one per line, blank lines ignored. */
export function sbatchLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** Reads the form: the choice to queue with, and one line per problem (empty when it may be queued). */
export function readExecutorForm(f: ExecutorForm): { choice: ExecutorChoice; issues: string[] } {
  if (f.executor === 'local') return { choice: { name: 'local' }, issues: [] };
  const issues: string[] = [];
  const root = f.clusterRoot.trim();
  if (!root) issues.push(`${FIELD_LABELS.clusterRoot}: required for Slurm (a folder the cluster nodes and the workbench share)`);
  else if (!root.startsWith('/')) issues.push(`${FIELD_LABELS.clusterRoot}: expected an absolute path, got "${root}"`);
  else if (/[%\n\0]/.test(root)) issues.push(`${FIELD_LABELS.clusterRoot}: may not contain '%' or control characters`);
  const ssh = f.ssh.trim();
  for (const field of ['clusterNode', 'clusterCheckout'] as const) {
    const v = f[field].trim();
    if (v && (!v.startsWith('/') || /[\n\0]/.test(v))) issues.push(`${FIELD_LABELS[field]}: expected an absolute path on the cluster, got "${v}"`);
  }
  if (ssh && !SSH_TARGET.test(ssh)) issues.push(`${FIELD_LABELS.ssh}: expected host or user@host (letters, digits, '.', '_', '-'; a port or key goes in ~/.ssh/config), got "${ssh}"`);
  for (const field of ['partition', 'gres', 'time'] as const) {
    const v = f[field].trim();
    if (v && !ONE_WORD.test(v)) issues.push(`${FIELD_LABELS[field]}: expected one word without spaces, got "${v}"`);
    else if (field === 'time' && v && !SLURM_TIME.test(v)) issues.push(`${FIELD_LABELS.time}: expected minutes, HH:MM:SS or D-HH:MM:SS (e.g. 4:00:00), got "${v}"`);
  }
  const maxParallel = f.maxParallel.trim();
  if (maxParallel && !(/^\d+$/.test(maxParallel) && Number(maxParallel) >= 1 && Number(maxParallel) <= MAX_PARALLEL_LIMIT))
    issues.push(`${FIELD_LABELS.maxParallel}: expected a whole number from 1 to ${MAX_PARALLEL_LIMIT}, got "${maxParallel}"`);
  const sbatchArgs = sbatchLines(f.sbatchArgs);
  sbatchArgs.forEach((a, i) => {
    const where = `${FIELD_LABELS.sbatchArgs}, line ${i + 1}`;
    if (!a.startsWith('-')) issues.push(`${where}: expected one option starting with '-', e.g. --qos=high, got "${a}"`);
    else if (!ONE_WORD.test(a)) issues.push(`${where}: one option per line, written --name=value without spaces, got "${a}"`);
    else if (WORKBENCH_SBATCH_OPTIONS.test(a)) issues.push(`${where}: ${a.split('=')[0]} is set by the workbench itself`);
  });
  const choice: ExecutorChoice = {
    name: 'slurm',
    clusterRoot: root,
    ...(ssh ? { ssh } : {}),
    ...(f.clusterNode.trim() ? { clusterNode: f.clusterNode.trim() } : {}),
    ...(f.clusterCheckout.trim() ? { clusterCheckout: f.clusterCheckout.trim().replace(/(.)\/+$/, '$1') } : {}),
    ...(f.partition.trim() ? { partition: f.partition.trim() } : {}),
    ...(f.gres.trim() ? { gres: f.gres.trim() } : {}),
    ...(f.time.trim() ? { time: f.time.trim() } : {}),
    ...(maxParallel ? { maxParallel: Number(maxParallel) } : {}),
    ...(sbatchArgs.length ? { sbatchArgs } : {}),
  };
  return { choice, issues };
}

type QueueApi = Pick<WorkbenchApi, 'listPresets' | 'previewSpec' | 'enqueueSpec'>;

/**
 * `api` whose enqueueSpec queues on the executor the form says (read at the moment of queueing);
 * a form with problems refuses with them, one line each, and nothing is sent.
 */
export function queueingOn(api: QueueApi, form: () => ExecutorForm): QueueApi {
  return {
    listPresets: () => api.listPresets(),
    previewSpec: (text) => api.previewSpec(text),
    enqueueSpec: (text, options): Promise<EnqueueResult> => {
      const { choice, issues } = readExecutorForm(form());
      if (issues.length) return Promise.reject(new UserError(issues[0], issues));
      return api.enqueueSpec(text, choice.name === 'local' ? options : { ...options, executor: choice });
    },
  };
}

const STORAGE_KEY = 'ablate.queue.executor';

/** The setting last used on this machine (a cluster root is typed once, not per queueing); local when none or unreadable. */
export function loadExecutorForm(storage: Pick<Storage, 'getItem'> | undefined): ExecutorForm {
  try {
    const saved = JSON.parse(storage?.getItem(STORAGE_KEY) ?? 'null') as Partial<ExecutorForm> | null;
    if (!saved || typeof saved !== 'object') return LOCAL_FORM;
    const out: Record<string, string> = { ...LOCAL_FORM };
    for (const k of Object.keys(LOCAL_FORM) as (keyof ExecutorForm)[]) if (typeof saved[k] === 'string') out[k] = saved[k] as string;
    return { ...(out as unknown as ExecutorForm), executor: saved.executor === 'slurm' ? 'slurm' : 'local' };
  } catch {
    return LOCAL_FORM;
  }
}

export function saveExecutorForm(storage: Pick<Storage, 'setItem'> | undefined, form: ExecutorForm): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify(form));
  } catch {
    // Storage full or disabled: the setting is simply not remembered.
  }
}
