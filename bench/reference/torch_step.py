"""PyTorch reference for bench/engine.bench.ts and the device check: the workbench's Transformer
training step, timed, in up to three modes.

The model is experiments/model/reference/torch_transformer.py (the parity tests' reference),
imported, not redefined: its layer_norm / attention / ffn / sublayer / embed run unchanged, with
the workbench's weight names, shapes and initialisers (experiments/model/params.ts). Three things
are added here, because the reference is a CPU-only forward for parity tests:
- dropout (P = 0.1) where the tfjs model puts it: on the embedding sum and on every sub-layer's
  output before the residual add (experiments/model/layers.ts);
- the masks and sinusoids built once on the step's device (the reference makes them on the CPU in
  every call, which cannot mix with CUDA tensors and would put host work in a captured graph);
- the default 'non-pad' label-smoothed loss (experiments/train/loss.ts) written without the
  reference's dense [N, V] target matrix (3.7 GB at the base config), as
  test/fixtures/train-reference/reference.py writes it.
`--self-check` proves on the CPU that the forward equals the reference's forward (dropout 0,
padded batch) and the loss equals reference.smoothed_loss_non_pad.

Modes (--modes, comma-separated; each prints one JSON line as soon as it is measured):
  eager    plain PyTorch, default (foreach) Adam
  graph    the whole step (forward, backward, Adam with capturable=True) captured once in a
           torch.cuda.CUDAGraph with static input buffers, then replayed (CUDA only)
  compile  torch.compile(mode="reduce-overhead") of forward + loss (backward through AOTAutograd,
           CUDA graphs by inductor) with Adam(fused=True) (PyTorch >= 2, CUDA only)
A mode that cannot run prints a JSON line with "skipped": the reason. On CUDA each mode also
reports torch.cuda.max_memory_allocated and, from one extra profiled step (torch.profiler), its
CUDA kernels per step and the top kernels by GPU time (--no-kernels skips it).

Every mode times the step as the tfjs side does: it ends by reading the loss back (a sync), and
reports the median over --steps after --warmup-steps. Adam (0.9, 0.98, 1e-9), constant lr 1e-4
(no schedule), fp32 with TF32 off (--tf32 turns TF32 matmuls on).

Usage: python3 torch_step.py --config A|B|base [--modes eager,graph,compile] [--device cuda]
       python3 torch_step.py --vocab 1000 --d-model 64 --heads 4 --d-ff 256 --layers 2 \
         --batch 32 --src-len 20 --tgt-len 20 --steps 20 --warmup-steps 3 --threads 1 [--device cuda]
       python3 torch_step.py --self-check
Set OMP_WAIT_POLICY=PASSIVE in the environment: with OpenBLAS on few cores, spinning OpenMP
threads otherwise make 2 threads slower than 1.
"""
import argparse
import gc
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
# Packed (bench/portable/pack.sh): torch_transformer.py sits next to this file; in the repository it
# is experiments/model/reference/.
for _d in (HERE, os.path.join(HERE, '..', '..', 'experiments', 'model', 'reference')):
    if os.path.exists(os.path.join(_d, 'torch_transformer.py')):
        sys.path.insert(0, _d)
        break
import torch_transformer as ref  # noqa: E402

# The same configs as bench/engine.bench.ts (CONFIGS). base: the paper's base model, ~25k target
# tokens a batch (390 x 64 = 24,960); on a smaller GPU the step halves the batch until it fits.
CONFIGS = {
    'A': dict(vocab=1000, d_model=64, heads=4, d_ff=256, layers=2, batch=32, src_len=20, tgt_len=20),
    'B': dict(vocab=8000, d_model=256, heads=8, d_ff=1024, layers=3, batch=32, src_len=32, tgt_len=32),
    'base': dict(vocab=37000, d_model=512, heads=8, d_ff=2048, layers=6, batch=390, src_len=64, tgt_len=64),
}
PAD, BOS, EOS = 0, 1, 2


def model_config(d_model, heads, d_ff, layers, dropout=0.1):
    """The ModelConfig engine.bench.ts trains: post-norm, sinusoids, tied embeddings, scaled attention."""
    return {'layers': layers, 'd_model': d_model, 'd_ff': d_ff, 'heads': heads, 'd_k': d_model // heads,
            'd_v': d_model // heads, 'dropout': dropout, 'label_smoothing': 0.1, 'positional': 'sinusoidal',
            'share_embeddings': True, 'norm': 'post', 'attention_scale': True, 'share_qk': False}


