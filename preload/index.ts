/**
 * Preload (sandboxed, isolated): exposes exactly the Workbench API's methods as `window.workbench`,
 * one invoke per method — never ipcRenderer itself, so the page cannot reach other channels. Replies
 * come back unopened (contract/wire.ts PreloadBridge); main validates every argument again and checks
 * the sender frame.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { WorkbenchEvent } from '../contract/api';
import { REMOTE_METHOD_NAMES } from '../contract/api';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, IPC_SAVE_CHANNEL, type IpcReply, type PreloadBridge } from '../contract/wire';

const bridge: Record<string, unknown> = {};
for (const method of REMOTE_METHOD_NAMES) {
  bridge[method] = (...args: unknown[]): Promise<IpcReply> => ipcRenderer.invoke(IPC_PREFIX + method, ...args);
}
bridge.onEvent = (listener: (event: WorkbenchEvent) => void): (() => void) => {
  // Main sends batches (one IPC message per service batch); the page sees single events.
  const handler = (_e: IpcRendererEvent, events: readonly WorkbenchEvent[]) => {
    for (const event of events) listener(event);
  };
  ipcRenderer.on(IPC_EVENT_CHANNEL, handler);
  return () => void ipcRenderer.removeListener(IPC_EVENT_CHANNEL, handler);
};
bridge.saveFile = async (suggestedName: string, content: string): Promise<string | null> => {
  const reply = (await ipcRenderer.invoke(IPC_SAVE_CHANNEL, suggestedName, content)) as IpcReply;
  if (!reply.ok) throw new Error(reply.error.message);
  return reply.result as string | null;
};

contextBridge.exposeInMainWorld('workbench', bridge as PreloadBridge);
