/**
 * App-wide hardening of the desktop app, as functions over the parts of Electron they touch (so
 * the tests run them against recording fakes, without an Electron binary):
 *
 * - every webContents the app ever creates (the window, a devtools page, anything a bug might open)
 *   gets the same guard: no navigation, no redirects, no new windows, no <webview>, no device
 *   pickers (`installWebContentsGuard`, on `web-contents-created`);
 * - the session refuses every permission request and check but writing text to the clipboard, and
 *   every HID/serial/USB device (`hardenSession`);
 * - the renderer is served from `app://workbench/` (`registerAppScheme` + `serveAppProtocol`)
 *   instead of `file://`, so the page's origin is its own and not every file on the disk, and
 *   nothing outside the built renderer can be loaded;
 * - `rendererUrl` ignores ELECTRON_RENDERER_URL in a packaged app (a variable in the user's
 *   environment must not point the app, with its IPC bridge, at a web server).
 *
 * Fuses (runAsNode off, cookie encryption on, load the app only from its asar) are set on the
 * packaged binary: see fuses.ts.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { contentSecurityPolicy } from '../../contract/content-policy';
import { MIME } from '../server/mime';

/** The renderer's scheme and host: the app's page is app://workbench/index.html. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'workbench';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** The only permission the renderer ever gets: writing text to the clipboard (the Results view's Copy buttons). */
export const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

interface PreventableEvent {
  preventDefault(): void;
}

/** The parts of a webContents the guard uses. */
export interface GuardedContents {
  on(event: string, listener: (...args: never[]) => unknown): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** The parts of `app` the guard uses. */
export interface AppLike {
  on(event: 'web-contents-created', listener: (event: unknown, contents: GuardedContents) => void): unknown;
}

/** The parts of a session the hardening uses. */
export interface SessionLike {
  setPermissionRequestHandler(handler: ((wc: unknown, permission: string, callback: (granted: boolean) => void, details?: unknown) => void) | null): void;
  setPermissionCheckHandler(handler: ((wc: unknown, permission: string, origin?: string, details?: unknown) => boolean) | null): void;
  setDevicePermissionHandler(handler: ((details: unknown) => boolean) | null): void;
  setDisplayMediaRequestHandler?(handler: ((request: unknown, callback: (streams: Record<string, never>) => void) => void) | null): void;
  on(event: 'select-hid-device', listener: (event: PreventableEvent, details: unknown, callback: (deviceId?: string | null) => void) => void): unknown;
  on(event: 'select-serial-port', listener: (event: PreventableEvent, portList: unknown, webContents: unknown, callback: (portId: string) => void) => void): unknown;
  on(event: 'select-usb-device', listener: (event: PreventableEvent, details: unknown, callback: (deviceId?: string) => void) => void): unknown;
}

/** The parts of `protocol` the app scheme uses. */
export interface ProtocolLike {
  registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]): void;
  handle(scheme: string, handler: (request: { url: string; method?: string }) => Promise<Response> | Response): void;
}

const refuse = (event: PreventableEvent) => event.preventDefault();

/**
 * The guard for one webContents: the app is a single page, so any navigation (a dropped file, a
 * link, a script setting location) and any redirect is refused, new windows are denied, a
 * <webview> is never attached, and the Bluetooth device picker is cancelled.
 */
export function guardWebContents(contents: GuardedContents): void {
  contents.on('will-navigate', refuse);
  contents.on('will-frame-navigate', refuse);
  contents.on('will-redirect', refuse);
  contents.on('will-attach-webview', refuse);
  contents.on('select-bluetooth-device', (event: PreventableEvent, _devices: unknown, callback: (id: string) => void) => {
    event.preventDefault();
    callback('');
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Guards every webContents the app creates, from the first one on. Call before any window exists. */
export function installWebContentsGuard(app: AppLike): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents));
}

/** Permissions: refused unless in ALLOWED_PERMISSIONS; devices (HID, serial, USB, displays): always refused. */
export function hardenSession(session: SessionLike): void {
  session.setPermissionRequestHandler((_wc, permission, callback) => callback(ALLOWED_PERMISSIONS.has(permission)));
  session.setPermissionCheckHandler((_wc, permission) => ALLOWED_PERMISSIONS.has(permission));
  session.setDevicePermissionHandler(() => false);
  session.setDisplayMediaRequestHandler?.((_request, callback) => callback({}));
  // Device pickers: cancelled (an empty choice), so no page ever gets a device.
  session.on('select-hid-device', (event, _details, callback) => {
    event.preventDefault();
    callback(null);
  });
  session.on('select-serial-port', (event, _ports, _wc, callback) => {
    event.preventDefault();
    callback('');
  });
  session.on('select-usb-device', (event, _details, callback) => {
    event.preventDefault();
    callback();
  });
}

/** app:// as a standard, secure scheme (relative URLs, 'self' in the CSP, fetch). Before `app.whenReady()`. */
export function registerAppScheme(protocol: ProtocolLike): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } }]);
}


/**
 * Answers app://workbench/<path> with the file of the built renderer at <path> (symlinks resolved,
 * never outside `rendererDir`), with the CSP header; anything else is a 404.
 */
export function appProtocolHandler(rendererDir: string): (request: { url: string; method?: string }) => Promise<Response> {
  const root = resolve(rendererDir);
  const notFound = () => new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return notFound();
    }
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return notFound();
    if (request.method && request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405 });
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return notFound();
    }
    if (path === '/' || path === '') path = '/index.html';
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep)) return notFound();
    try {
      const real = await realpath(file);
      const realRoot = await realpath(root);
      if (!real.startsWith(realRoot + sep) || !(await stat(real)).isFile()) return notFound();
      const body = await readFile(real);
      return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
        status: 200,
        headers: { 'Content-Type': MIME[extname(real)] ?? 'application/octet-stream', 'Content-Security-Policy': contentSecurityPolicy(), 'X-Content-Type-Options': 'nosniff' },
      });
    } catch {
      return notFound();
    }
  };
}

/** Serves the built renderer on app:// (after `app.whenReady()`). */
export function serveAppProtocol(protocol: ProtocolLike, rendererDir: string): void {
  protocol.handle(APP_SCHEME, appProtocolHandler(rendererDir));
}

/**
 * The URL the window loads: app://workbench/index.html, or in an unpackaged `electron-vite dev`
 * run the dev server that ELECTRON_RENDERER_URL names (on a loopback host only). A packaged app
 * ignores the variable.
 */
export function rendererUrl(env: NodeJS.ProcessEnv, isPackaged: boolean): string {
  const dev = env.ELECTRON_RENDERER_URL;
  if (isPackaged || !dev) return APP_URL;
  try {
    const u = new URL(dev);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname)) return dev;
  } catch {
    // fall through: a malformed variable is ignored
  }
  return APP_URL;
}
