/**
 * Hosts one run in a process of its own, so a crash, an out-of-memory or a native fault kills that
 * run and never the workbench. Two hosts behind one interface: `child_process.fork` with tsx for the
 * CLI and the server, Electron's `utilityProcess.fork` in the app (passed in by main/electron.ts, so
 * this file never imports electron). Modelled on VS Code's UtilityProcess wrapper: typed events,
 * an exit reason, and log lines prefixed with the process's pid.
 */
import { execFileSync, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import type { ParentToRun, RunToParent } from '../../contract/run-protocol';
import { DAWN_BACKENDS, type BackendName } from '../../contract/backends';

/** How a run process ended: an exit code, or the signal that killed it. */
export interface RunExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/** One running run process, as the scheduler sees it. */
export interface RunProcess {
  readonly pid: number | undefined;
  send(message: ParentToRun): void;
  onMessage(listener: (message: RunToParent) => void): void;
  /** A line the process wrote to stdout or stderr (tfjs chatter, stack traces). */
  onOutput(listener: (stream: 'stdout' | 'stderr', line: string) => void): void;
  /** Called once, when the process is gone. */
  onExit(listener: (exit: RunExit) => void): void;
  /** Hard kill (SIGKILL): used when a graceful stop misses its deadline. */
  kill(): void;
}

/**
 * Starts a run process for work on `backend` (a run's job, or inference); the work itself is sent
 * afterwards as messages. The backend only chooses the host (routeByBackend).
 */
export type RunSpawner = (work: { readonly backend: BackendName }) => RunProcess;

/**
 * tsx's loader as an absolute URL: a bare `--import tsx` resolves from the working directory, so
 * `ablate run` started outside the project could not start its run processes.
 */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** The run process entry in source form (CLI/server run TypeScript through tsx). */
export const RUN_PROCESS_ENTRY = fileURLToPath(new URL('./run-process.ts', import.meta.url));

/** Calls `listener` once per complete line of `stream`. */
function forEachLine(stream: Readable | null | undefined, listener: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trimEnd();
      pending = pending.slice(nl + 1);
      if (line) listener(line);
    }
  });
  stream.on('end', () => {
    if (pending.trim()) listener(pending.trim());
    pending = '';
  });
}

/** A small fan-out so listeners may subscribe before or after the process starts talking. */
function makeProcess(pid: number | undefined, send: (m: ParentToRun) => void, kill: () => void) {
  const messageListeners: ((m: RunToParent) => void)[] = [];
  const outputListeners: ((s: 'stdout' | 'stderr', l: string) => void)[] = [];
  const exitListeners: ((e: RunExit) => void)[] = [];
  let exited: RunExit | null = null;
  const proc: RunProcess = {
    pid,
    send,
    kill,
    onMessage: (l) => void messageListeners.push(l),
    onOutput: (l) => void outputListeners.push(l),
    onExit: (l) => {
      if (exited) l(exited);
      else exitListeners.push(l);
    },
  };
  return {
    proc,
    message: (m: RunToParent) => messageListeners.forEach((l) => l(m)),
    output: (s: 'stdout' | 'stderr', line: string) => outputListeners.forEach((l) => l(s, line)),
    exit: (e: RunExit) => {
      if (exited) return;
      exited = e;
      exitListeners.splice(0).forEach((l) => l(e));
    },
  };
}

/**
 * Spawner for Node (CLI, server, tests): `child_process.fork(entry)` with tsx as the loader.
 * stdout is piped (tfjs prints a banner there, and `ablate run --json` must own stdout).
 */
