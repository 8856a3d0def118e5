/**
 * The Electron window's security settings as plain data and functions, kept apart from
 * main/electron/index.ts so tests can check them without an Electron binary (it only imports
 * electron's types). main/electron/index.ts applies exactly these.
 */
import type { BrowserWindowConstructorOptions, HandlerDetails, WebFrameMain } from 'electron';

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
 * will-navigate handler: the app is a single page, so any navigation away (a dropped file, a link,
 * a script setting location) is refused. In-page hash changes do not fire will-navigate.
 */
export function blockNavigation(event: { preventDefault(): void }, _url: string): void {
  event.preventDefault();
}

/** setWindowOpenHandler: no new windows, ever (external links are not part of this app). */
export function denyWindowOpen(_details: HandlerDetails | { url: string }): { action: 'deny' } {
  return { action: 'deny' };
}

/** The app's own page URL prefix: file:// of the built renderer, or the dev server in `electron-vite dev`. */
export function isAppUrl(url: string, appUrl: string): boolean {
  try {
    const u = new URL(url);
    const a = new URL(appUrl);
    if (a.protocol === 'file:') return u.protocol === 'file:' && u.pathname === a.pathname;
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


