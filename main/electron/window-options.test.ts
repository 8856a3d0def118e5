/**
 * The Electron window's security settings, checked without launching Electron: the options live in
 * main/electron/window-options.ts (no runtime electron import), and the app entry, the preload and
 * the IPC modules run here against a fake `electron` module that records every call.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isTrustedSender, mainWindowOptions } from './window-options';
import { contentSecurityPolicy } from '../../contract/content-policy';
import { SpecError } from '../../contract/spec';
import { REMOTE_METHODS } from '../../contract/api-schemas';

const ROOT = resolve(__dirname, '../..');
const APP_URL = 'file:///opt/app/out/renderer/index.html';

type Listener = (...args: unknown[]) => unknown;

/** A recording fake of the parts of electron that main/electron/index.ts, preload/index.ts and main/electron/ipc.ts touch. */
const fake = vi.hoisted(() => {
  /** An emitter that records its listeners, so a test can fire an event the way Electron would. */
  const emitter = () => {
    const listeners = new Map<string, Listener[]>();
    return {
      listeners,
      on(event: string, fn: Listener) {
        listeners.set(event, [...(listeners.get(event) ?? []), fn]);
        return this;
      },
      once(event: string, fn: Listener) {
        return this.on(event, fn);
      },
      emit: (event: string, ...args: unknown[]) => (listeners.get(event) ?? []).map((fn) => fn(...args)),
    };
  };
  const log: string[] = [];
  let ready: () => void = () => {};
  const readyPromise = new Promise<void>((r) => (ready = r));
  const app = Object.assign(emitter(), {
    isPackaged: true,
    isReady: false,
    enableSandbox: () => log.push('app.enableSandbox'),
    whenReady: () => readyPromise,
    getPath: (name: string) => `/tmp/ablate-fake-electron/${name}`,
    relaunch: () => {},
    quit: () => {},
    exit: (code: number) => log.push(`app.exit ${code}`),
  });
  const session = Object.assign(emitter(), {
    webRequest: { onHeadersReceived: (fn: Listener) => log.push(`onHeadersReceived ${typeof fn}`) },
    handlers: {} as Record<string, Listener | null>,
    setPermissionRequestHandler(fn: Listener | null) { this.handlers.request = fn; },
    setPermissionCheckHandler(fn: Listener | null) { this.handlers.check = fn; },
    setDevicePermissionHandler(fn: Listener | null) { this.handlers.device = fn; },
    setDisplayMediaRequestHandler(fn: Listener | null) { this.handlers.displayMedia = fn; },
  });
  const protocol = {
    privileged: [] as { scheme: string; privileges: Record<string, boolean>; beforeReady: boolean }[],
    handled: new Map<string, Listener>(),
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]) {
      for (const s of schemes) this.privileged.push({ ...s, beforeReady: !app.isReady });
    },
    handle(scheme: string, fn: Listener) { this.handled.set(scheme, fn); },
  };
  const windows: { options: unknown; loaded: string[]; webContents: ReturnType<typeof emitter> & { mainFrame: { url: string }; send: Listener; setWindowOpenHandler: Listener } }[] = [];
  class BrowserWindow {
    readonly loaded: string[] = [];
    readonly webContents = Object.assign(emitter(), { mainFrame: { url: '' }, send: () => {}, setWindowOpenHandler: () => {} });
    private readonly events = emitter();
    constructor(readonly options: unknown) {
      windows.push(this);
    }
    setTitle() {}
    show() {}
    isDestroyed() { return false; }
    once(event: string, fn: Listener) { this.events.on(event, fn); return this; }
    async loadURL(url: string) {
      this.loaded.push(url);
      this.webContents.mainFrame.url = url;
    }
    async loadFile(path: string) {
      this.loaded.push(`loadFile:${path}`);
    }
  }
  return {
    exposed: new Map<string, unknown>(),
    invoked: [] as unknown[][],
    handlers: new Map<string, (event: unknown, ...args: unknown[]) => Promise<unknown>>(),
    saveDialogPath: null as string | null,
    emitter,
    log,
    app,
    session,
    protocol,
    windows,
    BrowserWindow,
    ready: () => {
      app.isReady = true;
      ready();
    },
  };
});
vi.mock('../service/workbench', () => ({
  Workbench: { open: async () => ({ onEvents: () => () => {}, close: async () => {}, queueStatus: async () => ({ paused: false, slots: 1, running: [] }) }) },
}));
vi.mock('electron', () => ({
  app: fake.app,
  BrowserWindow: fake.BrowserWindow,
  session: { defaultSession: fake.session },
  protocol: fake.protocol,
  Menu: { setApplicationMenu: () => {}, buildFromTemplate: (t: unknown) => t },
  shell: { openPath: async () => '' },
  utilityProcess: { fork: () => { throw new Error('no run processes in this test'); } },
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
  dialog: {
    showSaveDialog: async () => ({ canceled: fake.saveDialogPath === null, filePath: fake.saveDialogPath ?? undefined }),
    showErrorBox: (title: string, text: string) => fake.log.push(`showErrorBox ${title}: ${text}`),
  },
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
    const app = { url: 'app://workbench/index.html#/runs' };
    expect(isTrustedSender(app, app, 'app://workbench/index.html')).toBe(true);
    // Every non-web scheme has the origin "null": the scheme and host are what count.
    for (const url of ['javascript:alert(1)', 'data:text/html,x', 'app://other/index.html', 'evil://workbench/index.html']) expect(isTrustedSender({ url }, { url }, 'app://workbench/index.html'), url).toBe(false);
  });
});

