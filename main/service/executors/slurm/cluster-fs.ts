/**
 * Where the desktop writes and checks files under the cluster root: this machine's filesystem (the
 * root is mounted here: a login node, or a desktop on the shared filesystem), or through the shell
 * seam (shell.ts) — over ssh from a desktop that reaches only a login node. Every write or check of
 * the cluster root by the executor goes through one (the reads of events files go through an
 * EventsSource, events-source.ts): the queue-time mount check, a submission's run folders and
 * job.json, a retry's fresh run folder, and the removal of a deleted run's folders.
 *
 * Through a shell each operation is one command, `sh -c SCRIPT sh PATH…`: file names travel as
 * positional parameters, never inside the script, so no name is interpreted by the remote shell;
 * a file's text travels on stdin (ShellRunOptions.input), never on the command line.
 */
import { accessSync, constants, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { UserError } from '../../../../contract/errors';
import { localShell, type Shell } from './shell';

export interface ClusterFs {
  /** For messages: `this machine` or `ssh user@host`. */
  readonly where: string;
  /** `mkdir -p`: the folder and its parents; fine when it exists. */
  mkdirp(dir: string): Promise<void>;
  /** The bytes of `path` (a checkpoint copied for the desktop's own use); a missing file is a ClusterFsError. */
  readFile(path: string): Promise<Buffer>;
  /** Writes `data` to `path` whole: a reader sees the old file or the new one (written beside it, then renamed). */
  writeFile(path: string, data: string | Buffer): Promise<void>;
  /** Whether `path` exists. */
  exists(path: string): Promise<boolean>;
  /** Whether `dir` is a folder this side can write into. */
  writableDir(dir: string): Promise<boolean>;
  /** The names in `dir`; [] while it does not exist. */
  list(dir: string): Promise<string[]>;
  /** Renames `from` to `to` (same filesystem); `to` must not exist. */
  rename(from: string, to: string): Promise<void>;
  /** Removes `path` with everything in it; fine when it is already gone. */
  remove(path: string): Promise<void>;
}

/** A ClusterFs operation that failed: one line naming what, the path and the side; `detail` is the cause alone. */
export class ClusterFsError extends UserError {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
  }
}

function failure(what: string, path: string, where: string, detail: string): ClusterFsError {
  return new ClusterFsError(`cannot ${what} ${path} on ${where}: ${detail}`, detail);
}

const lastLine = (text: string) => text.trim().split('\n').pop() || '';

/** The cluster root mounted on this machine. */
export function localClusterFs(): ClusterFs {
  const where = 'this machine';
  // mkdir(1), not fs.mkdirSync: Node's recursive mkdir spins for a minute under /proc.
  const sh = localShell();
  const attempt = <T>(what: string, path: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw failure(what, path, where, (err as Error).message);
    }
  };
  return {
    where,
    async mkdirp(dir) {
      const r = await sh.run(['mkdir', '-p', '--', dir], { timeoutMs: 30_000 });
      if (r.code !== 0) throw failure('create the folder', dir, where, lastLine(r.stderr) || `mkdir exit status ${r.code}`);
    },
    readFile: async (path) => attempt('read', path, () => readFileSync(path)),
    async writeFile(path, text) {
      const tmp = `${path}.tmp-${process.pid}`;
      attempt('write', path, () => {
        writeFileSync(tmp, text);
        renameSync(tmp, path);
      });
    },
    exists: async (path) => existsSync(path),
    async writableDir(dir) {
      try {
        if (!statSync(dir).isDirectory()) return false;
        accessSync(dir, constants.W_OK | constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    list: async (dir) => (existsSync(dir) ? readdirSync(dir) : []),
    async rename(from, to) {
      attempt('rename', from, () => {
        if (existsSync(to)) throw new Error(`${to} exists`);
        if (!existsSync(dirname(to))) throw new Error(`${dirname(to)} does not exist`);
        renameSync(from, to);
      });
    },
    async remove(path) {
      attempt('remove', path, () => rmSync(path, { recursive: true, force: true }));
    },
  };
}

/** Each script reads its paths from "$1", "$2" (sh -c SCRIPT sh PATH…). */
const SCRIPTS = {
  mkdirp: 'mkdir -p -- "$1"',
  readFile: 'test -f "$1" && test -r "$1" || { echo "no readable file $1" >&2; exit 1; }; cat -- "$1"',
  // Beside the file, then renamed: a job starting now reads the old job.json or the new one, never half.
  writeFile: 'cat > "$1.tmp.$$" && mv -f -- "$1.tmp.$$" "$1" || { rm -f -- "$1.tmp.$$"; exit 1; }',
  exists: 'test -e "$1" || test -L "$1"',
  writableDir: 'test -d "$1" && test -w "$1" && test -x "$1"',
  list: 'test -d "$1" || exit 0; ls -1A -- "$1"',
  rename: 'if test -e "$2"; then echo "$2 exists" >&2; exit 1; fi; mv -- "$1" "$2"',
  remove: 'rm -rf -- "$1"',
} as const;

/** The argv of one ClusterFs operation through a shell: the script, then the paths as positional parameters. */
export function clusterFsArgv(op: keyof typeof SCRIPTS, ...paths: string[]): string[] {
  for (const p of paths) if (!posix.isAbsolute(p)) throw new Error(`cluster path must be absolute, got ${JSON.stringify(p)}`);
  return ['sh', '-c', SCRIPTS[op], 'sh', ...paths];
}

/** The cluster root behind `shell` (a login node over ssh, or this machine's shell on a login node). */
export function shellClusterFs(shell: Shell): ClusterFs {
  const where = shell.where;
  const run = async (what: string, op: keyof typeof SCRIPTS, paths: string[], input?: string | Buffer): Promise<number> => {
    const r = await shell.run(clusterFsArgv(op, ...paths), { timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
    if (r.code !== 0 && what) throw failure(what, paths[0], where, lastLine(r.stderr) || `exit status ${r.code}`);
    return r.code;
  };
  return {
    where,
    mkdirp: async (dir) => void (await run('create the folder', 'mkdirp', [dir])),
    async readFile(path) {
      // Binary: stdout as the bytes received. Checkpoints are tens to hundreds of MB: 10 minutes.
      const r = await shell.run(clusterFsArgv('readFile', path), { timeoutMs: 600_000 });
      if (r.code !== 0) throw failure('read', path, where, lastLine(r.stderr) || `exit status ${r.code}`);
      if (!r.stdoutBytes) throw new Error(`the shell for ${where} returns no stdout bytes: files cannot be copied through it`);
      return r.stdoutBytes;
    },
    writeFile: async (path, data) => void (await run('write', 'writeFile', [path], data)),
    exists: async (path) => (await run('', 'exists', [path])) === 0,
    writableDir: async (dir) => (await run('', 'writableDir', [dir])) === 0,
    async list(dir) {
      const r = await shell.run(clusterFsArgv('list', dir), { timeoutMs: 60_000 });
      if (r.code !== 0) throw failure('list', dir, where, lastLine(r.stderr) || `exit status ${r.code}`);
      return r.stdout.split('\n').filter(Boolean);
    },
    rename: async (from, to) => void (await run('rename', 'rename', [from, to])),
    remove: async (path) => void (await run('remove', 'remove', [path])),
  };
}
