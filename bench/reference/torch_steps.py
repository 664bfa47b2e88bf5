#!/usr/bin/python3
"""PyTorch reference for the training-throughput table (bench/throughput.js): the same
decoder (Qwen3/Llama/Qwen2 equations, written here independently), the same checkpoint and
the same batches, timing a mask-search step (gradients to the L mask logits only), a
distillation step (all weights, AdamW) and greedy decoding with a KV cache.
Input: a JSON file {model_dir, ids, attention, prompts, new_tokens, repeats, warmup?, steps?, autocast?}
(steps: which of search, distill, decode to time; all by default; autocast: the forward passes under
torch.autocast("cpu", dtype=torch.bfloat16), as a PyTorch user trains in mixed precision); prints JSON.
Uses Debian's python3-torch only; never a runtime dependency of the project."""
import contextlib, json, math, resource, struct, sys, time
import os
import torch
if os.environ.get("E3_TORCH_THREADS"):
    torch.set_num_threads(int(os.environ["E3_TORCH_THREADS"]))

args = json.load(open(sys.argv[1]))
d = args['model_dir']
c = json.load(open(f'{d}/config.json'))

def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    h = json.loads(raw[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        buf = raw[8 + n + a:8 + n + b]
        if v['dtype'] == 'F32':
            t = torch.frombuffer(bytearray(buf), dtype=torch.float32)
        else:
            t = torch.frombuffer(bytearray(buf), dtype=torch.int16).view(torch.bfloat16 if v['dtype'] == 'BF16' else torch.float16).float()
        out[k] = t.reshape(v['shape']).clone()
    return out

W = load(f'{d}/model.safetensors')
L, H, KV = c['num_hidden_layers'], c['num_attention_heads'], c['num_key_value_heads']
hd = c.get('head_dim') or c['hidden_size'] // H
eps = c['rms_norm_eps']
inv = 1.0 / (c.get('rope_theta', 10000.0) ** (torch.arange(0, hd, 2).float() / hd))

def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

def rot(x):
    a, b = x.chunk(2, -1)
    return torch.cat((-b, a), -1)

def forward(ids, mask=None, cache=None, pos0=0, attn=None):
    B, T = ids.shape
    pos = torch.arange(pos0, pos0 + T).float()
    e = torch.cat([torch.outer(pos, inv)] * 2, -1)
    cos, sin = e.cos()[None, None], e.sin()[None, None]
    h = W['model.embed_tokens.weight'][ids]
    S = pos0 + T
    bias = torch.full((T, S), float('-inf')).triu(pos0 + 1)
    new_cache = []
    for l in range(L):
        p = f'model.layers.{l}.'
        x = rms(h, W[p + 'input_layernorm.weight'])
        q = (x @ W[p + 'self_attn.q_proj.weight'].T).view(B, T, H, hd).transpose(1, 2)
        k = (x @ W[p + 'self_attn.k_proj.weight'].T).view(B, T, KV, hd).transpose(1, 2)
        v = (x @ W[p + 'self_attn.v_proj.weight'].T).view(B, T, KV, hd).transpose(1, 2)
        if c['model_type'] == 'qwen3':
            q, k = rms(q, W[p + 'self_attn.q_norm.weight']), rms(k, W[p + 'self_attn.k_norm.weight'])
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        if cache is not None:
            k, v = torch.cat([cache[l][0], k], 2), torch.cat([cache[l][1], v], 2)
        new_cache.append((k, v))
        kk, vv = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        a = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(hd) + bias, -1) @ vv
        m = 1.0 if mask is None else mask[l]
        h = h + m * (a.transpose(1, 2).reshape(B, T, H * hd) @ W[p + 'self_attn.o_proj.weight'].T)
        x = rms(h, W[p + 'post_attention_layernorm.weight'])
        g = x @ W[p + 'mlp.gate_proj.weight'].T
        h = h + m * ((torch.nn.functional.silu(g) * (x @ W[p + 'mlp.up_proj.weight'].T)) @ W[p + 'mlp.down_proj.weight'].T)
    h = rms(h, W['model.norm.weight'])
    head = W.get('lm_head.weight', W['model.embed_tokens.weight'])
    return h @ head.T, new_cache

def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB

ids = torch.tensor(args['ids'])
act = torch.tensor(args['attention']).float()
tokens = int(act.sum())
with torch.no_grad():
    teacher = torch.log_softmax(forward(ids)[0], -1)

def kl_loss(logits):
    logq = torch.log_softmax(logits, -1)
    return ((teacher.exp() * (teacher - logq)).sum(-1) * act).sum() / act.sum()

AUTOCAST = bool(args.get('autocast'))
def precision():
    """bf16 autocast for a forward pass when asked (backward runs outside it, as PyTorch advises)."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if AUTOCAST else contextlib.nullcontext()

WARMUP = args.get('warmup', 5)
STEPS = args.get('steps', ['search', 'distill', 'decode'])

def timed(fn, repeats):
    for _ in range(WARMUP):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return min(ts)  # best of the repeats, as bench/throughput.js does

alpha = torch.zeros(L, requires_grad=True)
opt_a = torch.optim.Adam([alpha], lr=0.1)
def search_step():
    m = torch.sigmoid(alpha)  # same cost profile: every block gated by a differentiable scalar
    opt_a.zero_grad()
    with precision():
        loss = kl_loss(forward(ids, mask=m)[0])
    loss.backward(); opt_a.step()

def distill_step():
    opt_w.zero_grad()
    with precision():
        loss = kl_loss(forward(ids)[0])
    loss.backward(); opt_w.step()

# The search differentiates to the mask only (frozen weights), as e3's does.
search_s = timed(search_step, args['repeats']) if 'search' in STEPS else None
params = [t.requires_grad_() for t in W.values()]
opt_w = torch.optim.AdamW(params, lr=1e-4)
distill_s = timed(distill_step, args['repeats']) if 'distill' in STEPS else None
for t in W.values():
    t.requires_grad_(False)

prompts = torch.tensor(args['prompts'])
def decode():
    with torch.no_grad(), precision():
        logits, cache = forward(prompts)
        nxt = logits[:, -1].argmax(-1, keepdim=True)
        pos = prompts.shape[1]
        for _ in range(args['new_tokens'] - 1):
            logits, cache = forward(nxt, cache=cache, pos0=pos)
            nxt = logits[:, -1].argmax(-1, keepdim=True)
            pos += 1
decode_s = timed(decode, args['repeats']) if 'decode' in STEPS else None
rate = lambda n, s: None if s is None else n / s
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'tokens': tokens,
                  'autocast': AUTOCAST,
                  'search': rate(tokens, search_s), 'distill': rate(tokens, distill_s),
                  'decode': rate(prompts.shape[0] * args['new_tokens'], decode_s),
                  'peak_rss': peak_rss()}))
