/**
 * `table3-mini`: rows (A)–(E) of Table 3 of "Attention Is All You Need" at laptop scale. The base
 * is the paper's base model shrunk 8× in width (d_model 512 → 64, d_ff 2048 → 256, d_k = d_v
 * 64 → 16 with h 8 → 4) and 3× in depth (N 6 → 2); each row changes it in one place, like the paper:
 * (A) heads with d_k·h held at d_model, (B) d_k alone, (C) N and d_ff, (D) dropout and label
 * smoothing, (E) learned positions instead of sinusoids. Trains on synthetic-reorder by default;
 * `--corpus DIR` swaps in DIR/{train,valid,test}.{en,de}.
 */
export const table3Mini = {
  name: 'table3-mini',
  description: 'Table 3 rows A–E at laptop scale on synthetic-reorder (or --corpus DIR): 16 runs',
  yaml: `name: table3-mini
description: Rows (A)-(E) of Table 3 at laptop scale
data:
  task: synthetic-reorder
  vocab: 24
  min_len: 4
  max_len: 12
  train_size: 6000
  valid_size: 200
  test_size: 200
  seed: 1
  tokenizer: { kind: word, vocab: 64, shared: true }
base: { layers: 2, d_model: 64, d_ff: 256, heads: 4, d_k: 16, d_v: 16, dropout: 0.1, label_smoothing: 0.1, positional: sinusoidal }
train:
  steps: 400
  batch_tokens: 1024
  warmup: 100
  eval_every: 100
  checkpoint_every: 100
  eval_bleu_sentences: 100
  samples: 3
  seeds: [1]
  decode: { beam: 4, alpha: 0.6, max_len_offset: 8 }
variants:
  - { name: "(A) h=1",  heads: 1,  d_k: 64, d_v: 64 }
  - { name: "(A) h=2",  heads: 2,  d_k: 32, d_v: 32 }
  - { name: "(A) h=8",  heads: 8,  d_k: 8,  d_v: 8 }
  - { name: "(A) h=16", heads: 16, d_k: 4,  d_v: 4 }
  - { name: "(B) d_k=4", d_k: 4 }
  - { name: "(B) d_k=8", d_k: 8 }
  - { name: "(C) N=1", layers: 1 }
  - { name: "(C) N=3", layers: 3 }
  - { name: "(C) d_ff=128", d_ff: 128 }
  - { name: "(C) d_ff=512", d_ff: 512 }
  - { name: "(D) P_drop=0.0", dropout: 0.0 }
  - { name: "(D) P_drop=0.2", dropout: 0.2 }
  - { name: "(D) eps_ls=0.0", label_smoothing: 0.0 }
  - { name: "(D) eps_ls=0.2", label_smoothing: 0.2 }
  - { name: "(E) learned positions", positional: learned }
`,
} as const;
