/**
 * Perplexity of a model on a split: exp of the mean negative log-likelihood per target token
 * (EOS included, padding excluded, no label smoothing — the caller sums the NLL that way).
 */

/**
 * PPL = exp(sumNll / tokens), with `sumNll` the summed natural-log NLL over `tokens` target tokens.
 *
 * @example perplexity(2 * Math.log(4), 2) // 4: each of two tokens had probability 1/4
 */
export function perplexity(sumNll: number, tokens: number): number {
  // Zero tokens means an empty split upstream: a number here would be made up.
  if (!(tokens > 0) || !Number.isFinite(tokens)) throw new RangeError(`perplexity: token count must be a positive number, got ${tokens}`);
  return Math.exp(sumNll / tokens);
}
