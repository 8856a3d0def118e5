/**
 * The Electron window's security settings, checked without launching Electron: the options and
 * handlers live in main/electron/window-options.ts (no runtime electron import), and the preload and IPC
 * modules run here against a fake `electron` module.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { blockNavigation, denyWindowOpen, isTrustedSender, mainWindowOptions } from './window-options';
import { contentSecurityPolicy } from '../../contract/content-policy';
import { SpecError } from '../../contract/spec';
import { REMOTE_METHODS } from '../../contract/api-schemas';

const ROOT = resolve(__dirname, '../..');
const APP_URL = 'file:///opt/app/out/renderer/index.html';

/** A fake of the parts of electron that preload/index.ts and main/electron/ipc.ts touch. */
const fake = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invoked: [] as unknown[][],
  handlers: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
  saveDialogPath: null as string | null,
}));
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => fake.exposed.set(key, api) },
  ipcRenderer: {
    invoke: async (...args: unknown[]) => {
      fake.invoked.push(args);
      return 'ok';
    },
    on: () => {},
    removeListener: () => {},
  },
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => Promise<unknown>) => fake.handlers.set(channel, fn),
    removeHandler: (channel: string) => fake.handlers.delete(channel),
  },
  dialog: { showSaveDialog: async () => ({ canceled: fake.saveDialogPath === null, filePath: fake.saveDialogPath ?? undefined }) },
}));

describe('the window options', () => {
  const prefs = mainWindowOptions('/opt/app/out/preload/index.cjs').webPreferences!;

  it('isolates and sandboxes the renderer with no Node integration anywhere', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.preload).toBe('/opt/app/out/preload/index.cjs');
  });

  it('opens at a size that fits 1280×800', () => {
    const o = mainWindowOptions('x');
    expect(o.width).toBeLessThanOrEqual(1280);
    expect(o.height).toBeLessThanOrEqual(800);
  });

  it('has a CSP that allows scripts only from the app: no inline script, no eval, no plugins', () => {
    const csp = contentSecurityPolicy();
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['base-uri']).toEqual(["'none'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(csp).not.toContain('unsafe-eval');
    expect(contentSecurityPolicy({ frameAncestors: true })).toContain("frame-ancestors 'none'");
  });

  it('puts the same CSP in the page itself (the meta tag of renderer/index.html)', () => {
    const html = readFileSync(resolve(ROOT, 'renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    expect(meta?.[1]).toBe(contentSecurityPolicy());
  });

  it('blocks every navigation and every new window', () => {
    const event = { preventDefault: vi.fn() };
    blockNavigation(event, 'https://example.org/');
    expect(event.preventDefault).toHaveBeenCalledOnce();
    expect(denyWindowOpen({ url: 'https://example.org/' })).toEqual({ action: 'deny' });
  });

  it('wires those handlers in main/electron/index.ts', () => {
    const src = readFileSync(resolve(ROOT, 'main/electron/index.ts'), 'utf8');
    expect(src).toContain("webContents.on('will-navigate', blockNavigation)");
    expect(src).toContain('setWindowOpenHandler(denyWindowOpen)');
    expect(src).toContain('new BrowserWindow(mainWindowOptions(');
    expect(src).toContain('setPermissionRequestHandler');
  });

  it('trusts IPC only from the app window’s own main frame showing the app’s page', () => {
    const main = { url: APP_URL };
    const sub = { url: APP_URL };
    expect(isTrustedSender(main, main, APP_URL)).toBe(true);
    expect(isTrustedSender(sub, main, APP_URL)).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/' }, { url: 'x' }, APP_URL)).toBe(false);
    const navigated = { url: 'file:///tmp/other.html' };
    expect(isTrustedSender(navigated, navigated, APP_URL)).toBe(false);
    expect(isTrustedSender(null, main, APP_URL)).toBe(false);
    const dev = { url: 'http://localhost:5173/#/queue' };
    expect(isTrustedSender(dev, dev, 'http://localhost:5173/')).toBe(true);
  });
});

describe('the preload', () => {
  it('exposes exactly the typed API as window.workbench, each method one invoke on its own channel', async () => {
    await import('../../preload/index');
    const api = fake.exposed.get('workbench') as Record<string, (...a: unknown[]) => Promise<unknown>>;
    expect([...fake.exposed.keys()]).toEqual(['workbench']);
    expect(Object.keys(api).sort()).toEqual([...REMOTE_METHODS, 'onEvent', 'saveFile'].sort());
    await api.getRun(3);
    await api.moveRun(4, 0);
    expect(fake.invoked).toEqual([
      ['workbench:getRun', 3],
      ['workbench:moveRun', 4, 0],
    ]);
  });
});

describe('the IPC handlers', () => {
  const mainFrame = { url: APP_URL };
  const win = { webContents: { mainFrame, send: vi.fn() }, isDestroyed: () => false };
  const workbench = {
    onEvents: () => () => {},
    getRun: vi.fn(async (id: number) => ({ id })),
    enqueueSpec: vi.fn(async () => {
      throw new SpecError(['base.heads: must be a positive integer']);
    }),
  };
  beforeEach(async () => {
    fake.handlers.clear();
    const { registerIpc } = await import('./ipc');
    registerIpc(workbench as never, { window: win as never, appUrl: APP_URL, saveDir: '/tmp' });
  });

  it('answers the app’s own frame with validated arguments', async () => {
    await expect(fake.handlers.get('workbench:getRun')!({ senderFrame: mainFrame }, 7)).resolves.toEqual({ ok: true, result: { id: 7 } });
    expect(workbench.getRun).toHaveBeenCalledWith(7);
  });

  it('refuses calls from any other frame before touching the workbench', async () => {
    workbench.getRun.mockClear();
    await expect(fake.handlers.get('workbench:getRun')!({ senderFrame: { url: APP_URL } }, 7)).resolves.toMatchObject({ ok: false, error: { message: expect.stringMatching(/not the workbench window/) } });
    expect(workbench.getRun).not.toHaveBeenCalled();
  });

  it('refuses arguments that do not match the API, naming the argument', async () => {
    workbench.getRun.mockClear();
    await expect(fake.handlers.get('workbench:getRun')!({ senderFrame: mainFrame }, '7; DROP TABLE runs')).resolves.toMatchObject({ ok: false, error: { message: 'getRun: argument 0: run id must be a positive integer', user: true } });
    await expect(fake.handlers.get('workbench:getRun')!({ senderFrame: mainFrame }, 1, 2)).resolves.toMatchObject({ ok: false, error: { message: expect.stringMatching(/getRun/) } });
    expect(workbench.getRun).not.toHaveBeenCalled();
  });

  it('carries a spec’s issue list across IPC', async () => {
    const reply = await fake.handlers.get('workbench:enqueueSpec')!({ senderFrame: mainFrame }, 'name: x');
    expect(reply).toEqual({ ok: false, error: { message: 'base.heads: must be a positive integer', issues: ['base.heads: must be a positive integer'], user: true } });
  });

  it('registers a handler for every remote method and for saveFile, nothing else', () => {
    expect([...fake.handlers.keys()].sort()).toEqual([...REMOTE_METHODS.map((m) => `workbench:${m}`), 'workbench:saveFile'].sort());
  });
});
