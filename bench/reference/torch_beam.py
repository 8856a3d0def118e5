#!/usr/bin/python3
"""An independent reference for the workbench's decoders: greedy and beam search in plain PyTorch,
incremental (keys/values of earlier positions kept), on the weights of a workbench checkpoint.

The model is experiments/model/reference/torch_transformer.py (the parity tests' reference),
imported, not redefined: its embed / layer_norm / keys_values / attend / ffn / sublayer run
unchanged. This file adds only the incremental decoder loop and the search.

Search rules (fairseq's SequenceGenerator, with the workbench's length penalty):
- candidates: the top 2K of K x V summed log-probabilities (at step 0 only beam 0, so the K
  identical start rows do not give K copies of one hypothesis);
- an EOS candidate finishes a hypothesis only when it ranks among the top K; the next live
  hypotheses are the first K non-EOS candidates among the 2K;
- a finished hypothesis scores logP / lp(len), len counting its EOS, with the GNMT / tensor2tensor
  penalty lp(len) = ((5 + len) / 6)^alpha (fairseq divides by len^lenpen; the workbench uses GNMT);
- PAD, BOS and UNK are never emitted (log-probability -inf before any choice; not renormalised);
- max length = source length + max_len_offset tokens per sentence (fairseq takes a batch-wide
  limit, the workbench a per-sentence one); with learned positions at most 511; a hypothesis at
  the limit gets one more step in which only EOS is allowed and pays its log-probability;
- a sentence stops when K hypotheses are finished; the best finished (highest normalised score,
  the first found on a tie) is its output.
Greedy: argmax with PAD/BOS/UNK at -inf, stops at EOS or at the limit (no EOS paid).

Usage: torch_beam.py IN.json OUT.json [--device cpu|cuda] [--label NAME]
  --device: where the model runs (default cpu; cuda only when asked, and an error when torch has no
            CUDA device). On cuda the masks, sinusoids and search state live on the device, the
            search's bookkeeping reads each step's candidates back once (.tolist()), and one untimed
            decode of the first chunk warms CUDA and cuBLAS before the timed runs.
  --label:  also print one JSON line per run for the device check's summary (bench/portable):
            {"kind":"decode","engine":"pytorch","config":NAME,"mode":"greedy"|"beam K","sentences",
             "seconds","sentences_per_second","tokens","device"}
IN.json:  {"checkpoint": path of a workbench checkpoint (ABLCKPT2; the SHA-256 is verified),
           "sources": [[id, ...], ...] (no BOS/EOS), "runs": [{"search": "greedy", "max_len_offset": n}
           or {"search": "beam", "beam": K, "alpha": a, "max_len_offset": n}
           or {"search": "score", "hypotheses": [[id...]], "alpha": a}: the beam objective of given
           hypotheses (teacher-forced, EOS appended), e.g. greedy's outputs against beam's],
           "batch_sentences": sentences per batch (beam rows = this x K; default 32), "threads": 1}
OUT.json: {"torch": version, "runs": [{...the run, "hypotheses": [[id...]],
           "scores": [normalised score or null], "seconds": decode wall time, "sentences_per_second"}]}
"""
import hashlib
import json
import math
import os
import struct
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'experiments', 'model', 'reference'))
import torch_transformer as ref  # noqa: E402

PAD, BOS, EOS, UNK = 0, 1, 2, 3
NEVER_EMITTED = (PAD, BOS, UNK)
DEVICE = torch.device('cpu')  # set by --device before any decoding


def _device_sinusoids(length, d, _made={}):
    """ref.sinusoids made on DEVICE (the reference makes them on the CPU), once per (length, d)."""
    key = (length, d, str(DEVICE))
    if key not in _made:
        _made[key] = _cpu_sinusoids(length, d).to(DEVICE)
    return _made[key]


_cpu_sinusoids = ref.sinusoids