def parameter_specs(cfg, vocab):
    """experiments/model/params.ts parameterSpecs for a shared vocabulary: (name, shape, init) in model order."""
    d, dff, h, dk, dv = cfg['d_model'], cfg['d_ff'], cfg['heads'], cfg['d_k'], cfg['d_v']
    out = []

    def attention(p):
        out.append((p + '/wq', (d, h * dk), 'xavier'))
        if not cfg['share_qk']:
            out.append((p + '/wk', (d, h * dk), 'xavier'))
        out.extend([(p + '/wv', (d, h * dv), 'xavier'), (p + '/wo', (h * dv, d), 'xavier')])

    def norm(p):
        out.extend([(p + '/gamma', (d,), 'ones'), (p + '/beta', (d,), 'zeros')])

    def ffn(p):
        out.extend([(p + '/w1', (d, dff), 'xavier'), (p + '/b1', (dff,), 'zeros'),
                    (p + '/w2', (dff, d), 'xavier'), (p + '/b2', (d,), 'zeros')])

    if cfg['share_embeddings']:
        out.append(('embedding/shared', (vocab, d), 'embedding'))
    else:
        out.extend([('encoder/embedding', (vocab, d), 'embedding'), ('decoder/embedding', (vocab, d), 'embedding'),
                    ('decoder/output_projection', (d, vocab), 'xavier')])
    if cfg['positional'] == 'learned':
        out.extend([('encoder/positions', (ref.MAX_LEARNED_POSITIONS, d), 'embedding'),
                    ('decoder/positions', (ref.MAX_LEARNED_POSITIONS, d), 'embedding')])
    for l in range(cfg['layers']):
        attention(f'encoder/{l}/self_attn'); norm(f'encoder/{l}/self_attn_norm')
        ffn(f'encoder/{l}/ffn'); norm(f'encoder/{l}/ffn_norm')
    for l in range(cfg['layers']):
        attention(f'decoder/{l}/self_attn'); norm(f'decoder/{l}/self_attn_norm')
        attention(f'decoder/{l}/cross_attn'); norm(f'decoder/{l}/cross_attn_norm')
        ffn(f'decoder/{l}/ffn'); norm(f'decoder/{l}/ffn_norm')
    if cfg['norm'] == 'pre':
        norm('encoder/final_norm'); norm('decoder/final_norm')
    return out


def init_weights(cfg, vocab, device):
    """The workbench's initialisers (params.ts): Xavier uniform, zeros, ones, N(0, d_model^-0.5)."""
    w = {}
    for name, shape, init in parameter_specs(cfg, vocab):
        if init == 'zeros':
            t = torch.zeros(shape)
        elif init == 'ones':
            t = torch.ones(shape)
        elif init == 'embedding':
            t = torch.randn(shape) * cfg['d_model'] ** -0.5
        else:
            a = math.sqrt(6.0 / (shape[0] + shape[1]))
            t = torch.empty(shape).uniform_(-a, a)
        w[name] = torch.nn.Parameter(t.to(device))  # a Parameter, so torch.compile's CUDA graphs treat it as static
    return w


_sinusoid_cache = {}
_orig_sinusoids = ref.sinusoids


def _device_sinusoids(length, d):
    """ref.sinusoids, made once per (length, d, device) on the step's device (see the file comment)."""
    dev = _device_sinusoids.device
    key = (length, d, str(dev))
    if key not in _sinusoid_cache:
        _sinusoid_cache[key] = _orig_sinusoids(length, d).to(dev)
    return _sinusoid_cache[key]


_device_sinusoids.device = torch.device('cpu')
ref.sinusoids = _device_sinusoids  # ref.embed looks the name up at call time


