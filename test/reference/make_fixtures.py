#!/usr/bin/python3
"""Builds tiny random Hugging Face-format checkpoints (Llama, Qwen2, Qwen3) and records
reference logits and greedy generations, computed here from the Hugging Face modelling
equations in plain PyTorch (written independently of the TypeScript decoder).

Run: /usr/bin/python3 test/reference/make_fixtures.py   (needs Debian's python3-torch only)
Outputs test/fixtures/<name>/ (config.json, safetensors, reference.json). Committed, so
CI needs no Python.
"""
import json, math, os, struct, sys
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', 'fixtures')
torch.manual_seed(0)

FIXTURES = {
    # name: (config, storage dtype, shards)
    'tiny-llama': (dict(model_type='llama', vocab_size=48, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, rope_theta=10000.0,
                        tie_word_embeddings=True, max_position_embeddings=64, attention_bias=False,
                        rope_scaling=dict(rope_type='llama3', factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                          original_max_position_embeddings=16)), 'F32', 1),
    'tiny-qwen2': (dict(model_type='qwen2', vocab_size=40, hidden_size=32, intermediate_size=48, num_hidden_layers=4,
                        num_attention_heads=4, num_key_value_heads=1, rms_norm_eps=1e-6, rope_theta=1000000.0,
                        tie_word_embeddings=False, max_position_embeddings=64), 'BF16', 2),
    'tiny-qwen3': (dict(model_type='qwen3', vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6, rope_theta=1000000.0,
                        tie_word_embeddings=False, max_position_embeddings=64, attention_bias=False), 'F32', 1),
}
IDS = [[3, 17, 9, 22, 5, 11, 30, 2], [7, 7, 1, 0, 19, 4, 12, 8]]


def rms(x, w, eps):
    x = x.float()
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def inv_freq(c):
    hd = c.get('head_dim') or c['hidden_size'] // c['num_attention_heads']
    inv = 1.0 / (c['rope_theta'] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = c.get('rope_scaling')
    if rs and rs.get('rope_type') == 'llama3':
        old = rs['original_max_position_embeddings']
        low_wl, high_wl = old / rs['low_freq_factor'], old / rs['high_freq_factor']
        wl = 2 * math.pi / inv
        scaled = torch.where(wl > low_wl, inv / rs['factor'], inv)
        smooth = (old / wl - rs['low_freq_factor']) / (rs['high_freq_factor'] - rs['low_freq_factor'])
        smoothed = (1 - smooth) * scaled / rs['factor'] + smooth * scaled
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rot_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def forward(c, W, ids, mask=None):
    """Logits [B, T, V] of the decoder, with block l skipped when mask[l] == 0."""
    ids = torch.tensor(ids)
    B, T = ids.shape
    H, KV = c['num_attention_heads'], c['num_key_value_heads']
    hd = c.get('head_dim') or c['hidden_size'] // H
    eps = c['rms_norm_eps']
    pos = torch.arange(T).float()
    freqs = torch.outer(pos, inv_freq(c))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    h = W['model.embed_tokens.weight'][ids]
    causal = torch.full((T, T), float('-inf')).triu(1)
    for l in range(c['num_hidden_layers']):
        m = 1.0 if mask is None else float(mask[l])
        p = f'model.layers.{l}.'
        lin = lambda x, n: x @ W[p + n + '.weight'].T + (W[p + n + '.bias'] if p + n + '.bias' in W else 0)
        x = rms(h, W[p + 'input_layernorm.weight'], eps)
        q = lin(x, 'self_attn.q_proj').view(B, T, H, hd).transpose(1, 2)
        k = lin(x, 'self_attn.k_proj').view(B, T, KV, hd).transpose(1, 2)
        v = lin(x, 'self_attn.v_proj').view(B, T, KV, hd).transpose(1, 2)
        if c['model_type'] == 'qwen3':
            q = rms(q, W[p + 'self_attn.q_norm.weight'], eps)
            k = rms(k, W[p + 'self_attn.k_norm.weight'], eps)
        q = q * cos + rot_half(q) * sin
        k = k * cos + rot_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + causal, dim=-1) @ v
        h = h + m * lin(att.transpose(1, 2).reshape(B, T, H * hd), 'self_attn.o_proj')
        x = rms(h, W[p + 'post_attention_layernorm.weight'], eps)
        g = lin(x, 'mlp.gate_proj')
        h = h + m * lin(torch.nn.functional.silu(g) * lin(x, 'mlp.up_proj'), 'mlp.down_proj')
    h = rms(h, W['model.norm.weight'], eps)
    head = W['model.embed_tokens.weight'] if c['tie_word_embeddings'] else W['lm_head.weight']
    return h @ head.T


