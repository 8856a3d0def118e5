/**
 * Argument schemas for every remotely callable Workbench API method. Both edges — Electron IPC
 * (main/electron/ipc.ts) and the WebSocket server (main/server) — validate what the renderer sends
 * with these before the Workbench sees it, so a compromised or buggy renderer can only make calls
 * the typed API allows. Spec text itself is validated by the spec schema (contract/spec.ts) at the
 * service's spec edge, exactly as for the CLI.
 */
import { z } from 'zod';
import { UserError } from './errors';
import { BACKENDS } from './backends';
import { EXPORT_FORMATS, REMOTE_METHOD_NAMES, type RemoteMethod, type WorkbenchApi } from './api';
import { MAX_PARALLEL_LIMIT, SSH_TARGET } from './rows';

const runId = z.number({ error: 'run id must be a positive integer' }).int('run id must be a positive integer').positive('run id must be a positive integer');
const experimentId = z.number({ error: 'experiment id must be a positive integer' }).int('experiment id must be a positive integer').positive('experiment id must be a positive integer');
/** A spec is a text file a person writes; 1 MB is far beyond any real one and bounds parse work. */
const specText = z.string({ error: 'spec must be text' }).max(1_000_000, 'spec is longer than 1 MB');

const slurmWord = z.string().min(1).max(200).regex(/^[^\n\0]*$/, 'no control characters');
/** Where queued runs train; the Slurm fields mirror `ablate queue --executor slurm …`. */
const executorChoice = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('local') }),
  z.strictObject({
    name: z.literal('slurm'),
    clusterRoot: z.string().min(1).max(4096).regex(/^\//, 'the cluster root must be an absolute path'),
    ssh: z.string().max(320).regex(SSH_TARGET, 'expected host or user@host (letters, digits, . _ -; no leading -)').optional(),
    clusterNode: z.string().min(2).max(4096).regex(/^\/[^\n\0]*$/, 'expected the absolute path of node on the cluster').optional(),
    clusterCheckout: z.string().min(2).max(4096).regex(/^\/[^\n\0]*$/, "expected the absolute path of the project's checkout on the cluster").optional(),
    partition: slurmWord.optional(),
    gres: slurmWord.optional(),
    time: slurmWord.optional(),
    maxParallel: z.number().int().min(1).max(MAX_PARALLEL_LIMIT).optional(),
    sbatchArgs: z.array(slurmWord.regex(/^-/, 'each sbatch argument is one option starting with -')).max(50).optional(),
  }),
], { error: 'executor must be {name: "local"} or {name: "slurm", clusterRoot, …}' });

const includeArchived = z.boolean({ error: 'includeArchived must be true or false' }).optional();
/** Which runs a result table counts (TableOptions). */
const tableOptions = z.strictObject({ includeArchived });

const runSelection = z.union([
  z.strictObject({ runIds: z.array(runId).min(1, 'name at least one run').max(10_000, 'at most 10000 runs at once') }),
  z.strictObject({ experimentId }),
], { error: 'selection must be {runIds: [ids]} or {experimentId: id}' });

/** Each method's positional arguments as a tuple schema; optional trailing arguments may be omitted. */
export const API_SCHEMAS = {
  listPresets: z.tuple([]),
  previewSpec: z.tuple([specText]),
  enqueueSpec: z.tuple([
    specText,
    z
      .strictObject({
        force: z.boolean({ error: 'force must be true or false' }).optional(),
        backend: z.enum(BACKENDS, { error: `backend must be one of ${BACKENDS.join(', ')}` }).optional(),
        executor: executorChoice.optional(),
      })
      .optional(),
  ]),
  listExperiments: z.tuple([z.strictObject({ includeArchived }).optional()]),
  listRuns: z.tuple([z.strictObject({ experimentId: experimentId.optional(), includeArchived }).optional()]),
  getRun: z.tuple([runId]),
  getMetrics: z.tuple([
    z.strictObject({
      runIds: z.array(runId).max(10_000, 'at most 10000 runs per query'),
      names: z.array(z.string().min(1).max(200)).max(200).optional(),
      maxPoints: z.number().int().min(2, 'maxPoints must be at least 2').max(1_000_000).optional(),
    }),
  ]),
  getMetricKeys: z.tuple([z.array(runId).max(10_000, 'at most 10000 runs per query')]),
  getSamples: z.tuple([runId]),
  getLogs: z.tuple([runId]),
  cancelRun: z.tuple([runId]),
  retryRun: z.tuple([runId]),
  moveRun: z.tuple([runId, z.number({ error: 'position must be a non-negative integer' }).int('position must be a non-negative integer').min(0, 'position must be a non-negative integer')]),
  pauseQueue: z.tuple([]),
  resumeQueue: z.tuple([]),
  planDeletion: z.tuple([runSelection]),
  deleteRuns: z.tuple([runSelection]),
  setArchived: z.tuple([runSelection, z.boolean({ error: 'archived must be true or false' })]),
  queueStatus: z.tuple([]),
  resultTable: z.tuple([experimentId, tableOptions.optional()]),
  exportTable: z.tuple([experimentId, z.enum(EXPORT_FORMATS, { error: `format must be one of ${EXPORT_FORMATS.join(', ')}` }), tableOptions.optional()]),
  attention: z.tuple([runId, z.string({ error: 'sentence must be text' }).min(1, 'sentence is empty').max(2000, 'sentence is longer than 2000 characters')]),
} satisfies Record<RemoteMethod, z.ZodType>;

/** The remote methods (contract/api.ts); every one has a schema above. */
export const REMOTE_METHODS = REMOTE_METHOD_NAMES;

/** saveFile (Electron only): a file name, and text or a data: URL (chart images); 64 MB bounds a PNG at 2× of a big screen. */
export const SAVE_FILE_SCHEMA = z.tuple([
  z.string({ error: 'file name must be text' }).min(1, 'file name is empty').max(255, 'file name is longer than 255 characters'),
  z.string({ error: 'content must be text' }).max(64 * 1024 * 1024, 'content is larger than 64 MB'),
]);

/** A call the edge refused: unknown method or arguments that do not match the API. One line. */
export class ApiArgumentError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'ApiArgumentError';
  }
}

export function isRemoteMethod(name: unknown): name is RemoteMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(API_SCHEMAS, name);
}

/**
 * Validates a call's arguments; returns them typed for the method, or throws ApiArgumentError
 * naming the method, the argument and the problem.
 * @example parseApiArgs('getRun', [3]) // → [3]
 */
export function parseApiArgs<M extends RemoteMethod>(method: M, args: unknown): Parameters<WorkbenchApi[M]> {
  if (!isRemoteMethod(method)) throw new ApiArgumentError(`unknown method ${JSON.stringify(method)}`);
  if (!Array.isArray(args)) throw new ApiArgumentError(`${method}: params must be an array of arguments`);
  const schema = API_SCHEMAS[method] as z.ZodTuple;
  // Trailing undefined/null (JSON has no undefined) count as omitted optional arguments.
  const trimmed = [...args];
  while (trimmed.length > 0 && (trimmed[trimmed.length - 1] === undefined || trimmed[trimmed.length - 1] === null)) trimmed.pop();
  const result = schema.safeParse(trimmed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? `argument ${issue.path.map(String).join('.')}` : 'arguments';
    throw new ApiArgumentError(`${method}: ${where}: ${issue.message}`);
  }
  return result.data as unknown as Parameters<WorkbenchApi[M]>;
}
