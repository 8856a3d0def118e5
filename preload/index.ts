/**
 * Preload (sandboxed, isolated): exposes exactly the typed Workbench API as `window.workbench`,
 * one invoke per method — never ipcRenderer itself, so the page cannot reach other channels.
 * Main validates every argument again (main/api-schemas.ts) and checks the sender frame.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { RemoteMethod, WorkbenchApi, WorkbenchEvent } from './api';
import { IPC_EVENT_CHANNEL, IPC_PREFIX, IPC_SAVE_CHANNEL } from '../main/window-options';

/** Every remote method, once; `satisfies` makes a method added to the API a compile error here until listed. */
const METHODS = {
  listPresets: true,
  previewSpec: true,
  enqueueSpec: true,
  listExperiments: true,
  listRuns: true,
  getRun: true,
  getMetrics: true,
  getMetricKeys: true,
  getSamples: true,
  getLogs: true,
  cancelRun: true,
  retryRun: true,
  moveRun: true,
  pauseQueue: true,
  resumeQueue: true,
  queueStatus: true,
  resultTable: true,
  exportTable: true,
  attention: true,
} as const satisfies Record<RemoteMethod, true>;

const api: Record<string, unknown> = {};
for (const method of Object.keys(METHODS) as RemoteMethod[]) {
  api[method] = (...args: unknown[]) => ipcRenderer.invoke(IPC_PREFIX + method, ...args);
}
api.onEvent = (listener: (event: WorkbenchEvent) => void): (() => void) => {
  // Main sends batches (one IPC message per 100–250 ms); the page sees single events.
  const handler = (_e: IpcRendererEvent, events: readonly WorkbenchEvent[]) => {
    for (const event of events) listener(event);
  };
  ipcRenderer.on(IPC_EVENT_CHANNEL, handler);
  return () => void ipcRenderer.removeListener(IPC_EVENT_CHANNEL, handler);
};
api.saveFile = (suggestedName: string, content: string) => ipcRenderer.invoke(IPC_SAVE_CHANNEL, suggestedName, content);

contextBridge.exposeInMainWorld('workbench', api as unknown as WorkbenchApi);