def greedy(c, W, prompt, n):
    ids = list(prompt)
    for _ in range(n):
        ids.append(int(forward(c, W, [ids])[0, -1].argmax()))
    return ids[len(prompt):]


def make_weights(c):
    d, I, V = c['hidden_size'], c['intermediate_size'], c['vocab_size']
    H, KV = c['num_attention_heads'], c['num_key_value_heads']
    hd = c.get('head_dim') or d // H
    W = {'model.embed_tokens.weight': torch.randn(V, d) * 0.5, 'model.norm.weight': 1 + 0.1 * torch.randn(d)}
    if not c['tie_word_embeddings']:
        W['lm_head.weight'] = torch.randn(V, d) * 0.2
    for l in range(c['num_hidden_layers']):
        p = f'model.layers.{l}.'
        W[p + 'input_layernorm.weight'] = 1 + 0.1 * torch.randn(d)
        W[p + 'post_attention_layernorm.weight'] = 1 + 0.1 * torch.randn(d)
        for n, shape in [('q_proj', (H * hd, d)), ('k_proj', (KV * hd, d)), ('v_proj', (KV * hd, d)), ('o_proj', (d, H * hd))]:
            W[p + 'self_attn.' + n + '.weight'] = torch.randn(*shape) * 0.2
        if c['model_type'] == 'qwen2':
            for n, size in [('q_proj', H * hd), ('k_proj', KV * hd), ('v_proj', KV * hd)]:
                W[p + 'self_attn.' + n + '.bias'] = torch.randn(size) * 0.1
        if c['model_type'] == 'qwen3':
            W[p + 'self_attn.q_norm.weight'] = 1 + 0.1 * torch.randn(hd)
            W[p + 'self_attn.k_norm.weight'] = 1 + 0.1 * torch.randn(hd)
        W[p + 'mlp.gate_proj.weight'] = torch.randn(I, d) * 0.2
        W[p + 'mlp.up_proj.weight'] = torch.randn(I, d) * 0.2
        W[p + 'mlp.down_proj.weight'] = torch.randn(d, I) * 0.2
    return W


def to_bytes(t, dtype):
    t = t.contiguous()
    if dtype == 'F32':
        return t.float().numpy().tobytes()
    return t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()


def save_safetensors(path, tensors, dtype):
    header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
    for name in sorted(tensors):
        b = to_bytes(tensors[name], dtype)
        header[name] = {'dtype': dtype, 'shape': list(tensors[name].shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


for name, (c, dtype, shards) in FIXTURES.items():
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    W = make_weights(c)
    if dtype == 'BF16':  # the reference sees exactly what the file stores
        W = {k: v.to(torch.bfloat16).float() for k, v in W.items()}
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump({**c, 'architectures': [{'llama': 'LlamaForCausalLM', 'qwen2': 'Qwen2ForCausalLM', 'qwen3': 'Qwen3ForCausalLM'}[c['model_type']]],
                   'torch_dtype': 'bfloat16' if dtype == 'BF16' else 'float32'}, f, indent=2)
    names = sorted(W)
    if shards == 1:
        save_safetensors(os.path.join(d, 'model.safetensors'), W, dtype)
    else:
        per = math.ceil(len(names) / shards)
        weight_map = {}
        for s in range(shards):
            fn = f'model-{s + 1:05d}-of-{shards:05d}.safetensors'
            part = {n: W[n] for n in names[s * per:(s + 1) * per]}
            save_safetensors(os.path.join(d, fn), part, dtype)
            weight_map.update({n: fn for n in part})
        with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {}, 'weight_map': weight_map}, f, indent=2)
    L = c['num_hidden_layers']
    mask = [1] * L
    mask[1] = 0
    with torch.no_grad():
        ref = {'ids': IDS, 'mask': mask,
               'logits': forward(c, W, IDS).tolist(),
               'maskedLogits': forward(c, W, IDS, mask).tolist(),
               'greedyPrompt': IDS[0][:4], 'greedy': greedy(c, W, IDS[0][:4], 6)}
    with open(os.path.join(d, 'reference.json'), 'w') as f:
        json.dump(ref, f)
    print('wrote', d)