def make_forward(cfg, device, cuda_dropout=False):
    """ref.forward with dropout and device-resident masks: the same calls in the same order.

    cuda_dropout: dropout through torch.native_dropout, which keeps a 1-byte bool mask for the
    backward as F.dropout does on CUDA (on the CPU F.dropout keeps a 4-byte float mask), so a CPU
    step allocates what a CUDA step allocates (tensor_peak)."""
    _device_sinusoids.device = device
    p = cfg['dropout']
    look_ahead = {}

    def drop(x):
        if p <= 0:
            return x
        return torch.native_dropout(x, p, True)[0] if cuda_dropout else F.dropout(x, p, training=True)

    def forward(w, src, tgt_in):
        shared = cfg['share_embeddings']
        B, s = src.shape
        t = tgt_in.shape[1]
        src_bias = ((src == ref.PAD).float() * ref.MASK_BIAS).view(B, 1, 1, s)
        x = drop(ref.embed(cfg, w, src, 'embedding/shared' if shared else 'encoder/embedding', 'encoder'))
        for l in range(cfg['layers']):
            q = f'encoder/{l}'
            x = ref.sublayer(cfg, w, q + '/self_attn_norm', x,
                             lambda h: drop(ref.attention(cfg, w, q + '/self_attn', h, h, src_bias)))
            x = ref.sublayer(cfg, w, q + '/ffn_norm', x, lambda h: drop(ref.ffn(w, q + '/ffn', h)))
        if cfg['norm'] == 'pre':
            x = ref.layer_norm(x, w, 'encoder/final_norm')
        memory = x
        if t not in look_ahead:
            look_ahead[t] = torch.triu(torch.full((t, t), ref.MASK_BIAS), diagonal=1).view(1, 1, t, t).to(device)
        tgt_bias = look_ahead[t] + ((tgt_in == ref.PAD).float() * ref.MASK_BIAS).view(B, 1, 1, t)
        y = drop(ref.embed(cfg, w, tgt_in, 'embedding/shared' if shared else 'decoder/embedding', 'decoder'))
        for l in range(cfg['layers']):
            q = f'decoder/{l}'
            y = ref.sublayer(cfg, w, q + '/self_attn_norm', y,
                             lambda h: drop(ref.attention(cfg, w, q + '/self_attn', h, h, tgt_bias)))
            y = ref.sublayer(cfg, w, q + '/cross_attn_norm', y,
                             lambda h: drop(ref.attention(cfg, w, q + '/cross_attn', h, memory, src_bias)))
            y = ref.sublayer(cfg, w, q + '/ffn_norm', y, lambda h: drop(ref.ffn(w, q + '/ffn', h)))
        if cfg['norm'] == 'pre':
            y = ref.layer_norm(y, w, 'decoder/final_norm')
        if shared:
            return y @ w['embedding/shared'].t()
        return y @ w['decoder/output_projection']

    return forward


def loss_non_pad(logits, targets, eps):
    """ref.smoothed_loss_non_pad without the dense target matrix: (1-eps)·NLL + eps·mean over the V-1 non-pad classes."""
    V = logits.shape[-1]
    logp = torch.log_softmax(logits.reshape(-1, V), dim=-1)
    y = targets.reshape(-1)
    mask = (y != ref.PAD).float()
    nll = -logp.gather(1, y[:, None]).squeeze(1)
    smooth = -(logp.sum(1) - logp[:, ref.PAD]) / (V - 1)
    return ((((1 - eps) * nll + eps * smooth) * mask).sum()) / mask.sum()


def random_batch(c, device, gen_seed=1):
    """A fixed random batch without padding, BOS/EOS placed as engine.bench.ts randomBatch does."""
    g = torch.Generator().manual_seed(gen_seed)
    src = torch.randint(4, c['vocab'], (c['batch'], c['src_len']), generator=g)
    body = torch.randint(4, c['vocab'], (c['batch'], c['tgt_len'] - 1), generator=g)
    tgt_in = torch.cat([torch.full((c['batch'], 1), BOS), body], 1)
    tgt_out = torch.cat([body, torch.full((c['batch'], 1), EOS)], 1)
    return src.to(device), tgt_in.to(device), tgt_out.to(device)


