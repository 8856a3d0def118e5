/**
 * The desktop app's entry (thin): one secure window (main/window-options.ts), the Workbench on a
 * database in the app's data directory, the API over IPC (main/ipc.ts), runs in Electron utility
 * processes, native dialogs and a menu. Everything the app does is in the Workbench; everything it
 * shows is in renderer/. App-wide hardening (every webContents guarded, app:// instead of
 * file://, permissions and device pickers refused) is hardening.ts; fuses are fuses.ts.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, Menu, protocol, session, shell, utilityProcess, type MenuItemConstructorOptions } from 'electron';
import { registerIpc } from './ipc';
import { findSystemNode, forkSpawner, routeByBackend, utilityProcessSpawner, type RunSpawner, type UtilityProcessLike } from '../service/run-host';
import { readSpecFile, expandLoaded } from '../service/spec-edge';
import { userErrorMessage } from '../../contract/errors';
import { Workbench } from '../service/workbench';
import { mainWindowOptions } from './window-options';
import { contentSecurityPolicy } from '../../contract/content-policy';
import { hardenSession, installWebContentsGuard, registerAppScheme, rendererUrl, serveAppProtocol } from './hardening';

const HERE = dirname(fileURLToPath(import.meta.url));
const SETTINGS = () => join(app.getPath('userData'), 'settings.json');

interface Settings {
  /** Database the app opens; default: workbench.sqlite in the app's data directory. */
  dbPath?: string;
}

function readSettings(): Settings {
  try {
    return JSON.parse(readFileSync(SETTINGS(), 'utf8')) as Settings;
  } catch {
    return {};
  }
}

let workbench: Workbench | null = null;
let unregister: (() => void) | null = null;

/** The built renderer, served as app://workbench/ (hardening.ts). */
const RENDERER_DIR = join(HERE, '../renderer');

async function openWorkbench(dbPath: string): Promise<Workbench> {
  return Workbench.open({
    dbPath,
    // Checkpoints and data caches beside the database in the app's data directory.
    dataDir: join(app.getPath('userData'), 'data'),
    // Electron types stdout as NodeJS.ReadableStream; at run time it is a stream.Readable.
    spawner: appSpawner(),
    // A worker or `ablate run` already owns this database's queue: watch it and send it commands.
    attach: true,
    log: (line) => console.log(`[workbench] ${line}`),
  });
}

/** Utility processes for most runs; a plain Node process for runs that may use WebGPU (see routeByBackend). */
function appSpawner(): RunSpawner {
  const entry = join(HERE, 'run-process.js');
  const defaultHost = utilityProcessSpawner(() => utilityProcess.fork(entry, [], { stdio: 'pipe', serviceName: 'ablate run' }) as unknown as UtilityProcessLike);
  return routeByBackend({
    defaultHost,
    webgpuHost: () => {
      const node = findSystemNode({ exclude: process.execPath });
      console.log(node ? `[workbench] webgpu/fused/auto runs use Node ${node.version} at ${node.path}` : '[workbench] no Node >= 20 on PATH (or $ABLATE_NODE): runs use utility processes, where WebGPU cannot load');
      return node ? forkSpawner({ entry, execArgv: [], execPath: node.path }) : null;
    },
  });
}

async function createWindow(): Promise<void> {
  const settings = readSettings();
  const dbPath = settings.dbPath && existsSync(dirname(settings.dbPath)) ? settings.dbPath : join(app.getPath('userData'), 'workbench.sqlite');
  workbench = await openWorkbench(dbPath);

  const win = new BrowserWindow(mainWindowOptions(join(HERE, '../preload/index.cjs')));
  win.setTitle(`Ablation Workbench — ${dbPath}`);
  // electron-vite dev serves the renderer (unpackaged only); otherwise app://workbench/index.html.
  const url = rendererUrl(process.env, app.isPackaged);
  // Navigation, new windows and webviews are refused for every webContents (installWebContentsGuard).
  unregister = registerIpc(workbench, { window: win, appUrl: url, saveDir: app.getPath('documents') });
  win.once('ready-to-show', () => win.show());
  Menu.setApplicationMenu(buildMenu(win));
  await win.loadURL(url);
}

async function openDatabase(win: BrowserWindow): Promise<void> {
  const r = await dialog.showOpenDialog(win, {
    title: 'Open a workbench database',
    properties: ['openFile', 'promptToCreate'],
    filters: [{ name: 'Workbench database', extensions: ['sqlite', 'db'] }],
  });
  if (r.canceled || !r.filePaths[0]) return;
  writeFileSync(SETTINGS(), JSON.stringify({ ...readSettings(), dbPath: r.filePaths[0] }, null, 2));
  // A clean restart on the new database: the queue, the scheduler and the window start fresh.
  app.relaunch();
  app.quit();
}

async function openSpec(win: BrowserWindow): Promise<void> {
  const r = await dialog.showOpenDialog(win, { title: 'Queue a spec file', properties: ['openFile'], filters: [{ name: 'Spec', extensions: ['yaml', 'yml', 'json'] }] });
  if (r.canceled || !r.filePaths[0] || !workbench) return;
  try {
    // A spec file keeps its folder, so its relative corpus paths resolve (text from the editor has none).
    const loaded = readSpecFile(r.filePaths[0]);
    const count = expandLoaded(loaded).length;
    const answer = await dialog.showMessageBox(win, {
      type: 'question',
      buttons: ['Queue', 'Cancel'],
      defaultId: 0,
      cancelId: 1,
      message: `Queue “${loaded.spec.name}”?`,
      detail: `${count} run${count === 1 ? '' : 's'} (runs already in the database are skipped).`,
    });
    if (answer.response !== 0) return;
    const result = workbench.enqueue(loaded);
    await dialog.showMessageBox(win, { type: 'info', message: `Queued ${result.queued.length} run(s); ${result.skipped.length} skipped.` });
  } catch (err) {
    dialog.showErrorBox('Spec not queued', userErrorMessage(err) ?? String(err));
  }
}

function buildMenu(win: BrowserWindow): Menu {
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Database…', accelerator: 'CmdOrCtrl+O', click: () => void openDatabase(win) },
        { label: 'Queue Spec File…', accelerator: 'CmdOrCtrl+Shift+O', click: () => void openSpec(win) },
        { label: 'Show Data Folder', click: () => void shell.openPath(app.getPath('userData')) },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}

app.enableSandbox();
// Before ready: the scheme's privileges, and the guard on every webContents from the first one.
registerAppScheme(protocol);
installWebContentsGuard(app);
app.whenReady().then(async () => {
  // Same CSP as the <meta> tag, as a header too (covers the dev server).
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [contentSecurityPolicy()] } });
  });
  // Only writing text to the clipboard (the Results view's Copy buttons) is ever allowed; no device.
  hardenSession(session.defaultSession);
  serveAppProtocol(protocol, RENDERER_DIR);
  try {
    await createWindow();
  } catch (err) {
    dialog.showErrorBox('Ablation Workbench could not start', userErrorMessage(err) ?? (err instanceof Error ? err.message : String(err)));
    app.exit(1);
  }
});

app.on('window-all-closed', () => app.quit());
app.on('before-quit', (event) => {
  if (!workbench) return;
  // Stop runs cleanly (they checkpoint-resume next time) before the process goes.
  event.preventDefault();
  const wb = workbench;
  workbench = null;
  unregister?.();
  void wb.close().finally(() => app.quit());
});
