/**
 * One round trip per poll to a cluster reached over ssh: a single remote command prints squeue's
 * JSON, then, for every events folder the desktop watches, its listing, and for each events file
 * its size and the bytes past the offset the desktop has saved for it (at most `maxBytes` a file),
 * framed so the desktop can cut the answer apart:
 *
 *   <squeue --json output>
 *   \n<tok> squeue <exit status>\n
 *   <tok> dir <i>\n<name>\n<name>\n…                        (the i-th folder, 1-based, if it exists)
 *   <tok> file <size> <offset> <n> <i> <name>\n<n bytes>\n  (a file of it that grew past its offset)
 *   <tok> size <size> <i> <name>\n                           (a file that did not)
 *   <tok> end\n
 *
 * `<tok>` is a random word of this poll, so no file content or squeue output can pass for a frame.
 * Folders are named by their place in the arguments and files by their name in the folder, so no
 * path comes back to be parsed.
 * The answer becomes an EventsSource (`snapshotSource`) whose listings and reads are served from
 * it, so ingest (ingest.ts) is unchanged: whole lines, rows and offset in one transaction. A read
 * it cannot serve (a file that grew by more than `maxBytes`, a folder not watched) goes to the live
 * source (one command each), so a backlog costs round trips but never a wrong byte.
 *
 * Names travel as positional parameters, never inside the script.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { EventsFileHandle, EventsSource } from './events-source';

/** An events folder the desktop watches, and the offsets it has saved for the files it knows there. */
export interface WatchedDir {
  readonly dir: string;
  /** path → saved byte offset; a file not named here is read from 0. */
  readonly known: ReadonlyMap<string, number>;
}

/*
 * Arguments after the token and the cap: `d DIR K NAME1 OFFSET1 … NAMEK OFFSETK` per folder (the
 * saved offsets of the K files known there, by name). Per folder: its .jsonl names, one `wc -c` for
 * all of them, and per grown file one `tail | head`; the offsets of one folder are a short string
 * searched with parameter expansion (no process per lookup, nothing quadratic in the folders).
 */
const SCRIPT = `tok=$1; max=$2; shift 2
squeue --json
printf '\\n%s squeue %s\\n' "$tok" "$?"
poll_dir() {
  i=$1; dir=$2; known=$3
  [ -d "$dir" ] || return 0
  printf '%s dir %s\\n' "$tok" "$i"
  set -- "$dir"/*.jsonl
  [ -e "$1" ] || return 0
  for f; do printf '%s\\n' "\${f##*/}"; done
  wc -c -- "$@" 2>/dev/null | while read -r size f; do
    case $f in "$dir"/*) ;; *) continue ;; esac
    name=\${f##*/}
    case $known in
      *"\n$name\t"*) rest=\${known#*"\n$name\t"}; off=\${rest%%"\n"*} ;;
      *) off=0 ;;
    esac
    if [ "$size" -gt "$off" ]; then
      n=$((size - off)); [ "$n" -gt "$max" ] && n=$max
      printf '%s file %s %s %s %s %s\\n' "$tok" "$size" "$off" "$n" "$i" "$name"
      tail -c +"$((off + 1))" -- "$f" 2>/dev/null | head -c "$n"
      printf '\\n'
    else
      printf '%s size %s %s %s\\n' "$tok" "$size" "$i" "$name"
    fi
  done
}
i=0
while [ $# -gt 0 ]; do
  [ "$1" = d ] || { echo "poll: unexpected argument $1" >&2; exit 2; }
  dir=$2; k=$3; shift 3; i=$((i + 1)); known="\n"
  while [ "$k" -gt 0 ]; do known="$known$1\t$2\n"; shift 2; k=$((k - 1)); done
  poll_dir "$i" "$dir" "$known"
done
printf '%s end\\n' "$tok"
`;

/** A fresh frame word for one poll. */
export function pollToken(): string {
  return `ablate-poll-${randomBytes(8).toString('hex')}`;
}

/** The argv of one poll: squeue, then every watched folder's listing and new bytes. */
export function pollArgv(token: string, maxBytes: number, dirs: readonly WatchedDir[]): string[] {
  const args: string[] = [];
  for (const d of dirs) {
    if (/[\n\t]/.test(d.dir)) throw new Error(`events folder name with a newline or tab: ${JSON.stringify(d.dir)}`);
    const known = [...d.known].filter(([path]) => posix.dirname(path) === d.dir && !/[\n\t]/.test(path));
    args.push('d', d.dir, String(known.length));
    for (const [path, offset] of known) args.push(posix.basename(path), String(offset));
  }
  return ['sh', '-c', SCRIPT, 'sh', token, String(maxBytes), ...args];
}