def self_check():
    """CPU: make_forward == ref.forward (dropout 0, padded batch), loss_non_pad == ref.smoothed_loss_non_pad."""
    torch.manual_seed(0)
    cfg = model_config(32, 4, 64, 2, dropout=0.0)
    vocab = 50
    w = init_weights(cfg, vocab, torch.device('cpu'))
    c = dict(vocab=vocab, batch=3, src_len=7, tgt_len=6)
    src, tgt_in, tgt_out = random_batch(c, 'cpu')
    src[0, 5:] = PAD
    tgt_in[1, 4:] = PAD
    tgt_out[1, 3:] = PAD
    ours = make_forward(cfg, torch.device('cpu'))(w, src, tgt_in)
    theirs = ref.forward(cfg, w, src, tgt_in)
    d_logits = (ours - theirs).abs().max().item()
    l1, l2 = loss_non_pad(ours, tgt_out, 0.1), ref.smoothed_loss_non_pad(theirs, tgt_out, 0.1)
    g1 = torch.autograd.grad(l1, w['encoder/0/ffn/w1'])[0]
    g2 = torch.autograd.grad(l2, w['encoder/0/ffn/w1'])[0]
    ok = d_logits == 0.0 and abs(l1.item() - l2.item()) < 1e-5 and torch.allclose(g1, g2, atol=1e-6, rtol=1e-4)

    def pattern():  # 4 MiB and 8 MiB live, 4 MiB freed, 4 MiB + 1 byte (rounded to 4 MiB + 512) made
        a = torch.empty(2**20)
        b = torch.empty(2**21)
        del a
        c = torch.empty(2**22 + 1, dtype=torch.uint8)
        return b, c
    peak = live_bytes_peak(pattern)
    peak_ok = peak == 2**23 + 2**22 + CUDA_BLOCK
    print(json.dumps({'kind': 'torch-self-check', 'ok': ok and peak_ok, 'max_abs_logits_diff': d_logits,
                      'loss': l1.item(), 'ref_loss': l2.item(), 'max_abs_grad_diff': (g1 - g2).abs().max().item(),
                      'tensor_peak_bytes': peak, 'tensor_peak_expected': 2**23 + 2**22 + CUDA_BLOCK}))
    ok = ok and peak_ok
    return ok


def is_oom(err):
    return 'out of memory' in str(err).lower() or type(err).__name__ == 'OutOfMemoryError'


