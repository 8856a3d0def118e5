/**
 * `table3-multi30k`: rows (A)–(E) of Table 3 of "Attention Is All You Need" on Multi30k
 * English→German (29,000 training pairs; dev: the 1,014-line validation set; test: Flickr 2016,
 * 1,000 lines), three seeds per row so the significance columns (MultEval over seeds and
 * sentences, sacreBLEU's paired bootstrap per seed pair) have replicates to work with.
 *
 * Size: the paper's base halved in width and depth (d_model 512 → 256, d_ff 2048 → 1024, N 6 → 3,
 * h 8 → 4 so d_k = d_v = 64 as in the paper), a shared 8,000-piece BPE vocabulary, 2,048 target
 * tokens a batch (wasm runs out of memory at 4,096 with this vocabulary) for 3,000 steps, about 15
 * passes over the training set, and the paper's checkpoint averaging (the last 5 of checkpoints
 * every 250 steps). Each row changes the base in one place, as the paper's rows do.
 *
 * Corpus paths are relative to the working directory (the project root: ../shared/data/multi30k);
 * `--corpus DIR` swaps in DIR/{train,valid,test}.{en,de} from anywhere. Nothing is copied.
 *
 * Wall time per run (3,000 steps plus the final beam-4 decode of dev and test, 2,014 sentences):
 * - measured on the 2-core dev VM (wasm, one thread, shared with other jobs, load 11; 30 steps of
 *   the base): 123 target tokens/s over the run (250 in its fastest windows), 7–15 s a step → 6–13
 *   hours of training a run, plus up to ~20 minutes of final beam decoding; the 48 runs (16 rows ×
 *   3 seeds) weeks: not a CPU preset.
 * - GPU, estimated (no GPU was lent while this preset was sized): the README's H100 rows for a model
 *   of this width and vocabulary (config B, tfjs webgpu) are 0.55–0.98 s a step, bound by per-kernel
 *   overhead rather than batch size → about 30–50 minutes a run, 1–2 days for the grid on one GPU.
 */
export const table3Multi30k = {
  name: 'table3-multi30k',
  description: 'Table 3 rows A–E on Multi30k en→de, 3 seeds (48 runs; 6–13 h a run on a 2-core CPU, ~30–50 min on a GPU; --corpus DIR)',
  yaml: `name: table3-multi30k
description: Rows (A)-(E) of Table 3 on Multi30k en-de, 3 seeds, base halved (d_model 256, N 3)
data:
  corpus:
    train: [../shared/data/multi30k/train.en, ../shared/data/multi30k/train.de]
    valid: [../shared/data/multi30k/valid.en, ../shared/data/multi30k/valid.de]
    test: [../shared/data/multi30k/test.en, ../shared/data/multi30k/test.de]
  tokenizer: { kind: bpe, vocab: 8000, shared: true }
  max_len: 64
base: { layers: 3, d_model: 256, d_ff: 1024, heads: 4, d_k: 64, d_v: 64, dropout: 0.1, label_smoothing: 0.1, positional: sinusoidal }
train:
  steps: 3000
  batch_tokens: 2048
  warmup: 800
  eval_every: 250
  checkpoint_every: 250
  average_last: 5
  eval_bleu_sentences: 200
  samples: 3
  seeds: [1, 2, 3]
  decode: { beam: 4, alpha: 0.6, max_len_offset: 50 }
variants:
  - { name: "(A) h=1",  heads: 1,  d_k: 256, d_v: 256 }
  - { name: "(A) h=2",  heads: 2,  d_k: 128, d_v: 128 }
  - { name: "(A) h=8",  heads: 8,  d_k: 32,  d_v: 32 }
  - { name: "(A) h=16", heads: 16, d_k: 16,  d_v: 16 }
  - { name: "(B) d_k=16", d_k: 16 }
  - { name: "(B) d_k=32", d_k: 32 }
  - { name: "(C) N=2", layers: 2 }
  - { name: "(C) N=4", layers: 4 }
  - { name: "(C) d_ff=512", d_ff: 512 }
  - { name: "(C) d_ff=2048", d_ff: 2048 }
  - { name: "(D) P_drop=0.0", dropout: 0.0 }
  - { name: "(D) P_drop=0.2", dropout: 0.2 }
  - { name: "(D) eps_ls=0.0", label_smoothing: 0.0 }
  - { name: "(D) eps_ls=0.2", label_smoothing: 0.2 }
  - { name: "(E) learned positions", positional: learned }
`,
} as const;
