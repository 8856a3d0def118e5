/**
 * How sacreBLEU's command line reads text, so `ablate bleu` / `ablate tokenize` see the same
 * segments: hypotheses come from stdin through Python's universal newlines (\n, \r\n and \r all
 * end a line), reference files are opened with newline="\n" (only \n ends a line); every line is
 * right-stripped of Python whitespace. A final line terminator does not start another line.
 */
import { pyRstrip } from './tokenizers';

function finish(lines: string[]): string[] {
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map(pyRstrip);
}

/** Lines of text read from stdin (universal newlines), each right-stripped. Empty text: no lines. */
export function stdinLines(text: string): string[] {
  return text === '' ? [] : finish(text.split(/\r\n|\r|\n/));
}

/** Lines of a reference file ('\n' only; a '\r' before it is stripped with the other trailing whitespace). */
export function referenceFileLines(text: string): string[] {
  return text === '' ? [] : finish(text.split('\n'));
}
