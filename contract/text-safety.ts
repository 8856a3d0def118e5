/**
 * Text that crosses an edge as a name or an error message: what is refused in names (control
 * characters and the bidirectional-override marks that make a terminal show something else than
 * what is there), how such characters are shown when they must be (escaped, never raw), and strict
 * UTF-8 decoding that names the file and the byte offset of the first bad byte. Browser-safe.
 */
import { UserError } from './errors';

/**
 * C0 and C1 controls (TAB and LF included: a name is one line), DEL, the bidi embedding /
 * override / isolate marks, LRM/RLM/ALM, the line and paragraph separators and the BOM.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const UNSAFE_GLOBAL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Whether `text` holds a character a name may not have (see UNSAFE). */
export function hasUnsafeChars(text: string): boolean {
  return UNSAFE.test(text);
}

/**
 * `text` with every control or bidi character (tab and newline excepted) shown as `\u{202e}`, so an error
 * message printed to a terminal shows what is there and cannot reorder or hide the rest of the line.
 */
export function escapeUnsafeChars(text: string): string {
  return text.replace(UNSAFE_GLOBAL, (c) => `\\u{${c.codePointAt(0)!.toString(16).padStart(4, '0')}}`);
}

/** Byte offset of the first byte that is not well-formed UTF-8 (RFC 3629), or -1 when all are. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = i + k < n ? bytes[i + k] : -1;
      if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Decodes UTF-8, or throws a one-line UserError naming `label` (a file, "stdin") and the byte offset. */
export function decodeUtf8Strict(bytes: Uint8Array, label: string): string {
  const bad = invalidUtf8Offset(bytes);
  if (bad >= 0) throw new UserError(`${label}: not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')} at byte offset ${bad}); save it as UTF-8`);
  return new TextDecoder('utf-8').decode(bytes);
}