def read_checkpoint(path):
    """The workbench's checkpoint format (experiments/train/checkpoint.ts), read independently:
    'ABLCKPT2' | u32 LE header length | header JSON | pad to 4 | float32 LE payload | SHA-256."""
    buf = open(path, 'rb').read()
    if buf[:8] != b'ABLCKPT2':
        raise SystemExit(f'{path}: not an ABLCKPT2 checkpoint')
    if hashlib.sha256(memoryview(buf)[:-32]).digest() != buf[-32:]:
        raise SystemExit(f'{path}: checksum mismatch')
    (n,) = struct.unpack('<I', buf[8:12])
    header = json.loads(buf[12:12 + n].decode('utf8'))
    start = 12 + n
    start += (4 - start % 4) % 4
    entries = [e for e in header['tensors'] if e['group'] == 'weight']
    # Only the weights' span is copied out (the Adam moments after it are two thirds of the file).
    end = max((e['offset'] + e['size'] for e in entries), default=0)
    payload = torch.frombuffer(bytearray(memoryview(buf)[start:start + 4 * end]), dtype=torch.float32)
    weights = {e['name']: payload[e['offset']:e['offset'] + e['size']].clone().view(*e['shape']).to(DEVICE)
               for e in entries}
    return header, weights


class Decoder:
    """Encoder once per batch; the decoder one position a step with per-layer self-attention keys
    and values appended to a cache and cross-attention keys and values computed once."""

    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        self.shared = cfg['share_embeddings']

    def encode(self, src):
        cfg, w = self.cfg, self.w
        B, s = src.shape
        self.src_bias = ((src == PAD).float() * ref.MASK_BIAS).view(B, 1, 1, s)
        x = ref.embed(cfg, w, src, 'embedding/shared' if self.shared else 'encoder/embedding', 'encoder')
        for l in range(cfg['layers']):
            p = f'encoder/{l}'
            x = ref.sublayer(cfg, w, p + '/self_attn_norm', x, lambda h: ref.attention(cfg, w, p + '/self_attn', h, h, self.src_bias))
            x = ref.sublayer(cfg, w, p + '/ffn_norm', x, lambda h: ref.ffn(w, p + '/ffn', h))
        if cfg['norm'] == 'pre':
            x = ref.layer_norm(x, w, 'encoder/final_norm')
        self.cross = [ref.keys_values(cfg, w, f'decoder/{l}/cross_attn', x) for l in range(cfg['layers'])]
        self.self_kv = [None] * cfg['layers']

    def reorder(self, rows):
        """Row r continues row rows[r] (beam bookkeeping; also repeats sentences into beam rows)."""
        self.src_bias = self.src_bias.index_select(0, rows)
        self.cross = [(k.index_select(0, rows), v.index_select(0, rows)) for k, v in self.cross]
        self.self_kv = [None if kv is None else (kv[0].index_select(0, rows), kv[1].index_select(0, rows)) for kv in self.self_kv]

    def step(self, prefixes):
        """prefixes [R, t+1] (BOS + tokens so far) -> log-probabilities of token t+1, [R, V]."""
        cfg, w = self.cfg, self.w
        # ref.embed numbers positions from 0: embed the whole prefix and keep its last position.
        y = ref.embed(cfg, w, prefixes, 'embedding/shared' if self.shared else 'decoder/embedding', 'decoder')[:, -1:]
        for l in range(cfg['layers']):
            p = f'decoder/{l}'

            def self_attn(h, l=l, p=p):
                k, v = ref.keys_values(cfg, w, p + '/self_attn', h)
                if self.self_kv[l] is not None:
                    k = torch.cat([self.self_kv[l][0], k], dim=2)
                    v = torch.cat([self.self_kv[l][1], v], dim=2)
                self.self_kv[l] = (k, v)
                return ref.attend(cfg, w, p + '/self_attn', h, k, v, 0.0)  # the newest position sees all

            y = ref.sublayer(cfg, w, p + '/self_attn_norm', y, self_attn)
            ck, cv = self.cross[l]
            y = ref.sublayer(cfg, w, p + '/cross_attn_norm', y, lambda h: ref.attend(cfg, w, p + '/cross_attn', h, ck, cv, self.src_bias))
            y = ref.sublayer(cfg, w, p + '/ffn_norm', y, lambda h: ref.ffn(w, p + '/ffn', h))
        if cfg['norm'] == 'pre':
            y = ref.layer_norm(y, w, 'decoder/final_norm')
        logits = (y @ w['embedding/shared'].t()) if self.shared else (y @ w['decoder/output_projection'])
        lprobs = torch.log_softmax(logits[:, 0], dim=-1)
        lprobs[:, list(NEVER_EMITTED)] = -math.inf
        return lprobs