export function forkSpawner(opts: { entry?: string; execArgv?: readonly string[]; env?: NodeJS.ProcessEnv; execPath?: string } = {}): RunSpawner {
  // ABLATE_RUN_PROCESS: another run-process entry speaking the same protocol (the fault-injection
  // suite and CLI tests use test/fixtures/toy-run-process.ts to drive `ablate worker` in seconds).
  const entry = opts.entry ?? (process.env.ABLATE_RUN_PROCESS || RUN_PROCESS_ENTRY);
  const execArgv = opts.execArgv ?? (entry.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : []);
  return () => {
    const child = fork(entry, [], {
      execArgv: [...execArgv],
      ...(opts.execPath ? { execPath: opts.execPath } : {}),
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced', // keeps NaN and ±Infinity in metric values (JSON would turn them into null)
    });
    const h = makeProcess(
      child.pid,
      (m) => {
        if (child.connected) child.send(m);
      },
      () => void child.kill('SIGKILL'),
    );
    child.on('message', (m) => h.message(m as RunToParent));
    forEachLine(child.stdout, (line) => h.output('stdout', line));
    forEachLine(child.stderr, (line) => h.output('stderr', line));
    child.on('error', (err) => h.output('stderr', `run process error: ${err.message}`));
    child.on('exit', (code, signal) => h.exit({ code, signal }));
    return h.proc;
  };
}

/** The slice of Electron's UtilityProcess this host uses (structural, so no electron import here). */
export interface UtilityProcessLike {
  readonly pid?: number;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/**
 * Spawner for the Electron app: `utilityProcess.fork(out/main/run-process.js, [], { stdio: 'pipe' })`.
 * Usage in main/electron.ts:
 *   utilityProcessSpawner(() => utilityProcess.fork(join(__dirname, 'run-process.js'), [], { stdio: 'pipe', serviceName: 'ablate run' }))
 */
export function utilityProcessSpawner(forkUtility: () => UtilityProcessLike): RunSpawner {
  return () => {
    const child = forkUtility();
    let killed = false;
    const h = makeProcess(
      child.pid,
      (m) => child.postMessage(m),
      () => {
        killed = true;
        child.kill();
      },
    );
    child.on('message', (m) => h.message(m as RunToParent));
    forEachLine(child.stdout, (line) => h.output('stdout', line));
    forEachLine(child.stderr, (line) => h.output('stderr', line));
    // Electron reports only an exit code; a kill we issued is reported as SIGKILL.
    child.on('exit', (code) => h.exit({ code: killed ? null : code, signal: killed ? 'SIGKILL' : null }));
    return h.proc;
  };
}

/** Oldest Node a plain-Node run host may be (the project's engines field). */
const MIN_NODE_MAJOR = 20;

/**
 * A Node.js ≥ 20 other than `exclude` (Electron's own binary): $ABLATE_NODE if set, else the first
 * `node` on PATH whose `--version` says so. Null when there is none.
 */
export function findSystemNode(opts: { env?: NodeJS.ProcessEnv; exclude?: string } = {}): { path: string; version: string } | null {
  const env = opts.env ?? process.env;
  const candidates = env.ABLATE_NODE ? [env.ABLATE_NODE] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, process.platform === 'win32' ? 'node.exe' : 'node'));
  for (const candidate of candidates) {
    if (!existsSync(candidate) || (opts.exclude && resolve(candidate) === resolve(opts.exclude))) continue;
    try {
      // ELECTRON_RUN_AS_NODE unset: an Electron binary named node would print Electron's version, not pass as Node.
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8', timeout: 10_000, env: { ...env, ELECTRON_RUN_AS_NODE: '' } }).trim();
      const major = /^v(\d+)\./.exec(version);
      if (major && Number(major[1]) >= MIN_NODE_MAJOR) return { path: candidate, version };
    } catch {
      // not runnable: try the next one
    }
  }
  return null;
}

/**
 * The app's spawner: runs that may use WebGPU (backend webgpu, fused or auto: DAWN_BACKENDS) go to the
 * host `webgpuHost()` returns, a plain Node process, because Dawn (the `webgpu` addon) refuses to load
 * inside Electron's V8 memory cage, which utility processes share; every other run, and all runs when
 * it returns null, go to `defaultHost` (where a fused run fails with that reason, auto falls back). `webgpuHost` is asked on the first such run only (finding a Node
 * spawns processes: not something to do at start-up).
 */
export function routeByBackend(hosts: { defaultHost: RunSpawner; webgpuHost: () => RunSpawner | null }): RunSpawner {
  let webgpu: RunSpawner | null | undefined;
  return (work) => {
    if (!DAWN_BACKENDS.includes(work.backend)) return hosts.defaultHost(work);
    if (webgpu === undefined) webgpu = hosts.webgpuHost();
    return (webgpu ?? hosts.defaultHost)(work);
  };
}
