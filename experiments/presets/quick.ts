/**
 * `quick`: the README's main job. A real, small ablation that trains in about a minute on a
 * 2-core CPU with wasm: a base Transformer on synthetic-reverse against the same model without
 * positional encodings. Reversal needs token positions, so the `positional: none` variant should
 * lose clearly — a one-minute demonstration of what an ablation shows.
 */
export const quick = {
  name: 'quick',
  description: 'Base vs. no positional encoding on synthetic-reverse: 2 runs, about a minute on a CPU',
  yaml: `name: quick
description: Base vs. no positional encoding on synthetic-reverse (about a minute on a CPU)
data:
  task: synthetic-reverse
  vocab: 12
  min_len: 3
  max_len: 8
  train_size: 2000
  valid_size: 100
  test_size: 100
  seed: 1
  tokenizer: { kind: word, vocab: 64, shared: true }
base: { layers: 1, d_model: 32, d_ff: 64, heads: 2, dropout: 0.0, label_smoothing: 0.1, positional: sinusoidal }
train:
  steps: 400
  batch_tokens: 400
  warmup: 100
  lr_factor: 1
  eval_every: 100
  checkpoint_every: 100
  eval_bleu_sentences: 50
  samples: 3
  seeds: [1]
  decode: { beam: 1, alpha: 0.6, max_len_offset: 4 }
variants:
  - { name: "no positions", positional: none }
`,
} as const;
