/**
 * The Workbench API over Electron IPC: one `ipcMain.handle` per remote method, answering an
 * IpcReply (contract/wire.ts). Each call is checked twice before the Workbench sees it — the sender
 * must be the app window's own main frame showing the app's own page, and the arguments must match
 * contract/api-schemas.ts — and each batch of service events goes to the window as one message.
 */
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { dialog, ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import type { WorkbenchService } from '../../contract/api';
import { ApiArgumentError, REMOTE_METHODS, SAVE_FILE_SCHEMA, parseApiArgs } from '../../contract/api-schemas';
import { toWireError, UserError } from '../../contract/errors';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, IPC_SAVE_CHANNEL, type IpcReply } from '../../contract/wire';
import { fileBytes } from './save-file';
import { isTrustedSender } from './window-options';

export interface IpcOptions {
  /** The app window: only its main frame may call. */
  readonly window: BrowserWindow;
  /** URL the window loads (file://…/index.html, or the dev server). */
  readonly appUrl: string;
  /** Folder the save dialog opens in. */
  readonly saveDir: string;
}

function failure(err: unknown): IpcReply {
  if (!(err instanceof UserError)) process.stderr.write(`ablate app: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return { ok: false, error: toWireError(err) };
}

export function registerIpc(workbench: WorkbenchService, opts: IpcOptions): () => void {
  const { window: win, appUrl } = opts;
  const trusted = (event: IpcMainInvokeEvent) => isTrustedSender(event.senderFrame, win.webContents.mainFrame, appUrl);
  const refused = (): IpcReply => failure(new UserError('refused: IPC from a frame that is not the workbench window'));

  for (const method of REMOTE_METHODS) {
    ipcMain.handle(IPC_PREFIX + method, async (event, ...args: unknown[]): Promise<IpcReply> => {
      if (!trusted(event)) return refused();
      try {
        const parsed = parseApiArgs(method, args);
        const fn = workbench[method] as (...a: unknown[]) => Promise<unknown>;
        return { ok: true, result: (await fn.apply(workbench, parsed)) ?? null };
      } catch (err) {
        return failure(err);
      }
    });
  }

  ipcMain.handle(IPC_SAVE_CHANNEL, async (event, ...args: unknown[]): Promise<IpcReply> => {
    if (!trusted(event)) return refused();
    const parsed = SAVE_FILE_SCHEMA.safeParse(args);
    if (!parsed.success) return failure(new ApiArgumentError(`saveFile: ${parsed.error.issues[0].message}`));
    try {
      const [name, content] = parsed.data;
      const ext = extname(name).slice(1);
      const result = await dialog.showSaveDialog(win, {
        defaultPath: `${opts.saveDir}/${name.replace(/[/\\]/g, '_')}`,
        filters: ext ? [{ name: ext.toUpperCase(), extensions: [ext] }] : [],
      });
      if (result.canceled || !result.filePath) return { ok: true, result: null };
      await writeFile(result.filePath, fileBytes(content));
      return { ok: true, result: result.filePath };
    } catch (err) {
      return failure(err);
    }
  });

  // The service already batched these events: one IPC message per batch, while the window exists.
  const off = workbench.onEvents((events) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_EVENT_CHANNEL, events);
  });

  return () => {
    off();
    for (const method of REMOTE_METHODS) ipcMain.removeHandler(IPC_PREFIX + method);
    ipcMain.removeHandler(IPC_SAVE_CHANNEL);
  };
}