describe('the app entry (main/electron/index.ts) run against the fake electron', () => {
  const preventable = () => ({ preventDefault: vi.fn() });

  beforeAll(async () => {
    // A packaged app must ignore this variable (it would point the window, IPC bridge and all, at a web server).
    process.env.ELECTRON_RENDERER_URL = 'http://evil.example:5173/';
    await import('./index');
    fake.ready();
    for (let i = 0; i < 50 && !fake.windows[0]?.loaded.length; i++) await new Promise((r) => setTimeout(r, 10));
    delete process.env.ELECTRON_RENDERER_URL;
  });

  it('starts without an error box and loads app://workbench/index.html, not file:// or ELECTRON_RENDERER_URL', () => {
    expect(fake.log.filter((l) => l.startsWith('showErrorBox') || l.startsWith('app.exit'))).toEqual([]);
    expect(fake.log).toContain('app.enableSandbox');
    expect(fake.windows).toHaveLength(1);
    expect(fake.windows[0].loaded).toEqual(['app://workbench/index.html']);
    expect(fake.windows[0].options).toEqual(mainWindowOptions(expect.stringMatching(/preload[/\\]index\.cjs$/) as unknown as string));
  });

  it('registers app:// as a standard, secure scheme before ready, and serves it after', () => {
    expect(fake.protocol.privileged).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }), beforeReady: true }]);
    expect([...fake.protocol.handled.keys()]).toEqual(['app']);
  });

  it('guards every webContents the app creates: navigation, redirects, new windows, webviews, device pickers', () => {
    expect(fake.app.listeners.get('web-contents-created')).toHaveLength(1);
    for (const contents of [fake.emitter(), fake.emitter()]) {
      const opened: Listener[] = [];
      const wc = Object.assign(contents, { setWindowOpenHandler: (fn: Listener) => opened.push(fn) });
      fake.app.emit('web-contents-created', preventable(), wc);
      for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
        const e = preventable();
        wc.emit(event, e, 'https://evil.example/');
        expect(e.preventDefault, event).toHaveBeenCalledOnce();
      }
      expect(opened.map((fn) => fn({ url: 'https://evil.example/' }))).toEqual([{ action: 'deny' }]);
      const e = preventable();
      const chosen = vi.fn();
      wc.emit('select-bluetooth-device', e, [{ deviceId: 'b1' }], chosen);
      expect(e.preventDefault).toHaveBeenCalledOnce();
      expect(chosen).toHaveBeenCalledWith('');
    }
  });

  it('refuses every permission but writing text to the clipboard, and every device', () => {
    const { request, check, device, displayMedia } = fake.session.handlers;
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'hid', 'serial', 'usb', 'clipboard-read', 'fullscreen', 'pointerLock']) {
      const callback = vi.fn();
      request!(null, permission, callback);
      expect(callback, permission).toHaveBeenCalledWith(false);
      expect(check!(null, permission, 'app://workbench'), permission).toBe(false);
    }
    const callback = vi.fn();
    request!(null, 'clipboard-sanitized-write', callback);
    expect(callback).toHaveBeenCalledWith(true);
    expect(check!(null, 'clipboard-sanitized-write')).toBe(true);
    expect(device!({ deviceType: 'usb', origin: 'app://workbench' })).toBe(false);
    const streams = vi.fn();
    displayMedia!({}, streams);
    expect(streams).toHaveBeenCalledWith({});
    for (const [picker, args] of [['select-hid-device', [{}]], ['select-serial-port', [[{ portId: 'p' }], null]], ['select-usb-device', [{}]]] as const) {
      const e = preventable();
      const chosen = vi.fn();
      fake.session.emit(picker, e, ...args, chosen);
      expect(e.preventDefault, picker).toHaveBeenCalledOnce();
      expect(chosen.mock.calls[0]?.[0] || '', picker).toBe('');
    }
  });

  it('answers IPC from the window showing app://workbench/ and from nothing else', async () => {
    const mainFrame = fake.windows[0].webContents.mainFrame;
    expect(mainFrame.url).toBe('app://workbench/index.html');
    await expect(fake.handlers.get('workbench:queueStatus')!({ senderFrame: mainFrame })).resolves.toEqual({ ok: true, result: { paused: false, slots: 1, running: [] } });
    // Another frame showing the same URL (an iframe, another window) is not the app's window.
    await expect(fake.handlers.get('workbench:queueStatus')!({ senderFrame: { url: 'app://workbench/index.html' } })).resolves.toMatchObject({ ok: false });
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
