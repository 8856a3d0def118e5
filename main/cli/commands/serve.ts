/**
 * `ablate serve --db FILE [--host 127.0.0.1] [--port P] [--token T]`: the desktop app's renderer in
 * a browser, for GPU servers without a display. Builds the renderer once (or again when its sources
 * changed), opens the Workbench on the database (the queue runs while the server is up) and prints
 * the URL to open.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { BACKENDS } from '../../../contract/backends';
import { addDbOptions, parseBackend, parseSlots, resolveDb, type DbOptions } from '../support';
import { UserError } from '../../../contract/errors';
import { defaultRendererDir, isLoopbackHost, startServer } from '../../server/server';
import { Workbench } from '../../service/workbench';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

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
  const sources = [join(ROOT, 'renderer'), join(ROOT, 'preload/api.ts')];
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return;
  log('building the renderer (vite)…');
  const { build } = await import('vite');
  const { default: vue } = await import('@vitejs/plugin-vue');
  await build({
    configFile: false,
    root: join(ROOT, 'renderer'),
    base: './',
    logLevel: 'warn',
    plugins: [vue()],
    build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 2000, rollupOptions: { input: { index: join(ROOT, 'renderer/index.html') } } },
  });
}

interface ServeOptions extends DbOptions {
  host: string;
  port: string;
  token?: string;
  slots?: string;
  backend?: string;
}

export function register(program: Command): void {
  addDbOptions(program.command('serve').description('serve the workbench UI over HTTP (API on a WebSocket); loopback only unless --token is set'))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8737')
    .option('--token <token>', 'required from every client; needed to listen on a non-loopback host')
    .option('--slots <n>', 'runs trained at the same time (default 1)')
    .option('--backend <name>', `backend for runs queued without one (${BACKENDS.join(', ')})`)
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port: expected an integer 0–65535, got "${opts.port}"`);
      const slots = parseSlots(opts.slots);
      const backend = parseBackend(opts.backend);
      if (!isLoopbackHost(opts.host) && !opts.token) throw new UserError(`--host ${opts.host}: refusing to listen beyond this machine without --token (anyone who reaches it could queue runs)`);
      if (opts.token !== undefined && opts.token.length < 8) throw new UserError('--token: use at least 8 characters');
      const { dbPath, dataDir } = resolveDb(opts, false);

      const log = (line: string) => process.stderr.write(`ablate serve: ${line}\n`);
      await ensureRendererBuilt(defaultRendererDir(), log);
      const workbench = await Workbench.open({ dbPath, dataDir, slots, backend, autoStart: true, log });
      const server = await startServer(workbench, { host: opts.host, port, token: opts.token });
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
