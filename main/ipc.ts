/**
 * The Workbench API over Electron IPC: one `ipcMain.handle` per remote method. Each call is
 * checked twice before the Workbench sees it — the sender must be the app window's own main frame
 * showing the app's own page, and the arguments must match main/api-schemas.ts — and events are
 * pushed to the window in batches.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { dialog, ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { API_SCHEMAS, ApiArgumentError, REMOTE_METHODS, SAVE_FILE_SCHEMA, parseApiArgs } from './api-schemas';
import { fileBytes } from './save-file';
import { errorPayload, type ServedWorkbench } from './server';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, IPC_SAVE_CHANNEL, isTrustedSender } from './window-options';
import type { WorkbenchEvent } from '../preload/api';

export interface IpcOptions {
  /** The app window: only its main frame may call. */
  readonly window: BrowserWindow;
  /** URL the window loads (file://…/index.html, or the dev server). */
  readonly appUrl: string;
  /** Folder the save dialog opens in. */
  readonly saveDir: string;
  /** Pushed events are gathered this long before one IPC message (ms, 100–250). */
  readonly eventBatchMs?: number;
}

/**
 * Errors cross IPC as a message string only; a spec's issue list is packed into it so the renderer
 * can show each schema message on its own line (renderer/src/api/transport.ts unpacks it).
 */
function toIpcError(err: unknown): Error {
  const payload = errorPayload(err);
  return new Error(payload.issues ? `[issues]${JSON.stringify(payload)}` : payload.message);
}

export function registerIpc(workbench: ServedWorkbench, opts: IpcOptions): () => void {
  const { window: win, appUrl } = opts;
  const check = (event: IpcMainInvokeEvent) => {
    if (!isTrustedSender(event.senderFrame, win.webContents.mainFrame, appUrl)) throw new Error('refused: IPC from a frame that is not the workbench window');
  };

  for (const method of REMOTE_METHODS) {
    ipcMain.handle(IPC_PREFIX + method, async (event, ...args: unknown[]) => {
      check(event);
      try {
        const parsed = parseApiArgs(method, args);
        const fn = workbench[method] as (...a: unknown[]) => Promise<unknown>;
        return await fn.apply(workbench, parsed);
      } catch (err) {
        throw toIpcError(err);
      }
    });
  }

  ipcMain.handle(IPC_SAVE_CHANNEL, async (event, ...args: unknown[]) => {
    check(event);
    const parsed = SAVE_FILE_SCHEMA.safeParse(args);
    if (!parsed.success) throw toIpcError(new ApiArgumentError(`saveFile: ${parsed.error.issues[0].message}`));
    const [name, content] = parsed.data;
    const ext = extname(name).slice(1);
    const result = await dialog.showSaveDialog(win, {
      defaultPath: `${opts.saveDir}/${name.replace(/[/\\]/g, '_')}`,
      filters: ext ? [{ name: ext.toUpperCase(), extensions: [ext] }] : [],
    });
    if (result.canceled || !result.filePath) return null;
    await writeFile(result.filePath, fileBytes(content));
    return result.filePath;
  });

  // Events: one IPC message per batch window, and only while the window exists.
  let pending: WorkbenchEvent[] = [];
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    timer = null;
    if (pending.length && !win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, pending);
    pending = [];
  };
  const off = workbench.on((e) => {
    pending.push(e);
    timer ??= setTimeout(flush, Math.min(250, Math.max(100, opts.eventBatchMs ?? 150)));
  });

  return () => {
    off();
    if (timer) clearTimeout(timer);
    for (const method of Object.keys(API_SCHEMAS)) ipcMain.removeHandler(IPC_PREFIX + method);
    ipcMain.removeHandler(IPC_SAVE_CHANNEL);
  };
}
