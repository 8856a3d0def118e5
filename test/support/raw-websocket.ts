/**
 * A WebSocket client below any library: a TCP socket past the handshake, to send frames no
 * WebSocket library would (reserved bits, unmasked, lengths that lie). Used by the hostile-client
 * tests of `ablate serve` and by `npm run bench faults`.
 */
import { connect as tcpConnect, type Socket } from 'node:net';

export interface CloseFrame {
  readonly code: number;
  readonly reason: string;
}

/** Connects to ws://127.0.0.1:port/api; `closeFrame` resolves with the server's close frame (1006 when the socket ends without one). */
export function rawSocket(port: number): Promise<{ socket: Socket; closeFrame: Promise<CloseFrame> }> {
  return new Promise((ok, fail) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let resolveClose: (v: CloseFrame) => void = () => {};
    const closeFrame = new Promise<CloseFrame>((r) => (resolveClose = r));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return fail(new Error(buf.toString()));
        upgraded = true;
        buf = buf.subarray(end + 4);
        ok({ socket, closeFrame });
      }
      // Server frames are unmasked; a close frame is opcode 8 with a payload below 126 bytes.
      if (buf.length >= 2 && (buf[0] & 0x0f) === 8 && buf.length >= 2 + (buf[1] & 0x7f)) {
        const payload = buf.subarray(2, 2 + (buf[1] & 0x7f));
        resolveClose({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() });
      }
    });
    socket.on('close', () => {
      if (!upgraded) fail(new Error(`the connection to port ${port} closed before the WebSocket upgrade`));
      resolveClose({ code: 1006, reason: '' });
    });
    socket.write(
      ['GET /api HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${Buffer.alloc(16, 7).toString('base64')}`, '', ''].join('\r\n'),
    );
  });
}

/** A client frame: `first` is FIN/RSV/opcode; masked with a zero key (so the payload bytes are sent as they are). */
export function frame(first: number, payload: Buffer, opts: { masked?: boolean; lengthBytes?: Buffer } = {}): Buffer {
  const masked = opts.masked ?? true;
  const len = Buffer.from(opts.lengthBytes ?? (payload.length < 126 ? [payload.length] : [126, payload.length >> 8, payload.length & 0xff]));
  len[0] |= masked ? 0x80 : 0;
  return Buffer.concat([Buffer.from([first]), len, masked ? Buffer.alloc(4) : Buffer.alloc(0), payload]);
}
