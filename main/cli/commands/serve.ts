/**
 * `ablate serve --db FILE [--host 127.0.0.1] [--port P] [--token-file FILE] [--data-root DIR]...
 * [--cluster-root DIR]... [--allow-sbatch-option NAME]... [--allow-ssh-target HOST]...
 * [--cluster-node PATH] [--cluster-checkout PATH]`:
 * the desktop app's renderer in a browser, for GPU servers without a display. Builds the renderer
 * once (or again when its sources changed), opens the Workbench on the database (the queue runs
 * while the server is up) and prints the URL to open.
 *
 * The token comes from $ABLATE_TOKEN or --token-file, never from the command line (every user of
 * the machine sees a process's arguments in `ps`). Specs queued through the server may only read
 * corpora under the database's folder and each --data-root; Slurm runs from clients only the
 * named --cluster-root folders, --allow-sbatch-option options and --allow-ssh-target login nodes
 * (main/server/cluster-policy.ts).
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { BACKENDS } from '../../../contract/backends';
import { addDbOptions, DEFAULT_DB, parseBackend, parseSlots, resolveDb, type DbOptions } from '../support';
import { UserError } from '../../../contract/errors';
import { defaultRendererDir, isLoopbackHost, startServer } from '../../server/server';
import { parseSshTarget } from '../../service/executors/slurm/access';
import { parseMaxParallel } from '../../service/executors/slurm/options';
import { Workbench } from '../../service/workbench';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Newest modification time under `dir` (ms), skipping nothing but dot-folders. */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) {
    if (name.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, name)));
  }
  return newest;
}

/**
 * Builds renderer/ into `outDir` with vite when there is no build yet or a source file is newer than
 * it (a stale UI against a newer API would be a confusing failure). Same settings as the renderer
 * section of electron.vite.config.ts, so one build serves both the app and the browser.
 */
