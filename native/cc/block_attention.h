// Grouped-query causal attention of the fused decoder block (block_attention.cc): the forward
// pass with its KV cache, and the backward pass, by loops for short sequences and by matrix
// products for long ones.
#pragma once
#include <cstdint>
#include "block_layout.h"

namespace e3::block {

// Attention by matrix products from this much score work per (sequence, head) on (T·S·hd):
// below it, per-call overhead makes the loops faster (the d=64 teacher's T≈9 batches).
constexpr int64_t kMinAttentionGemm = 16384;

// Attention for d.B sequences (pointers at the first one): the KV cache written when kept, then
// probs and ctx from the rotated queries and keys (s.qr, s.kr, s.v → s.probs, s.ctx).
void attendRows(const Dims& d, const Saved& s, const ForwardIO& io);

// Backward of attention (no cache), by loops: dq, and dk, dv in row layout [N, KV·hd].
void attentionBack(const float* __restrict dctx, const float* __restrict q, const float* __restrict k, const float* __restrict v, const float* __restrict probs,
                   float* __restrict dq, float* __restrict dk, float* __restrict dv, const Dims& d);
// The same by matrix products per (sequence, head).
void attentionBackGemm(const float* __restrict dctx, const float* __restrict q, const float* __restrict k, const float* __restrict v, const float* __restrict probs,
                       float* __restrict dq, float* __restrict dk, float* __restrict dv, const Dims& d);

}  // namespace e3::block