def length_penalty(length, alpha):
    return ((5.0 + length) / 6.0) ** alpha


def pad_sources(sources):
    width = max(1, max(len(s) for s in sources))
    src = torch.full((len(sources), width), PAD, dtype=torch.long)
    for i, s in enumerate(sources):
        src[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return src.to(DEVICE)


def hypothesis_limit(cfg, src_len, offset):
    limit = src_len + offset
    return min(limit, ref.MAX_LEARNED_POSITIONS - 1) if cfg['positional'] == 'learned' else limit


@torch.no_grad()
def greedy(cfg, w, sources, offset):
    dec = Decoder(cfg, w)
    dec.encode(pad_sources(sources))
    n = len(sources)
    limit = [hypothesis_limit(cfg, len(s), offset) for s in sources]
    out = [[] for _ in sources]
    done = [m <= 0 for m in limit]
    tokens = torch.full((n, 1), BOS, dtype=torch.long, device=DEVICE)
    while not all(done):
        best = dec.step(tokens).argmax(-1)
        chosen = best.tolist()  # one read-back per step
        for i in range(n):
            if done[i]:
                continue
            t = chosen[i]
            if t == EOS:
                done[i] = True
            else:
                out[i].append(t)
                done[i] = len(out[i]) >= limit[i]
        tokens = torch.cat([tokens, best[:, None]], 1)  # finished rows are fed whatever; never read
    return out, [None] * n


@torch.no_grad()
def beam_search(cfg, w, sources, K, alpha, offset):
    """fairseq's SequenceGenerator loop (see the file comment), for one batch of sentences."""
    bsz = len(sources)
    dec = Decoder(cfg, w)
    dec.encode(pad_sources(sources))
    dec.reorder(torch.arange(bsz, device=DEVICE).repeat_interleave(K))  # sentence b -> rows b*K .. b*K+K-1
    limit = torch.tensor([hypothesis_limit(cfg, len(s), offset) for s in sources], device=DEVICE)
    max_len = int(limit.max())
    tokens = torch.full((bsz * K, 1), BOS, dtype=torch.long, device=DEVICE)
    scores = torch.zeros(bsz * K, device=DEVICE)  # summed log-probability of each live hypothesis
    finalized = [[] for _ in range(bsz)]
    finished = [bool(limit[b] <= 0) for b in range(bsz)]
    for b in range(bsz):
        if finished[b]:
            finalized[b].append({'tokens': [], 'score': 0.0})
    for step in range(max_len + 1):
        if all(finished):
            break
        lprobs = dec.step(tokens)  # [bsz*K, V]
        V = lprobs.shape[1]
        # At the limit only EOS may follow (the hypothesis pays its log-probability).
        at_limit = (step >= limit).repeat_interleave(K)
        lprobs[at_limit, :EOS] = -math.inf
        lprobs[at_limit, EOS + 1:] = -math.inf
        if step == 0:
            cand = lprobs.view(bsz, K, V)[:, 0, :]  # only beam 0: the K start rows are one hypothesis
        else:
            cand = (lprobs + scores[:, None]).view(bsz, K * V)
        cand_scores, cand_idx = torch.topk(cand, k=min(2 * K, cand.shape[1]), dim=1)
        cand_beams = torch.div(cand_idx, V, rounding_mode='floor')
        cand_tokens = cand_idx % V
        eos_mask = (cand_tokens == EOS) & (cand_scores != -math.inf)
        # The bookkeeping below reads every candidate: one read-back per step, not one per element.
        n_cand = cand_scores.shape[1]
        cand_scores, cand_beams, cand_tokens, eos_mask = cand_scores.tolist(), cand_beams.tolist(), cand_tokens.tolist(), eos_mask.tolist()
        new_rows, new_tokens, new_scores = [], [], []
        for b in range(bsz):
            if finished[b]:
                rows = [b * K] * K  # keep shapes; the sentence's rows are never read again
                new_rows += rows
                new_tokens += [EOS] * K
                new_scores += [-math.inf] * K
                continue
            # Finalise EOS among the top K, in rank order, until K are finished.
            for j in range(min(K, n_cand)):
                if eos_mask[b][j] and len(finalized[b]) < K:
                    row = b * K + int(cand_beams[b][j])
                    hyp = tokens[row, 1:].tolist()
                    finalized[b].append({'tokens': hyp, 'score': float(cand_scores[b][j]) / length_penalty(step + 1, alpha)})
            if len(finalized[b]) >= K:
                finished[b] = True
            # The next live hypotheses: the first K non-EOS candidates.
            live = [j for j in range(n_cand) if not eos_mask[b][j] and int(cand_tokens[b][j]) != EOS][:K]
            while len(live) < K:
                live.append(live[-1] if live else 0)  # tiny vocabularies only
            for j in live:
                new_rows.append(b * K + int(cand_beams[b][j]))
                new_tokens.append(int(cand_tokens[b][j]))
                new_scores.append(float(cand_scores[b][j]))
        if all(finished):
            break
        rows = torch.tensor(new_rows, device=DEVICE)
        dec.reorder(rows)
        tokens = torch.cat([tokens.index_select(0, rows), torch.tensor(new_tokens, device=DEVICE)[:, None]], 1)
        scores = torch.tensor(new_scores, dtype=torch.float32, device=DEVICE)
    out, best_scores = [], []
    for b in range(bsz):
        if not finalized[b]:  # only when fewer than K finite candidates existed (tiny vocabularies)
            finalized[b].append({'tokens': tokens[b * K, 1:].tolist(), 'score': float(scores[b * K]) / length_penalty(tokens.shape[1], alpha)})
        best = max(finalized[b], key=lambda f: f['score'])  # max returns the first of equal scores
        out.append(best['tokens'])
        best_scores.append(best['score'])
    return out, best_scores


@torch.no_grad()
def objective(cfg, w, sources, hyps, alpha):
    """The beam's objective of given hypotheses, teacher-forced: (sum of log-probabilities of the
    tokens and a final EOS) / lp(len + 1), PAD/BOS/UNK at -inf as in decoding (not renormalised)."""
    if DEVICE.type != 'cpu':
        raise SystemExit(f'runs[].search score: runs on the cpu only (ref.forward builds its masks there); got --device {DEVICE}')
    src = pad_sources(sources)
    width = max(len(h) for h in hyps) + 1
    tgt_in = torch.full((len(hyps), width), PAD, dtype=torch.long)
    tgt_out = torch.full((len(hyps), width), PAD, dtype=torch.long)
    for i, h in enumerate(hyps):
        tgt_in[i, :len(h) + 1] = torch.tensor([BOS] + h, dtype=torch.long)
        tgt_out[i, :len(h) + 1] = torch.tensor(h + [EOS], dtype=torch.long)
    lprobs = torch.log_softmax(ref.forward(cfg, w, src, tgt_in), dim=-1)
    picked = lprobs.gather(-1, tgt_out[..., None])[..., 0].masked_fill(tgt_out == PAD, 0.0)
    return [float(picked[i].sum()) / length_penalty(len(h) + 1, alpha) for i, h in enumerate(hyps)]


def decode_all(cfg, w, sources, run, batch_sentences):
    """Sentences sorted by length (stable), decoded in batches, returned in input order."""
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    hyps, scores = [None] * len(sources), [None] * len(sources)
    if run['search'] not in ('greedy', 'beam', 'score'):
        raise SystemExit(f"runs[].search: expected greedy, beam or score, got {run['search']!r}")
    for start in range(0, len(order), batch_sentences):
        idx = order[start:start + batch_sentences]
        chunk = [sources[i] for i in idx]
        if run['search'] == 'score':
            h = [run['hypotheses'][i] for i in idx]
            s = objective(cfg, w, chunk, h, float(run['alpha']))
        elif run['search'] == 'greedy':
            h, s = greedy(cfg, w, chunk, run['max_len_offset'])
        else:
            h, s = beam_search(cfg, w, chunk, int(run['beam']), float(run['alpha']), run['max_len_offset'])
        for i, hh, ss in zip(idx, h, s):
            hyps[i], scores[i] = hh, ss
    return hyps, scores


def parse_args(argv):
    """IN.json OUT.json [--device cpu|cuda] [--label NAME] (see the file comment)."""
    paths, opts = [], {'device': 'cpu', 'label': None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ('--device', '--label'):
            if i + 1 >= len(argv):
                raise SystemExit(f'{a}: expected a value')
            opts[a[2:]] = argv[i + 1]
            i += 2
        else:
            paths.append(a)
            i += 1
    if len(paths) != 2:
        raise SystemExit('usage: torch_beam.py IN.json OUT.json [--device cpu|cuda] [--label NAME]')
    if opts['device'] not in ('cpu', 'cuda'):
        raise SystemExit(f"--device: expected cpu or cuda, got {opts['device']!r}")
    if opts['device'] == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device cuda: torch {torch.__version__} sees no CUDA device')
    return paths, opts


def sync():
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()


def main():
    global DEVICE
    (in_path, out_path), opts = parse_args(sys.argv[1:])
    DEVICE = torch.device(opts['device'])
    if DEVICE.type != 'cpu':
        ref.sinusoids = _device_sinusoids  # ref.embed looks the name up at call time
    spec = json.load(open(in_path))
    torch.set_num_threads(int(spec.get('threads', 1)))
    header, w = read_checkpoint(spec['checkpoint'])
    cfg = header['config']['model']
    sources = spec['sources']
    batch = int(spec.get('batch_sentences', 32))
    where = torch.cuda.get_device_name(DEVICE) if DEVICE.type == 'cuda' else f'cpu, {torch.get_num_threads()} thread(s)'
    runs = []
    for run in spec['runs']:
        if DEVICE.type == 'cuda' and run['search'] != 'score':
            decode_all(cfg, w, sources[:min(batch, 8)], run, batch)  # warm-up, untimed
        sync()
        t0 = time.perf_counter()
        hyps, scores = decode_all(cfg, w, sources, run, batch)
        sync()
        seconds = time.perf_counter() - t0
        run = {k: v for k, v in run.items() if k != 'hypotheses'}
        runs.append(dict(run, hypotheses=hyps, scores=scores, seconds=seconds,
                         sentences_per_second=len(sources) / seconds if seconds > 0 else None))
        if opts['label'] is not None and run['search'] != 'score':
            mode = 'greedy' if run['search'] == 'greedy' else f"beam {run['beam']}"
            print(json.dumps({'kind': 'decode', 'engine': 'pytorch', 'config': opts['label'], 'mode': mode,
                              'sentences': len(sources), 'seconds': seconds, 'sentences_per_second': len(sources) / seconds if seconds > 0 else None,
                              'tokens': sum(len(h) for h in hyps), 'device': where, 'torch': torch.__version__,
                              'chunk': batch, 'max_len_offset': run.get('max_len_offset')}), flush=True)
    json.dump({'torch': torch.__version__, 'runs': runs}, open(out_path, 'w'))


if __name__ == '__main__':
    main()
