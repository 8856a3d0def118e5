/**
 * The one seam through which the Slurm executor runs cluster commands (sbatch, squeue, scontrol,
 * scancel): locally (on a login node, or the single-node test cluster) or over `ssh` from a desktop,
 * reusing one connection (ControlMaster). Commands are argv arrays, never shell strings: locally they
 * go to execve as they are; over ssh, where the remote side always runs a shell, each word is
 * single-quoted so nothing in it (spaces, `$(…)`, `;`) is interpreted.
 *
 * A non-zero exit is a result, not an error (the caller knows what sbatch's exit 1 means). Errors
 * are what the user must fix: a command that is not installed, an ssh that cannot connect, a
 * command that does not answer in time — each one UserError line naming it.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../../contract/errors';

export interface ShellResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /**
   * stdout as the bytes received (localShell and sshShell set it): a byte range of an events file
   * may end inside a multi-byte character, which `stdout`'s UTF-8 decoding would replace.
   */
  readonly stdoutBytes?: Buffer;
}

export interface ShellRunOptions {
  /** Written to the command's stdin (sbatch reads its job script there; a file's bytes for ClusterFs.writeFile). */
  readonly input?: string | Buffer;
  /** Kill the command after this long (default 30 s): Slurm clients block ~10 s while slurmctld is down. */
  readonly timeoutMs?: number;
}

export interface Shell {
  /** Where commands run, for messages: `this machine` or `ssh user@host`. */
  readonly where: string;
  run(argv: readonly string[], opts?: ShellRunOptions): Promise<ShellResult>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Exit status of a POSIX shell for "command not found". */
const NOT_FOUND = 127;

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1] : '';
}

interface SpawnOutcome extends ShellResult {
  readonly stdoutBytes: Buffer;
  readonly missing: boolean;
  readonly timedOut: boolean;
}

/** Spawns argv[0] with argv[1..] (no shell), collecting output; never rejects. */
function spawnCollect(argv: readonly string[], opts: ShellRunOptions, env?: NodeJS.ProcessEnv): Promise<SpawnOutcome> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const finish = (code: number, missing: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({ code, stdout: bytes.toString('utf8'), stdoutBytes: bytes, stderr: Buffer.concat(err).toString('utf8'), missing, timedOut });
    };
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ENOENT' ? NOT_FOUND : 126, e.code === 'ENOENT'));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 + 9 : 1), false));
    // A command that does not read stdin may close it first: EPIPE is not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

function checkArgv(argv: readonly string[]): void {
  if (!argv.length || !argv[0]) throw new Error('shell: empty command');
  for (const a of argv) if (a.includes('\0')) throw new Error('shell: argument contains a NUL byte');
}

/** Runs commands on this machine (execve, no shell). */
export function localShell(opts: { env?: NodeJS.ProcessEnv } = {}): Shell {
  return {
    where: 'this machine',
    async run(argv, runOpts = {}) {
      checkArgv(argv);
      const r = await spawnCollect(argv, runOpts, opts.env);
      if (r.missing) throw new UserError(`${argv[0]} is not installed on this machine (not found on PATH): is Slurm's client installed here?`);
      if (r.timedOut) throw new UserError(`${argv[0]} did not answer within ${Math.round((runOpts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s on this machine (is slurmctld up?)`);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr, stdoutBytes: r.stdoutBytes };
    },
  };
}

/** Quotes one word for a POSIX shell: 'it'\''s' — nothing inside single quotes is interpreted. */
export function shellQuote(word: string): string {
  // '=' only in an option (-x=…): a first word like a=b would be read as an assignment.
  return /^[A-Za-z0-9_@%+:,./-]+$/.test(word) || /^-[A-Za-z0-9_@%+:,./=-]*$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface SshTarget {
  /** Host name or alias from ~/.ssh/config. */
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
  /** ControlPath for the shared connection (default ~/.ssh/ablate-%C; %C is a hash of the target). */
  readonly controlPath?: string;
  /** How long the master connection outlives its last command (default 10m). */
  readonly controlPersist?: string;
  /** More ssh options, e.g. ['-i', key]; placed before the destination. */
  readonly sshArgs?: readonly string[];
}

/** The full argv of `ssh` running `argv` on `target` over one shared (ControlMaster) connection. */
export function sshArgv(target: SshTarget, argv: readonly string[]): string[] {
  checkArgv(argv);
  if (!target.host || target.host.startsWith('-') || /[\s\0]/.test(target.host)) throw new UserError(`invalid ssh host ${JSON.stringify(target.host)}`);
  if (target.user !== undefined && (!target.user || target.user.startsWith('-') || /[\s@\0]/.test(target.user))) throw new UserError(`invalid ssh user ${JSON.stringify(target.user)}`);
  const dest = target.user ? `${target.user}@${target.host}` : target.host;
  return [
    'ssh',
    '-o', 'BatchMode=yes', // never prompt: a desktop has no terminal to answer on
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${target.controlPath ?? join(homedir(), '.ssh', 'ablate-%C')}`,
    '-o', `ControlPersist=${target.controlPersist ?? '10m'}`,
    '-o', 'ConnectTimeout=15',
    ...(target.port ? ['-p', String(target.port)] : []),
    ...(target.sshArgs ?? []),
    '--',
    dest,
    // The remote sshd hands this one string to the user's shell: every word quoted.
    argv.map(shellQuote).join(' '),
  ];
}

/**
 * Runs commands on `target` over ssh. `sshBinary` replaces `ssh` (tests use a stand-in that runs
 * the remote string with sh).
 */
export function sshShell(target: SshTarget, opts: { sshBinary?: string; env?: NodeJS.ProcessEnv } = {}): Shell {
  const where = `ssh ${target.user ? `${target.user}@` : ''}${target.host}`;
  return {
    where,
    async run(argv, runOpts = {}) {
      const full = sshArgv(target, argv);
      if (opts.sshBinary) full[0] = opts.sshBinary;
      const r = await spawnCollect(full, runOpts, opts.env);
      if (r.missing) throw new UserError(`ssh is not installed on this machine (needed to reach ${target.host})`);
      if (r.timedOut) throw new UserError(`${argv[0]} did not answer within ${Math.round((runOpts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s over ${where}`);
      // 255: ssh itself failed (refused, unknown host, no key); the command never ran.
      if (r.code === 255) throw new UserError(`${where} failed: ${lastLine(r.stderr) || 'connection error'}`);
      // 127 from the remote shell: the command is not on the remote PATH.
      if (r.code === NOT_FOUND && /command not found|not found|No such file/i.test(r.stderr)) {
        throw new UserError(`${argv[0]} is not installed on ${target.host} (not found on the remote PATH): is Slurm's client installed there?`);
      }
      return { code: r.code, stdout: r.stdout, stderr: r.stderr, stdoutBytes: r.stdoutBytes };
    },
  };
}
