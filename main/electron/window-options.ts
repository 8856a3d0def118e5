/**
 * The Electron window's security settings as plain data and functions, kept apart from
 * main/electron/index.ts so tests can check them without an Electron binary (it only imports
 * electron's types). main/electron/index.ts applies exactly these; the app-wide guards (navigation,
 * new windows, webviews, permissions, devices) are hardening.ts.
 */
import type { BrowserWindowConstructorOptions, WebFrameMain } from 'electron';

/** The main window: isolated, sandboxed renderer with no Node, only the preload's typed API. */
export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Ablation Workbench',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: false,
    },
  };
}

/**
 * Whether `url` is the app's own page: app://workbench/… (the built renderer, hardening.ts), or
 * the dev server's origin in `electron-vite dev`. Scheme and host are compared, never the bare
 * origin (it is "null" for every non-web scheme, app: and javascript: alike).
 */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const u = new URL(url);
    const a = new URL(appUrl);
    if (a.protocol === 'file:') return u.protocol === 'file:' && u.pathname === a.pathname;
    if (a.protocol !== 'http:' && a.protocol !== 'https:') return u.protocol === a.protocol && u.host === a.host && u.host !== '';
    return u.origin === a.origin;
  } catch {
    return false;
  }
}

/**
 * IPC sender check: only the main frame of the app's own window, showing the app's own page, may
 * call the API (never a sub-frame, never another window, never a page navigated elsewhere).
 */
export function isTrustedSender(
  senderFrame: Pick<WebFrameMain, 'url'> | null | undefined,
  appMainFrame: Pick<WebFrameMain, 'url'> | null | undefined,
  appUrl: string,
): boolean {
  if (!senderFrame || !appMainFrame) return false;
  return senderFrame === appMainFrame && isAppUrl(senderFrame.url, appUrl);
}