class Step:
    """One configured training step in one mode; build() may raise (OOM, unsupported)."""

    def __init__(self, c, cfg, mode, dev, threads, cuda_pattern=False):
        """cuda_pattern (CPU, eager): allocate as an eager CUDA step does (tensor_peak)."""
        self.c, self.cfg, self.mode, self.dev, self.threads = c, cfg, mode, dev, threads
        torch.manual_seed(0)
        self.w = init_weights(cfg, c['vocab'], dev)
        self.params = list(self.w.values())
        self.src, self.tgt_in, self.tgt_out = random_batch(c, dev)
        forward = make_forward(cfg, dev, cuda_dropout=cuda_pattern)
        eps = cfg['label_smoothing']
        w = self.w

        def fwd_loss(src, tgt_in, tgt_out):
            return loss_non_pad(forward(w, src, tgt_in), tgt_out, eps)

        self.fwd_loss = fwd_loss
        kw = dict(lr=1e-4, betas=(0.9, 0.98), eps=1e-9)
        if mode == 'eager':
            # Adam's default on CUDA is foreach (whole-list temporaries); on the CPU single-tensor.
            self.opt = torch.optim.Adam(self.params, foreach=True, **kw) if cuda_pattern else torch.optim.Adam(self.params, **kw)
            self.run = self._eager
        elif mode == 'compile':
            self.opt = torch.optim.Adam(self.params, fused=True, **kw)
            mark = getattr(getattr(torch, '_dynamo', None), 'mark_static_address', None)
            for t in self.params if mark else ():
                mark(t)  # weights keep their addresses: no copy into the graphs' inputs each step
            self.compiled = torch.compile(fwd_loss, mode='reduce-overhead')
            self.run = self._compiled
        elif mode == 'graph':
            self.opt = torch.optim.Adam(self.params, capturable=True, **kw)
            self._capture()
            self.run = self._replay
        else:
            raise ValueError(f'unknown mode {mode}')

    def _eager(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.fwd_loss(self.src, self.tgt_in, self.tgt_out)
        loss.backward()
        self.opt.step()
        return loss.item()  # forces the step to finish, as the tfjs side reads its loss back

    def _compiled(self):
        mark = getattr(getattr(torch, 'compiler', None), 'cudagraph_mark_step_begin', None)
        if mark:
            mark()
        self.opt.zero_grad(set_to_none=True)
        loss = self.compiled(self.src, self.tgt_in, self.tgt_out)
        loss.backward()
        self.opt.step()
        return loss.item()

    def _capture(self):
        # PyTorch's whole-network capture recipe: warm up on a side stream, then capture once.
        self.static = [t.clone() for t in (self.src, self.tgt_in, self.tgt_out)]
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(3):
                self.opt.zero_grad(set_to_none=True)
                self.fwd_loss(*self.static).backward()
                self.opt.step()
        torch.cuda.current_stream().wait_stream(s)
        self.graph = torch.cuda.CUDAGraph()
        self.opt.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self.static_loss = self.fwd_loss(*self.static)
            self.static_loss.backward()
            self.opt.step()

    def _replay(self):
        for dst, src in zip(self.static, (self.src, self.tgt_in, self.tgt_out)):
            dst.copy_(src, non_blocking=True)  # a new batch's copy into the static inputs, as training would
        self.graph.replay()
        return self.static_loss.item()


def count_kernels(step):
    """CUDA kernels (and memcpy/memset) of one eager step, from torch.profiler; top kernels by GPU time."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step.run()
        torch.cuda.synchronize()
    events = [e for e in prof.events() if str(getattr(e, 'device_type', '')).endswith('CUDA')]
    mem = [e for e in events if e.name.startswith(('Memcpy', 'Memset'))]
    kernels = [e for e in events if not e.name.startswith(('Memcpy', 'Memset'))]
    by_name = {}
    for e in kernels:
        us = e.time_range.elapsed_us()
        n, t = by_name.get(e.name, (0, 0.0))
        by_name[e.name] = (n + 1, t + (us or 0.0))
    gpu_us = sum(t for _, t in by_name.values())
    top = sorted(by_name.items(), key=lambda kv: -kv[1][1])[:8]
    if not kernels:  # no CUPTI device events in this build: count the launch calls instead
        launches = [e for e in prof.events() if e.name in ('cudaLaunchKernel', 'cuLaunchKernel', 'cudaLaunchKernelExC', 'cuLaunchKernelEx')]
        graphs = [e for e in prof.events() if e.name == 'cudaGraphLaunch']
        return {'kernels_per_step': len(launches), 'kernels_source': 'launch calls', 'graph_launches_per_step': len(graphs)}
    return {'kernels_per_step': len(kernels), 'kernels_source': 'CUPTI', 'memcpy_memset_per_step': len(mem),
            'kernel_gpu_ms_per_step': gpu_us / 1000,
            'top_kernels': [{'name': k[:80], 'count': n, 'ms': t / 1000} for k, (n, t) in top]}


CUDA_BLOCK = 512  # the CUDA caching allocator rounds every allocation up to 512 bytes, and counts it so


def live_bytes_peak(fn):
    """Peak bytes of live CPU tensors while fn() runs, from torch.profiler's allocation records, each
    size rounded as the CUDA caching allocator rounds it: what torch.cuda.max_memory_allocated reports
    for the same allocations (after reset_peak_memory_stats, with nothing allocated before)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    records = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    records.sort(key=lambda e: e.start_us())  # stable: records of one microsecond keep their order
    live = peak = 0
    for e in records:
        n = e.nbytes()
        live += (1 if n > 0 else -1) * (-(-abs(n) // CUDA_BLOCK) * CUDA_BLOCK)
        peak = max(peak, live)
    return peak


def tensor_peak(c, cfg, threads, steps=2):
    """CPU: the bytes an eager CUDA step would hold at its peak (max_memory_allocated), measured on the
    CPU: weights built, `steps` steps (the first creates Adam's moments) with CUDA's dropout masks and
    foreach Adam. Not counted: cuBLAS's workspace (allocated through the caching allocator on CUDA,
    8-32 MB), so this is a lower bound of the CUDA figure."""
    _sinusoid_cache.clear()  # made inside the measured region, as on a fresh CUDA device

    def run():
        step = Step(c, cfg, 'eager', torch.device('cpu'), threads, cuda_pattern=True)
        for _ in range(steps):
            step.run()
        del step
    return live_bytes_peak(run)


def measure(c, cfg, mode, dev, steps, warmup, threads, want_kernels):
    step = Step(c, cfg, mode, dev, threads)
    t_build = time.perf_counter()
    for _ in range(warmup):
        step.run()
    if dev.type == 'cuda':
        torch.cuda.synchronize()
    warm_s = time.perf_counter() - t_build
    times = []
    loss = float('nan')
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step.run()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    out = {'ms_per_step': med * 1000, 'ms_min': min(times) * 1000, 'ms_max': max(times) * 1000,
           'steps': steps, 'warmup_steps': warmup, 'warmup_s': round(warm_s, 2), 'loss': loss,
           'tokens_per_second': c['batch'] * c['tgt_len'] / med,
           'params': sum(p.numel() for p in step.params)}
    if dev.type == 'cpu' and mode == 'eager':
        del step
        gc.collect()
        out['tensor_peak_mb'] = tensor_peak(c, cfg, threads) / 2**20
        return out
    if dev.type == 'cuda':
        out['cuda_peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
        if want_kernels:  # eager: the launches PyTorch makes; compile: what inductor fused them to
            try:
                out.update(count_kernels(step))
            except Exception as err:  # noqa: BLE001 - the profiler differs across versions; the timing stands
                out['kernels_error'] = str(err).split('\n')[0][:200]
    del step
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', default='A', help='named configs, comma-separated: A,B,base (dims below override each)')
    for name in ('vocab', 'd-model', 'heads', 'd-ff', 'layers', 'batch', 'src-len', 'tgt-len'):
        ap.add_argument(f'--{name}', type=int)
    ap.add_argument('--steps', type=int, help='timed steps (default 20; base 10)')
    ap.add_argument('--warmup-steps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--modes', default='eager', help='eager,graph,compile')
    ap.add_argument('--no-kernels', action='store_true', help='skip the profiled step (CUDA kernels per step)')
    ap.add_argument('--tf32', action='store_true', help='allow TF32 matmuls (default: fp32, like the WebGPU engines)')
    ap.add_argument('--dropout', type=float, default=0.1)
    ap.add_argument('--label', default='', help='copied into every JSON line (the device check names its runs)')
    ap.add_argument('--self-check', action='store_true')
    a = ap.parse_args()
    if a.self_check:
        sys.exit(0 if self_check() else 1)
    names = [n.strip() for n in a.config.split(',') if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        ap.error(f'unknown config {unknown[0]!r} (A, B or base)')
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    for name in names:
        run_config(a, name, dev)


def run_config(a, name, dev):
    c = dict(CONFIGS[name])
    for k in ('vocab', 'd_model', 'heads', 'd_ff', 'layers', 'batch', 'src_len', 'tgt_len'):
        if getattr(a, k) is not None:
            c[k] = getattr(a, k)
    steps = a.steps if a.steps is not None else (10 if name == 'base' else 20)
    cfg = model_config(c['d_model'], c['heads'], c['d_ff'], c['layers'], a.dropout)
    major = int(torch.__version__.split('.')[0])
    base = {'kind': 'torch', 'label': a.label, 'config': name if c == CONFIGS[name] else f'{name}*', 'torch': torch.__version__,
            'device': torch.cuda.get_device_name(0) if dev.type == 'cuda' else f"CPU ({a.threads} thread{'s' if a.threads > 1 else ''})",
            'threads': a.threads, 'tf32': a.tf32, 'dims': c}  # config "base*": base with dims changed
    for mode in [m.strip() for m in a.modes.split(',') if m.strip()]:
        row = dict(base, mode=mode)
        if mode == 'compile' and (major < 2 or not hasattr(torch, 'compile')):
            row['skipped'] = f'torch.compile needs PyTorch >= 2 (this is {torch.__version__})'
        elif mode in ('graph', 'compile') and dev.type != 'cuda':
            row['skipped'] = f'{mode} needs CUDA'
        else:
            batch = c['batch']
            while True:
                if dev.type == 'cuda':
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                try:
                    t0 = time.perf_counter()
                    row.update(measure(dict(c, batch=batch), cfg, mode, dev, steps, a.warmup_steps, a.threads, not a.no_kernels))
                    row['total_s'] = round(time.perf_counter() - t0, 2)
                    break
                except Exception as err:  # noqa: BLE001 - one mode's failure must not hide the others
                    if dev.type == 'cuda' and is_oom(err) and batch > 1:
                        del err
                        gc.collect()
                        batch //= 2
                        row['batch_note'] = f'out of memory at batch {batch * 2}; halved'
                        continue
                    row['skipped'] = f'{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ""}'
                    break
            row['batch'] = batch
            row['target_tokens'] = batch * c['tgt_len']
        row['max_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(row), flush=True)
        gc.collect()


if __name__ == '__main__':
    main()
