/**
 * `ablate bleu [--tokenize 13a|intl|char|none] [--lowercase] [--smooth exp|floor|add-k|none]
 * [--smooth-value V] [--effective-order] [--max-ngram-order N] [--sentence] [--json] REF...`:
 * sacreBLEU 2.x's BLEU of the hypotheses on stdin (one per line) against one or more reference
 * files (each a stream aligned with stdin). Prints sacreBLEU's score line, e.g.
 * `BLEU = 34.28 65.2/40.9/27.6/19.3 (BP = 1.000 ratio = 1.021 hyp_len = 1234 ref_len = 1209)`;
 * `--json` prints {"score","precisions","bp","ratio","sys_len","ref_len"} with the unrounded
 * numbers; `--sentence` scores each line (effective order on, as sacreBLEU's --sentence-level does).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { corpusBleu, formatBleu, sentenceBleu, SMOOTH_METHODS, type BleuOptions, type BleuScore, type SmoothMethod } from '../../../experiments/metrics/bleu';
import { referenceFileLines, stdinLines } from '../../../experiments/metrics/text-lines';
import { isSacrebleuTokenizer, SACREBLEU_TOKENIZERS } from '../../../experiments/metrics/tokenizers';
import { UserError } from '../../../contract/errors';
import { decodeUtf8Strict } from '../../../contract/text-safety';

/** Highest n-gram order accepted: sacreBLEU's default is 4; far above 10 only burns memory and time. */
export const MAX_NGRAM_ORDER_LIMIT = 10;

interface BleuCliOptions {
  tokenize: string;
  lowercase?: boolean;
  smooth: string;
  smoothValue?: string;
  effectiveOrder?: boolean;
  maxNgramOrder: string;
  sentence?: boolean;
  json?: boolean;
}

/** Stdin as UTF-8, or a one-line UserError with the byte offset of the first invalid byte. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return decodeUtf8Strict(Buffer.concat(chunks), 'stdin (hypotheses)');
}

/** A reference file's lines, or a one-line UserError naming the file. */
export function readReferenceFile(file: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`reference file not found: ${file}`);
    if (code === 'EISDIR') throw new UserError(`reference file is a directory: ${file}`);
    throw new UserError(`cannot read reference file ${file}: ${(err as Error).message}`);
  }
  return referenceFileLines(decodeUtf8Strict(bytes, `reference file ${file}`));
}

/** The flags as BleuOptions, each bad value a one-line UserError naming the flag and the value. */
export function parseBleuFlags(opts: BleuCliOptions): BleuOptions {
  if (!isSacrebleuTokenizer(opts.tokenize)) throw new UserError(`--tokenize: expected one of ${SACREBLEU_TOKENIZERS.join(', ')}, got "${opts.tokenize}"`);
  if (!(SMOOTH_METHODS as readonly string[]).includes(opts.smooth)) throw new UserError(`--smooth: expected one of ${SMOOTH_METHODS.join(', ')}, got "${opts.smooth}"`);
  let smoothValue: number | null = null;
  if (opts.smoothValue !== undefined) {
    smoothValue = Number(opts.smoothValue);
    if (opts.smoothValue.trim() === '' || !Number.isFinite(smoothValue) || smoothValue < 0) throw new UserError(`--smooth-value: expected a number ≥ 0, got "${opts.smoothValue}"`);
  }
  const maxNgramOrder = Number(opts.maxNgramOrder);
  if (!/^\s*\d+\s*$/.test(opts.maxNgramOrder) || !Number.isInteger(maxNgramOrder) || maxNgramOrder < 1) {
    throw new UserError(`--max-ngram-order: expected a positive integer, got "${opts.maxNgramOrder}"`);
  }
  if (maxNgramOrder > MAX_NGRAM_ORDER_LIMIT) throw new UserError(`--max-ngram-order: at most ${MAX_NGRAM_ORDER_LIMIT}, got ${maxNgramOrder}`);
  return {
    tokenize: opts.tokenize,
    lowercase: opts.lowercase ?? false,
    smoothMethod: opts.smooth as SmoothMethod,
    smoothValue,
    // sacreBLEU's --sentence-level turns effective order on whatever the flag says.
    effectiveOrder: (opts.effectiveOrder ?? false) || (opts.sentence ?? false),
    maxNgramOrder,
  };
}

function toJson(s: BleuScore): string {
  return JSON.stringify({ score: s.score, precisions: s.precisions, bp: s.bp, ratio: s.ratio, sys_len: s.sysLen, ref_len: s.refLen });
}

export function register(program: Command): void {
  program
    .command('bleu')
    .description("sacreBLEU 2.x BLEU of stdin hypotheses (one per line) against reference files; prints sacreBLEU's score line")
    .argument('<refs...>', 'reference files, one segment per line, aligned with stdin (several files = several references)')
    .option('--tokenize <name>', `tokenizer: ${SACREBLEU_TOKENIZERS.join(', ')}`, '13a')
    .option('--lowercase', 'lowercase hypotheses and references (case-insensitive BLEU)')
    .option('--smooth <method>', `smoothing: ${SMOOTH_METHODS.join(', ')}`, 'exp')
    .option('--smooth-value <v>', 'value for floor (default 0.1) and add-k (default 1)')
    .option('--effective-order', 'average only over the n-gram orders the hypotheses have')
    .option('--max-ngram-order <n>', 'highest n-gram order', '4')
    .option('--sentence', 'score each line on its own (one output line per hypothesis; effective order on)')
    .option('--json', 'print {"score","precisions","bp","ratio","sys_len","ref_len"} (unrounded) instead of the line')
    .action(async (refFiles: string[], opts: BleuCliOptions) => {
      const bleuOptions = parseBleuFlags(opts);
      const refs = refFiles.map(readReferenceFile);
      const hyps = stdinLines(await readStdin());
      if (hyps.length === 0) throw new UserError('no hypotheses on stdin (expected one per line)');
      refs.forEach((stream, k) => {
        if (stream.length !== hyps.length) throw new UserError(`reference file ${refFiles[k]} has ${stream.length} lines but stdin has ${hyps.length}`);
      });
      const print = (s: BleuScore): string => (opts.json ? toJson(s) : formatBleu(s));
      if (opts.sentence) {
        const out = hyps.map((h, i) => print(sentenceBleu(h, refs.map((stream) => stream[i]), bleuOptions)));
        process.stdout.write(out.join('\n') + '\n');
      } else {
        process.stdout.write(print(corpusBleu(hyps, refs, bleuOptions)) + '\n');
      }
    });
}
