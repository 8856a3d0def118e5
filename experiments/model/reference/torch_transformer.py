#!/usr/bin/python3
"""PyTorch reference of the workbench Transformer (experiments/model/transformer.ts), written with
plain torch ops from the paper, independently of the TypeScript code.

Usage: torch_transformer.py IN.json OUT.json

IN.json: {"config": ModelConfig, "src_vocab", "tgt_vocab", "weights": {name: {"shape", "data"}},
          "src": [[int]], "tgt_in": [[int]], "tgt_out": [[int]], "label_smoothing": float}
OUT.json: {"logits": flat list [B*t*V], "loss_non_pad", "loss_all": label-smoothed CE (see
          experiments/train/loss.ts for the two conventions), "grads": {name: flat list} of
          loss_non_pad w.r.t. every weight}
Float64 is not used: the comparison is float32 against float32.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

PAD = 0
MASK_BIAS = -1e9
EPS = 1e-6
MAX_LEARNED_POSITIONS = 512


def sinusoids(length, d):
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    j = torch.arange(d)
    two_i = (j - j % 2).to(torch.float64)
    angle = pos / torch.pow(10000.0, two_i / d)
    pe = torch.where(j % 2 == 0, torch.sin(angle), torch.cos(angle))
    return pe.to(torch.float32)


def layer_norm(x, w, prefix):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + EPS) * w[prefix + '/gamma'] + w[prefix + '/beta']


def keys_values(cfg, w, prefix, memory):
    """Per-head keys and values of memory [B, s, d]: [B, h, s, d_k] and [B, h, s, d_v]."""
    h, dk, dv = cfg['heads'], cfg['d_k'], cfg['d_v']
    B, s, _ = memory.shape
    wk = w[prefix + '/wq'] if cfg['share_qk'] else w[prefix + '/wk']
    k = (memory @ wk).view(B, s, h, dk).permute(0, 2, 1, 3)
    v = (memory @ w[prefix + '/wv']).view(B, s, h, dv).permute(0, 2, 1, 3)
    return k, v


def attend(cfg, w, prefix, query, k, v, bias):
    """query [B, t, d] against keys_values' k, v; bias broadcastable to [B, h, t, s]."""
    h, dk, dv = cfg['heads'], cfg['d_k'], cfg['d_v']
    B, t, _ = query.shape
    q = (query @ w[prefix + '/wq']).view(B, t, h, dk).permute(0, 2, 1, 3)
    logits = q @ k.transpose(-1, -2)
    if cfg['attention_scale']:
        logits = logits / math.sqrt(dk)
    p = torch.softmax(logits + bias, dim=-1)
    ctx = (p @ v).permute(0, 2, 1, 3).reshape(B, t, h * dv)
    return ctx @ w[prefix + '/wo']


def attention(cfg, w, prefix, query, memory, bias):
    """query [B, t, d], memory [B, s, d], bias broadcastable to [B, h, t, s]. Split in two so an
    incremental decoder (bench/reference/torch_beam.py) can keep keys and values of earlier positions."""
    k, v = keys_values(cfg, w, prefix, memory)
    return attend(cfg, w, prefix, query, k, v, bias)


def ffn(w, prefix, x):
    return torch.relu(x @ w[prefix + '/w1'] + w[prefix + '/b1']) @ w[prefix + '/w2'] + w[prefix + '/b2']


def sublayer(cfg, w, norm, x, f):
    if cfg['norm'] == 'pre':
        return x + f(layer_norm(x, w, norm))
    return layer_norm(x + f(x), w, norm)


def embed(cfg, w, ids, table, side):
    d = cfg['d_model']
    x = w[table][ids] * math.sqrt(d)
    L = ids.shape[1]
    if cfg['positional'] == 'sinusoidal':
        x = x + sinusoids(L, d)
    elif cfg['positional'] == 'learned':
        x = x + w[side + '/positions'][:L]
    return x


def forward(cfg, w, src, tgt_in):
    shared = cfg['share_embeddings']
    B, s = src.shape
    t = tgt_in.shape[1]
    src_bias = ((src == PAD).float() * MASK_BIAS).view(B, 1, 1, s)
    x = embed(cfg, w, src, 'embedding/shared' if shared else 'encoder/embedding', 'encoder')
    for l in range(cfg['layers']):
        p = f'encoder/{l}'
        x = sublayer(cfg, w, p + '/self_attn_norm', x, lambda h: attention(cfg, w, p + '/self_attn', h, h, src_bias))
        x = sublayer(cfg, w, p + '/ffn_norm', x, lambda h: ffn(w, p + '/ffn', h))
    if cfg['norm'] == 'pre':
        x = layer_norm(x, w, 'encoder/final_norm')
    memory = x
    look_ahead = torch.triu(torch.full((t, t), MASK_BIAS), diagonal=1).view(1, 1, t, t)
    tgt_bias = look_ahead + ((tgt_in == PAD).float() * MASK_BIAS).view(B, 1, 1, t)
    y = embed(cfg, w, tgt_in, 'embedding/shared' if shared else 'decoder/embedding', 'decoder')
    for l in range(cfg['layers']):
        p = f'decoder/{l}'
        y = sublayer(cfg, w, p + '/self_attn_norm', y, lambda h: attention(cfg, w, p + '/self_attn', h, h, tgt_bias))
        y = sublayer(cfg, w, p + '/cross_attn_norm', y, lambda h: attention(cfg, w, p + '/cross_attn', h, memory, src_bias))
        y = sublayer(cfg, w, p + '/ffn_norm', y, lambda h: ffn(w, p + '/ffn', h))
    if cfg['norm'] == 'pre':
        y = layer_norm(y, w, 'decoder/final_norm')
    if shared:
        return y @ w['embedding/shared'].t()
    return y @ w['decoder/output_projection']


def smoothed_loss_non_pad(logits, targets, eps):
    """q = (1-eps)·onehot(y) + eps/(V-1) on every class but PAD; mean over non-pad targets."""
    V = logits.shape[-1]
    logp = torch.log_softmax(logits.reshape(-1, V), dim=-1)
    y = targets.reshape(-1)
    q = torch.full_like(logp, eps / (V - 1))
    q[:, PAD] = 0.0
    q[torch.arange(len(y)), y] += 1.0 - eps
    per_token = -(q * logp).sum(-1)
    mask = (y != PAD).float()
    return (per_token * mask).sum() / mask.sum()


def main():
    spec = json.load(open(sys.argv[1]))
    cfg = spec['config']
    w = {name: torch.tensor(v['data'], dtype=torch.float32).view(*v['shape']).requires_grad_(True)
         for name, v in spec['weights'].items()}
    src = torch.tensor(spec['src'], dtype=torch.long)
    tgt_in = torch.tensor(spec['tgt_in'], dtype=torch.long)
    tgt_out = torch.tensor(spec['tgt_out'], dtype=torch.long)
    eps = spec['label_smoothing']
    logits = forward(cfg, w, src, tgt_in)
    loss = smoothed_loss_non_pad(logits, tgt_out, eps)
    loss_all = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1),
                               ignore_index=PAD, label_smoothing=eps)
    loss.backward()
    out = {
        'torch': torch.__version__,
        'logits': logits.detach().reshape(-1).tolist(),
        'loss_non_pad': loss.item(),
        'loss_all': loss_all.item(),
        'grads': {n: (t.grad.reshape(-1).tolist() if t.grad is not None else None) for n, t in w.items()},
    }
    json.dump(out, open(sys.argv[2], 'w'))


if __name__ == '__main__':
    torch.set_num_threads(1)
    main()
