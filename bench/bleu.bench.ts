/**
 * Corpus BLEU speed against sacreBLEU itself, measured in the same run: Multi30k's test.de (1000
 * lines) scored against itself shifted by one line, for each tokenizer, first call (cold JIT /
 * fresh interpreter state) and median of repeated calls. sacreBLEU runs in Python when a Python
 * with `import sacrebleu` is found (--python=PATH, else $SACREBLEU_PYTHON, else /usr/bin/python3);
 * its time is measured inside Python (interpreter start excluded) with a fresh BLEU object per call
 * so its tokenizer lru_cache never answers from an earlier call. Both scores are printed: they must
 * be the same line.
 *
 *   npm run bench bleu [-- --python=/path/to/python --reps=20]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusBleu, formatBleu } from '../experiments/metrics/bleu';
import { SACREBLEU_TOKENIZERS, type SacrebleuTokenizer } from '../experiments/metrics/tokenizers';

const TEST_DE = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/data/multi30k/test.de');

function flag(args: string[], name: string, fallback: string): string {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Timing {
  firstMs: number;
  medianMs: number;
  line: string;
}

const PYTHON_BENCH = `
import json, sys, time
from sacrebleu.metrics import BLEU
path, reps = sys.argv[1], int(sys.argv[2])
with open(path, encoding='utf-8', newline='\\n') as f:
    lines = f.read().split('\\n')
if lines and lines[-1] == '':
    lines.pop()
hyps = [lines[(i + 1) % len(lines)] for i in range(len(lines))]
out = {}
for tok in sys.argv[3].split(','):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        s = BLEU(tokenize=tok).corpus_score(hyps, [lines])
        times.append((time.perf_counter() - t) * 1000)
    out[tok] = dict(first=times[0], times=times, line=s.format())
print(json.dumps(out))
`;

/** The Python that has sacreBLEU, or the reason there is none. */
function findSacrebleu(args: string[]): { python: string; version: string } | { reason: string } {
  const python = flag(args, 'python', process.env.SACREBLEU_PYTHON ?? '/usr/bin/python3');
  const r = spawnSync(python, ['-c', 'import sacrebleu; print(sacrebleu.__version__)'], { encoding: 'utf8' });
  if (r.error) return { reason: `${python} cannot be run (${r.error.message})` };
  if (r.status !== 0) return { reason: `${python} has no sacrebleu module (install sacrebleu==2.6.0 for it, or pass --python=PATH)` };
  return { python, version: r.stdout.trim() };
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(TEST_DE)) {
    console.log(`skipped: ${TEST_DE} not found`);
    return;
  }
  const reps = Math.max(2, Number(flag(args, 'reps', '20')));
  const lines = readFileSync(TEST_DE, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const hyps = lines.map((_, i) => lines[(i + 1) % lines.length]);

  const js = new Map<SacrebleuTokenizer, Timing>();
  for (const tok of SACREBLEU_TOKENIZERS) {
    const times: number[] = [];
    let line = '';
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      const s = corpusBleu(hyps, [lines], { tokenize: tok });
      times.push(performance.now() - t);
      line = formatBleu(s);
    }
    js.set(tok, { firstMs: times[0], medianMs: median(times), line });
  }

  const found = findSacrebleu(args);
  let py: Map<string, Timing> | null = null;
  if ('python' in found) {
    const r = spawnSync(found.python, ['-c', PYTHON_BENCH, TEST_DE, String(reps), SACREBLEU_TOKENIZERS.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`sacreBLEU bench failed: ${r.stderr.trim().split('\n').pop()}`);
    const out = JSON.parse(r.stdout) as Record<string, { first: number; times: number[]; line: string }>;
    py = new Map(Object.entries(out).map(([k, v]) => [k, { firstMs: v.first, medianMs: median(v.times), line: v.line }]));
  }

  console.log(`corpus BLEU, ${lines.length} lines of multi30k/test.de vs the same shifted by one line, ${reps} calls each`);
  console.log(py ? `reference: sacreBLEU ${(found as { version: string }).version} (${(found as { python: string }).python})` : `no sacreBLEU reference: ${(found as { reason: string }).reason}; JS times only`);
  console.log('tokenizer | JS first ms | JS median ms' + (py ? ' | sacreBLEU first ms | sacreBLEU median ms | speed-up (median) | same line' : ''));
  for (const tok of SACREBLEU_TOKENIZERS) {
    const j = js.get(tok)!;
    let row = `${tok.padEnd(9)} | ${j.firstMs.toFixed(1).padStart(11)} | ${j.medianMs.toFixed(1).padStart(12)}`;
    if (py) {
      const p = py.get(tok)!;
      row += ` | ${p.firstMs.toFixed(1).padStart(18)} | ${p.medianMs.toFixed(1).padStart(19)} | ${(p.medianMs / j.medianMs).toFixed(2).padStart(16)}× | ${j.line === p.line ? 'yes' : 'NO'}`;
    }
    console.log(row);
  }
  for (const tok of SACREBLEU_TOKENIZERS) {
    console.log(`  ${tok}: ${js.get(tok)!.line}${py && py.get(tok)!.line !== js.get(tok)!.line ? `\n  ${tok} sacreBLEU: ${py.get(tok)!.line}` : ''}`);
  }
}
