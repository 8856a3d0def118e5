"""PyTorch reference for bench/engine.bench.ts: the same Transformer training step, timed.

Post-norm encoder-decoder (torch.nn.Transformer layers, ReLU FFN, dropout 0.1), token embeddings
x sqrt(d_model) + sinusoidal positions, one embedding table shared by source, target and the
pre-softmax projection, label-smoothed cross-entropy (0.1), Adam (0.9, 0.98, 1e-9). One fixed
random batch (no padding), like the tfjs side.

Usage: python3 torch_step.py --vocab 1000 --d-model 64 --heads 4 --d-ff 256 --layers 2 \
         --batch 32 --src-len 20 --tgt-len 20 --steps 20 --warmup-steps 3 --threads 1 [--device cuda]
Prints one JSON line: {"device", "threads", "ms_per_step", "tokens_per_second", "max_rss_mb", ...}.
Set OMP_WAIT_POLICY=PASSIVE in the environment: with OpenBLAS on few cores, spinning OpenMP
threads otherwise make 2 threads slower than 1.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Seq2Seq(nn.Module):
    def __init__(self, vocab, d_model, heads, d_ff, layers, dropout=0.1, max_len=512):
        super().__init__()
        self.d_model = d_model
        self.embed = nn.Embedding(vocab, d_model)
        nn.init.normal_(self.embed.weight, std=d_model ** -0.5)
        pe = torch.zeros(max_len, d_model)
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)
        self.drop = nn.Dropout(dropout)
        self.transformer = nn.Transformer(d_model, heads, layers, layers, d_ff, dropout, batch_first=True)

    def embed_tokens(self, ids):
        return self.drop(self.embed(ids) * math.sqrt(self.d_model) + self.pe[: ids.shape[1]])

    def forward(self, src, tgt_in):
        t = tgt_in.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool, device=src.device), diagonal=1)  # True = masked
        h = self.transformer(self.embed_tokens(src), self.embed_tokens(tgt_in), tgt_mask=causal,
                             src_key_padding_mask=src.eq(0), tgt_key_padding_mask=tgt_in.eq(0),
                             memory_key_padding_mask=src.eq(0))
        return h @ self.embed.weight.t()  # tied pre-softmax projection


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("vocab", 1000), ("d-model", 64), ("heads", 4), ("d-ff", 256), ("layers", 2), ("batch", 32),
                          ("src-len", 20), ("tgt-len", 20), ("steps", 20), ("warmup-steps", 3), ("threads", 1)]:
        ap.add_argument(f"--{name}", type=int, default=default)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = Seq2Seq(a.vocab, a.d_model, a.heads, a.d_ff, a.layers).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
    src = torch.randint(4, a.vocab, (a.batch, a.src_len), device=dev)
    tgt_in = torch.randint(4, a.vocab, (a.batch, a.tgt_len), device=dev)
    tgt_out = torch.randint(4, a.vocab, (a.batch, a.tgt_len), device=dev)
    params = sum(p.numel() for p in model.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), tgt_out.reshape(-1), label_smoothing=0.1, ignore_index=0)
        loss.backward()
        opt.step()
        return loss.item()  # forces the step to finish, as the tfjs side reads its loss back

    for _ in range(a.warmup_steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    tokens = a.batch * a.tgt_len
    out = {
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else f"CPU ({a.threads} thread{'s' if a.threads > 1 else ''})",
        "torch": torch.__version__,
        "threads": a.threads,
        "params": params,
        "ms_per_step": median * 1000,
        "ms_min": times[0] * 1000,
        "tokens_per_second": tokens / median,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if dev.type == "cuda":
        out["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps(out))


if __name__ == "__main__":
    main()
