/**
 * What the fused engine can train, checked before a run exists: the spec edge refuses a `fused` run
 * with one line per problem when it is queued, and `auto` passes over the engine for such a config,
 * so neither fails mid-run. Limits: the fused attention kernel holds one query row's scores and a
 * head's vector in workgroup memory (MAX_ATTENTION_LEN keys, MAX_HEAD_DIM per head); every other
 * activation buffer of a bucket must fit one storage binding (the widest: rows × max(d_ff, h·d_k +
 * h·d_v)). Logits larger than a binding are split into row chunks by the engine (model/engine.ts
 * `logitChunks`), so batch_tokens × vocab has no limit here; the device's memory is checked when the
 * engine allocates.
 *
 * Dev and test are evaluated on every sentence (no max_len filter), so their longest sentence must
 * fit the attention kernel too: word and char counts are exact, BPE is bounded by UTF-8 bytes (as
 * experiments/data/positions.ts does for learned positions).
 */
import type { RunConfig } from '../../../contract/spec';
import { parseSplit, readSplitSource } from '../../data/readers';
import { tokenBound } from '../../data/positions';
import { MAX_ATTENTION_LEN, MAX_HEAD_DIM } from '../kernels/attention';
import { BUCKET_LENGTHS, bucketLength, bucketRows } from './buckets';

/**
 * Largest storage binding assumed at queue time (the device is not known there): 2 GiB − 4, what
 * desktop Vulkan, Metal and D3D12 drivers give Dawn at least (WebGPU's guaranteed minimum is 128 MiB;
 * the engine asks the adapter for its maximum and refuses a larger buffer in one line).
 */
export const MAX_BINDING_BYTES = 2 ** 31 - 4;

/** One-line problems of training `config` on the fused engine; empty when it is supported. */
export function fusedProblems(config: RunConfig, opts: { readCorpus?: boolean } = {}): string[] {
  const m = config.model;
  const d = config.data;
  const where = `${config.variant}: backend fused`;
  const problems: string[] = [];
  // Decoder input is BOS + target: a max_len pair needs max_len + 1 positions on the target side.
  const longest = d.max_len + 1;
  if (longest > MAX_ATTENTION_LEN) problems.push(`${where} attends over at most ${MAX_ATTENTION_LEN} positions; data.max_len ${d.max_len} needs ${longest} (BOS + target)`);
  if (m.d_k > MAX_HEAD_DIM || m.d_v > MAX_HEAD_DIM) problems.push(`${where} supports d_k and d_v up to ${MAX_HEAD_DIM}; got d_k ${m.d_k}, d_v ${m.d_v}`);
  // The widest activation (the FFN's hidden layer or an attention sub-layer's keys and values) of the
  // bucket with the most padded tokens: rows × length ≤ 1.5 × batch_tokens (bucketRows), largest for
  // a length just past a ladder step, which need not be the longest bucket (48 pads more than 64).
  const top = bucketLength(Math.min(longest, MAX_ATTENTION_LEN));
  const tokens = Math.max(...BUCKET_LENGTHS.filter((l) => l <= top).map((l) => bucketRows(config.train.batch_tokens, l) * l));
  const width = Math.max(m.d_ff, m.heads * (m.d_k + m.d_v), m.d_model);
  const bytes = tokens * width * 4;
  if (bytes > MAX_BINDING_BYTES) problems.push(`${where}: a batch's widest activation (${tokens} tokens × ${width} = ${(bytes / 2 ** 30).toFixed(1)} GiB for train.batch_tokens ${config.train.batch_tokens}) exceeds one WebGPU storage binding (2 GiB); lower train.batch_tokens`);
  if (opts.readCorpus !== false && d.corpus) {
    const kind = d.tokenizer.kind;
    const lower = d.tokenizer.lowercase;
    for (const [name, files] of [['valid', d.corpus.valid], ['test', d.corpus.test]] as const) {
      if (files === undefined) continue;
      const split = parseSplit(readSplitSource(files));
      for (let i = 0; i < split.sources.length; i++) {
        const src = tokenBound(kind, lower ? split.sources[i].toLowerCase() : split.sources[i]);
        const tgt = tokenBound(kind, lower ? split.targets[i].toLowerCase() : split.targets[i]) + 1;
        if (Math.max(src, tgt) > MAX_ATTENTION_LEN) {
          const unit = kind === 'bpe' ? 'UTF-8 bytes, an upper bound of its BPE tokens' : `${kind} tokens`;
          problems.push(`${where} attends over at most ${MAX_ATTENTION_LEN} positions; ${name} sentence ${i + 1} has ${src} source and ${tgt - 1} target ${unit} (dev and test are scored on every sentence)`);
          break;
        }
      }
    }
  }
  return problems;
}
