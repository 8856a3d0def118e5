import { describe, expect, it } from 'vitest';
import { createElectronClient, createSocketClient, socketUrl, type SocketLike } from './transport';
import { decodeMessage, encodeMessage, type IpcReply, type PreloadBridge } from '../../../contract/wire';
import { UserError } from '../../../contract/errors';
import { REMOTE_METHOD_NAMES, type RemoteMethod, type WorkbenchEvent } from '../../../contract/api';

/** A scripted socket: records what the client sends; the test plays the server. */
function fakeSocket() {
  const sockets: (SocketLike & { sent: string[] })[] = [];
  const open = () => {
    const s = { readyState: 0, sent: [] as string[], send(d: string) { this.sent.push(d); }, close() {}, onopen: null, onclose: null, onmessage: null, onerror: null } as SocketLike & { sent: string[] };
    sockets.push(s);
    return s;
  };
  return { sockets, open };
}

describe('the WebSocket transport', () => {
  it('builds the API URL from the page, carrying the token', () => {
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:8737', search: '' })).toBe('ws://127.0.0.1:8737/api');
    expect(socketUrl({ protocol: 'https:', host: 'gpu:443', search: '?token=a b' })).toBe('wss://gpu:443/api?token=a%20b');
  });

  it('holds calls until the socket opens, then resolves each by id', async () => {
    const f = fakeSocket();
    const api = createSocketClient('ws://x/api', f.open);
    const p = api.getRun(4);
    const s = f.sockets[0];
    expect(s.sent).toEqual([]);
    s.onopen!({});
    const msg = decodeMessage(s.sent[0]) as { id: number; method: string; params: unknown[] };
    expect(msg).toMatchObject({ method: 'getRun', params: [4] });
    s.onmessage!({ data: encodeMessage({ id: msg.id, result: { id: 4, loss: NaN } }) });
    expect(await p).toEqual({ id: 4, loss: NaN });
  });

  it('rejects with the server’s message and the spec issues', async () => {
    const f = fakeSocket();
    const api = createSocketClient('ws://x/api', f.open);
    f.sockets[0].onopen!({});
    const p = api.enqueueSpec('x');
    const { id } = decodeMessage(f.sockets[0].sent[0]) as { id: number };
    f.sockets[0].onmessage!({ data: JSON.stringify({ id, error: { message: 'bad spec', issues: ['name: must be a string'], user: true } }) });
    const err = (await p.catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe('bad spec');
    expect(err.issues).toEqual(['name: must be a string']);
  });

  it('delivers pushed event batches one event at a time, and fails in-flight calls when the connection drops', async () => {
    const f = fakeSocket();
    const api = createSocketClient('ws://x/api', f.open);
    const got: WorkbenchEvent[] = [];
    api.onEvent((e) => got.push(e));
    f.sockets[0].onopen!({});
    const events: WorkbenchEvent[] = [{ type: 'queue', status: { paused: false, slots: 1, running: [1] } }, { type: 'metrics', points: [{ runId: 1, split: 'train', name: 'loss', step: 3, value: Infinity, time: 0 }] }];
    f.sockets[0].onmessage!({ data: encodeMessage({ events }) });
    expect(got).toEqual(events);
    const p = api.listRuns();
    f.sockets[0].onclose!({});
    await expect(p).rejects.toThrow('connection to the workbench lost');
  });
});

describe('the Electron transport', () => {
  /** A preload bridge whose every remote method answers `reply`, recording the calls. */
  function fakeBridge(reply: (method: RemoteMethod, args: unknown[]) => IpcReply) {
    const calls: [RemoteMethod, unknown[]][] = [];
    const methods = Object.fromEntries(REMOTE_METHOD_NAMES.map((m) => [m, async (...args: unknown[]) => (calls.push([m, args]), reply(m, args))])) as Record<RemoteMethod, (...args: unknown[]) => Promise<IpcReply>>;
    const bridge: PreloadBridge = { ...methods, onEvent: () => () => {}, saveFile: async (name: string) => `/home/u/${name}` };
    return { bridge, calls };
  }

  it('opens a successful IpcReply to its result, with the arguments passed through', async () => {
    const f = fakeBridge((m, args) => ({ ok: true, result: { method: m, args } }));
    const api = createElectronClient(f.bridge);
    expect(api.kind).toBe('electron');
    expect(await api.getRun(4)).toEqual({ method: 'getRun', args: [4] });
    expect(f.calls).toEqual([['getRun', [4]]]);
    expect(await api.saveFile('curves.png', 'data:')).toBe('/home/u/curves.png');
  });

  it('turns a failed IpcReply into a UserError with its issues, as the WebSocket client does', async () => {
    const f = fakeBridge(() => ({ ok: false, error: { message: 'bad spec', issues: ['train.steps: must be a positive integer'], user: true } }));
    const err = (await createElectronClient(f.bridge).enqueueSpec('x').catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe('bad spec');
    expect(err.issues).toEqual(['train.steps: must be a positive integer']);
  });
});
