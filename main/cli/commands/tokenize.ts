/**
 * `ablate tokenize --tokenize 13a|intl|char|none [--lowercase]`: stdin lines → tokenized lines,
 * exactly what sacreBLEU's BLEU sees of each segment (the line right-stripped, lowercased when
 * asked, then sacreBLEU's tokenizer; the char tokenizer keeps sacreBLEU's spaces around spaces).
 */
import type { Command } from 'commander';
import { stdinLines } from '../../../experiments/metrics/text-lines';
import { isSacrebleuTokenizer, preprocessSegment, SACREBLEU_TOKENIZERS } from '../../../experiments/metrics/tokenizers';
import { UserError } from '../../../contract/errors';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function register(program: Command): void {
  program
    .command('tokenize')
    .description("tokenize stdin lines exactly as sacreBLEU does for BLEU (one output line per input line)")
    .option('--tokenize <name>', `tokenizer: ${SACREBLEU_TOKENIZERS.join(', ')}`, '13a')
    .option('--lowercase', 'lowercase first, as BLEU --lowercase does')
    .action(async (opts: { tokenize: string; lowercase?: boolean }) => {
      const kind = opts.tokenize;
      if (!isSacrebleuTokenizer(kind)) throw new UserError(`--tokenize: expected one of ${SACREBLEU_TOKENIZERS.join(', ')}, got "${kind}"`);
      const lines = stdinLines(await readStdin());
      if (lines.length === 0) return;
      process.stdout.write(lines.map((l) => preprocessSegment(l, kind, opts.lowercase ?? false)).join('\n') + '\n');
    });
}