/** What one poll's answer holds. */
export interface PollAnswer {
  readonly squeue: { readonly code: number; readonly stdout: string };
  /** folder → names in it (folders that exist). */
  readonly dirs: ReadonlyMap<string, readonly string[]>;
  /** path → its size, and the bytes from `offset` the answer carries (none when it did not grow). */
  readonly files: ReadonlyMap<string, { readonly size: number; readonly offset: number; readonly bytes: Buffer }>;
}

/** Cuts a poll's stdout apart (`dirs`: the folders as polled, in order); throws when the framing is broken (then the caller reads live). */
export function parsePollAnswer(out: Buffer, token: string, dirs: readonly string[]): PollAnswer {
  const folder = (i: string): string => {
    const dir = dirs[Number(i) - 1];
    if (dir === undefined) throw new Error(`poll answer: no folder ${i}`);
    return dir;
  };
  const mark = Buffer.from(`\n${token} squeue `);
  const at = out.indexOf(mark);
  if (at < 0) throw new Error('poll answer: no squeue frame');
  const squeueOut = out.subarray(0, at).toString('utf8');
  let p = at + 1;
  const line = (): string => {
    const nl = out.indexOf(0x0a, p);
    if (nl < 0) throw new Error('poll answer: cut short');
    const text = out.subarray(p, nl).toString('utf8');
    p = nl + 1;
    return text;
  };
  const prefix = `${token} `;
  const head = line();
  const code = Number(head.slice(`${prefix}squeue `.length));
  const listed = new Map<string, string[]>();
  const files = new Map<string, { size: number; offset: number; bytes: Buffer }>();
  for (;;) {
    const h = line();
    if (!h.startsWith(prefix)) throw new Error(`poll answer: expected a frame, got ${JSON.stringify(h.slice(0, 60))}`);
    const rest = h.slice(prefix.length);
    if (rest === 'end') break;
    if (rest.startsWith('dir ')) {
      const names: string[] = [];
      while (p < out.length && !out.subarray(p, p + prefix.length).equals(Buffer.from(prefix))) {
        const name = line();
        if (name) names.push(name);
      }
      listed.set(folder(rest.slice(4)), names);
    } else if (rest.startsWith('file ')) {
      const m = /^file (\d+) (\d+) (\d+) (\d+) (.+)$/.exec(rest);
      if (!m) throw new Error(`poll answer: bad file frame ${JSON.stringify(rest.slice(0, 80))}`);
      const n = Number(m[3]);
      const path = posix.join(folder(m[4]), m[5]);
      const bytes = out.subarray(p, p + n);
      if (bytes.length !== n || out[p + n] !== 0x0a) throw new Error(`poll answer: ${path} sent fewer bytes than its frame says`);
      files.set(path, { size: Number(m[1]), offset: Number(m[2]), bytes: Buffer.from(bytes) });
      p += n + 1;
    } else if (rest.startsWith('size ')) {
      const m = /^size (\d+) (\d+) (.+)$/.exec(rest);
      if (!m) throw new Error(`poll answer: bad size frame ${JSON.stringify(rest.slice(0, 80))}`);
      files.set(posix.join(folder(m[2]), m[3]), { size: Number(m[1]), offset: Number(m[1]), bytes: Buffer.alloc(0) });
    } else throw new Error(`poll answer: unknown frame ${JSON.stringify(rest.slice(0, 60))}`);
  }
  return { squeue: { code, stdout: squeueOut }, dirs: listed, files };
}

/**
 * An EventsSource answering from one poll's answer where it can and from `live` where it cannot:
 * a listing of a watched folder, a read inside the bytes the answer carries, or at/after a file's
 * size (its end at the time of the poll: what is appended later is read by the next poll).
 */
export function snapshotSource(answer: PollAnswer, live: EventsSource, watched: ReadonlySet<string>): EventsSource {
  return {
    where: live.where,
    async list(dir) {
      if (answer.dirs.has(dir)) return [...answer.dirs.get(dir)!];
      // A watched folder the answer does not list does not exist yet (no attempt has started).
      return watched.has(dir) ? [] : live.list(dir);
    },
    async open(path): Promise<EventsFileHandle> {
      const f = answer.files.get(path);
      let liveHandle: EventsFileHandle | null = null;
      return {
        async read(buffer, offset, length, position) {
          if (f) {
            const end = f.offset + f.bytes.length;
            if (position >= f.offset && position < end) {
              const n = Math.min(length, end - position);
              f.bytes.copy(buffer, offset, position - f.offset, position - f.offset + n);
              return { bytesRead: n };
            }
            if (position >= f.size) return { bytesRead: 0 };
          }
          liveHandle ??= await live.open(path);
          return liveHandle.read(buffer, offset, length, position);
        },
        async close() {
          await liveHandle?.close();
        },
      };
    },
  };
}