export async function ensureRendererBuilt(outDir: string = defaultRendererDir(), log: (line: string) => void = () => {}): Promise<void> {
  const index = join(outDir, 'index.html');
  // The renderer and what it imports (contract/, common/): a change there means a rebuild.
  const sources = [join(ROOT, 'renderer'), join(ROOT, 'contract'), join(ROOT, 'common')];
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  log('building the renderer (vite)…');
  const { build } = await import('vite');
  const { default: vue } = await import('@vitejs/plugin-vue');
  // Built beside it and swapped in: two servers started together on a stale checkout (the browser
  // test and the fault suite's bad-input rows in one `npm test`) must not serve a folder the other
  // one's build is emptying.
  const staging = `${outDir}.build-${process.pid}`;
  await build({
    configFile: false,
    root: join(ROOT, 'renderer'),
    base: './',
    logLevel: 'warn',
    plugins: [vue()],
    build: { outDir: staging, emptyOutDir: true, chunkSizeWarningLimit: 2000, rollupOptions: { input: { index: join(ROOT, 'renderer/index.html') } } },
  });
  const old = `${outDir}.old-${process.pid}`;
  if (existsSync(outDir)) renameSync(outDir, old);
  try {
    renameSync(staging, outDir);
  } catch {
    // Another process swapped its build in first: the same sources, so it serves as well.
  }
  rmSync(staging, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}

interface ServeOptions extends DbOptions {
  host: string;
  port: string;
  token?: string;
  tokenFile?: string;
  dataRoot: string[];
  clusterRoot: string[];
  allowSbatchOption: string[];
  allowSshTarget: string[];
  clusterNode?: string;
  clusterCheckout?: string;
  slots?: string;
  maxParallel?: string;
  backend?: string;
  new?: boolean;
}

/** The server's token: $ABLATE_TOKEN or the first line of --token-file; `--token` is refused (visible in `ps`). */
export function resolveToken(opts: { token?: string; tokenFile?: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (opts.token !== undefined) throw new UserError('--token: a token on the command line is visible to every user in `ps`; set ABLATE_TOKEN or use --token-file FILE');
  let token: string | undefined;
  if (opts.tokenFile !== undefined) {
    try {
      token = readFileSync(opts.tokenFile, 'utf8').split(/\r?\n/)[0].trim();
    } catch (err) {
      throw new UserError(`--token-file ${opts.tokenFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (!token) throw new UserError(`--token-file ${opts.tokenFile}: the file is empty`);
  } else if (env.ABLATE_TOKEN !== undefined && env.ABLATE_TOKEN !== '') token = env.ABLATE_TOKEN;
  if (token !== undefined && token.length < 8) throw new UserError(`${opts.tokenFile !== undefined ? `--token-file ${opts.tokenFile}` : 'ABLATE_TOKEN'}: use at least 8 characters`);
  return token;
}

/** The folders corpora of specs from clients may lie in: the database's folder, then each --data-root (which must exist). */
export function resolveDataRoots(dbPath: string, roots: readonly string[]): string[] {
  for (const root of roots) {
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`--data-root ${root}: no such folder`);
  }
  return [dirname(dbPath), ...roots.map((r) => resolve(r))];
}

/** --cluster-root folders as absolute paths (each must be absolute: it is the same path on the nodes), --allow-sbatch-option names and --allow-ssh-target login nodes. */
export function resolveClusterPolicy(
  roots: readonly string[],
  options: readonly string[],
  sshTargets: readonly string[] = [],
  host: { clusterNode?: string; clusterCheckout?: string } = {},
): { clusterRoots: string[]; sbatchOptions: string[]; sshTargets: string[]; clusterNode?: string; clusterCheckout?: string } {
  for (const [flag, path] of [['--cluster-node', host.clusterNode], ['--cluster-checkout', host.clusterCheckout]] as const) {
    if (path !== undefined && !isAbsolute(path)) throw new UserError(`${flag} ${path}: expected an absolute path on the cluster`);
  }
  for (const root of roots) if (!isAbsolute(root)) throw new UserError(`--cluster-root ${root}: expected an absolute path (the nodes see the same path)`);
  for (const name of options) {
    if (!/^(--)?[a-z][a-z0-9-]*$/.test(name)) throw new UserError(`--allow-sbatch-option ${name}: expected a long sbatch option name such as qos or --qos`);
  }
  for (const target of sshTargets) parseSshTarget(target, `--allow-ssh-target ${target}`);
  return { clusterRoots: [...roots], sbatchOptions: [...options], sshTargets: [...sshTargets], ...(host.clusterNode ? { clusterNode: host.clusterNode } : {}), ...(host.clusterCheckout ? { clusterCheckout: host.clusterCheckout } : {}) };
}

/**
 * A named --db must exist unless --new asks for an empty one (a typo must not start an empty
 * workbench, as `runs` and `export` refuse it); the default database is created on a first start.
 */
export function checkServeDb(opts: { db: string; new?: boolean }): void {
  if (opts.new || opts.db === DEFAULT_DB || existsSync(resolve(opts.db))) return;
  throw new UserError(`--db ${opts.db}: no such database (check the name; \`ablate serve --db ${opts.db} --new\` starts an empty one)`);
}

export function register(program: Command): void {
  addDbOptions(program.command('serve').description('serve the workbench UI over HTTP (API on a WebSocket); loopback only unless --token is set'))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8737')
    .option('--token <token>', 'refused: use ABLATE_TOKEN or --token-file (a command-line token shows in `ps`)')
    .option('--token-file <file>', 'read the token every client must send from FILE (default: $ABLATE_TOKEN); needed to listen on a non-loopback host')
    .option('--data-root <dir>', 'also allow specs from clients to read corpora under DIR (repeatable; the database\'s folder is always allowed)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster-root <dir>', 'let clients queue Slurm runs under DIR (repeatable; none: clients cannot use Slurm)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--allow-sbatch-option <name>', 'let clients pass the sbatch option --NAME=VALUE, e.g. qos (repeatable; none: clients pass no sbatch options)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--allow-ssh-target <host>', 'let clients queue Slurm runs through this login node over ssh, host or user@host, exact (repeatable; none: clients name no ssh target)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster-node <path>', "node (>= 20) on the cluster for clients' Slurm runs (default: this machine's path)")
    .option('--cluster-checkout <path>', "this project's checkout on the cluster for clients' Slurm runs (default: this machine's path)")
    .option('--slots <n>', 'runs trained on this machine at the same time (default 1; cluster runs take none)')
    .option('--max-parallel <n>', "cluster runs of one Slurm choice in flight at once: the bound of runs queued without one, and the most a client's choice may name (default: --slots, else 1)")
    .option('--backend <name>', `backend for runs queued without one (${BACKENDS.join(', ')})`)
    .option('--new', 'create the database named by --db when it does not exist')
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: expected an integer 0–65535, got "${opts.port}"`);
      const slots = parseSlots(opts.slots);
      const clusterSlots = parseMaxParallel({ maxParallel: opts.maxParallel }) ?? slots ?? 1;
      const backend = parseBackend(opts.backend);
      const token = resolveToken(opts);
      if (!isLoopbackHost(opts.host) && !token) throw new UserError(`--host ${opts.host}: refusing to listen beyond this machine without a token (anyone who reaches it could queue runs); set ABLATE_TOKEN or use --token-file FILE`);
      checkServeDb(opts);
      const { dbPath, dataDir } = resolveDb(opts, false);
      const dataRoots = resolveDataRoots(dbPath, opts.dataRoot);
      const cluster = resolveClusterPolicy(opts.clusterRoot, opts.allowSbatchOption, opts.allowSshTarget, { clusterNode: opts.clusterNode, clusterCheckout: opts.clusterCheckout });
      const clusterPolicy = { ...cluster, maxParallel: clusterSlots };

      const log = (line: string) => process.stderr.write(`ablate serve: ${line}\n`);
      await ensureRendererBuilt(defaultRendererDir(), log);
      // attach: beside an `ablate worker` on the same database, watch it and send it commands (one scheduler).
      const workbench = await Workbench.open({ dbPath, dataDir, slots, clusterSlots, backend, autoStart: true, attach: true, log });
      const server = await startServer(workbench, { host: opts.host, port, token, dataRoots, cluster: clusterPolicy, log });
      process.stdout.write(`ablate serve: ${server.url}\n`);

      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void server
            .close()
            .then(() => workbench.close())
            .finally(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
