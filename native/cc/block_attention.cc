// Grouped-query causal attention of the fused decoder block: see block_attention.h.
#include "block_attention.h"
#include <cmath>
#include <cstring>
#include <vector>

namespace e3::block {
namespace {

// exp(x) for x ≤ 0 inside a softmax: masked scores (−1e9) would send expf down its slow
// underflow path; below −80 the term is < 2e-35 of the row's largest (which is 1), so 0.
inline float softmaxExp(float x) { const float e = std::exp(x < -80.0f ? -80.0f : x); return x < -80.0f ? 0.0f : e; }

// Keys/values addressed as [B, KV, S, hd] through strides (row layout [N, KV·hd] or cache layout).
struct KvView { const float* base; int64_t sb, skv, ss; const float* at(int64_t b, int64_t kv, int64_t j) const { return base + b * sb + kv * skv + j * ss; } };

// One row of attention probabilities in place: scores p[0..S) get the bias decoder.ts builds,
// −1e9·(1 − causal·attn) with key j causal when j ≤ last, then softmax (exp(x − max) / sum).
void maskedSoftmax(float* __restrict p, int64_t S, int64_t last, const float* __restrict attn) {
  float mx = -3.0e38f;
  for (int64_t j = 0; j < S; j++) {
    const float allowed = (j <= last ? 1.0f : 0.0f) * attn[j];
    p[j] = p[j] + (1.0f - allowed) * -1e9f;
    mx = p[j] > mx ? p[j] : mx;
  }
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < S; j++) { p[j] = softmaxExp(p[j] - mx); sum += p[j]; }
#pragma omp simd
  for (int64_t j = 0; j < S; j++) p[j] /= sum;
}

// Causal attention with padding: probs = softmax(q·kᵀ/√hd + bias), bias = −1e9·(1 − causal·attn)
// exactly as decoder.ts builds it; ctx = probs·v. q, ctx: [N, H·hd]; probs: [B, H, T, S].
void attention(const float* __restrict q, KvView K, KvView V, const float* __restrict attn, float* __restrict probs, float* __restrict ctx, const Dims& d) {
  const int64_t G = d.H / d.KV, S = d.S();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  for (int64_t b = 0; b < d.B; b++) for (int64_t h = 0; h < d.H; h++) {
    const int64_t kv = h / G;
    for (int64_t i = 0; i < d.T; i++) {
      const float* qi = q + ((b * d.T + i) * d.H + h) * d.hd;
      float* p = probs + ((b * d.H + h) * d.T + i) * S;
      for (int64_t j = 0; j < S; j++) {
        const float* __restrict kj = K.at(b, kv, j);
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t e = 0; e < d.hd; e++) dot += qi[e] * kj[e];
        p[j] = dot * scale;
      }
      maskedSoftmax(p, S, d.P + i, attn + b * S);
      float* __restrict c = ctx + ((b * d.T + i) * d.H + h) * d.hd;
      std::memset(c, 0, d.hd * sizeof(float));
      for (int64_t j = 0; j < S; j++) {
        const float* __restrict vj = V.at(b, kv, j);
        const float pj = p[j];
#pragma omp simd
        for (int64_t e = 0; e < d.hd; e++) c[e] += pj * vj[e];
      }
    }
  }
}

// The same with matrix products per (sequence, head) — scores = q·kᵀ·scale, softmax with the
// bias in place, ctx = probs·v — for sequences long enough that products beat the loops.
void attentionGemm(const float* __restrict q, KvView K, KvView V, const float* __restrict attn, float* __restrict probs, float* __restrict ctx, const Dims& d) {
  const int64_t G = d.H / d.KV, S = d.S(), qs = d.Q();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  for (int64_t b = 0; b < d.B; b++) for (int64_t h = 0; h < d.H; h++) {
    const int64_t kv = h / G;
    float* P = probs + (b * d.H + h) * d.T * S;
    e3::gemm(d.T, S, d.hd, scale, f32(q + b * d.T * qs + h * d.hd, qs), f32(K.at(b, kv, 0), K.ss, true), 0.0f, P, S);
    for (int64_t i = 0; i < d.T; i++) maskedSoftmax(P + i * S, S, d.P + i, attn + b * S);
    e3::gemm(d.T, d.hd, S, 1.0f, f32(P, S), f32(V.at(b, kv, 0), V.ss), 0.0f, ctx + b * d.T * qs + h * d.hd, qs);
  }
}

}  // namespace

// Backward of attention (no cache): dp = dctx·v, ds = p·(dp − Σ p·dp), dq = Σ ds·k/√hd,
// dk = Σ ds·q/√hd, dv = Σ p·dctx. k, v, dk, dv in row layout [N, KV·hd].
void attentionBack(const float* __restrict dctx, const float* __restrict q, const float* __restrict k, const float* __restrict v, const float* __restrict probs,
                   float* __restrict dq, float* __restrict dk, float* __restrict dv, const Dims& d) {
  const int64_t G = d.H / d.KV, S = d.T, kd = d.K();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  static thread_local std::vector<float> ds;
  ds.resize(S);
  std::memset(dk, 0, d.N() * kd * sizeof(float));
  std::memset(dv, 0, d.N() * kd * sizeof(float));
  for (int64_t b = 0; b < d.B; b++) for (int64_t h = 0; h < d.H; h++) {
    const int64_t kv = h / G;
    for (int64_t i = 0; i < d.T; i++) {
      const int64_t row = (b * d.T + i) * d.H + h;
      const float* __restrict dc = dctx + row * d.hd; const float* __restrict qi = q + row * d.hd; float* __restrict dqi = dq + row * d.hd;
      const float* p = probs + ((b * d.H + h) * d.T + i) * S;
      float pdp = 0;
      for (int64_t j = 0; j < S; j++) {
        const float* __restrict vj = v + (b * d.T + j) * kd + kv * d.hd;
        float dp = 0;
#pragma omp simd reduction(+ : dp)
        for (int64_t e = 0; e < d.hd; e++) dp += dc[e] * vj[e];
        ds[j] = dp; pdp += p[j] * dp;
      }
      std::memset(dqi, 0, d.hd * sizeof(float));
      for (int64_t j = 0; j < S; j++) {
        const float dsj = p[j] * (ds[j] - pdp) * scale, pj = p[j];
        const int64_t at = (b * d.T + j) * kd + kv * d.hd;
        const float* __restrict kj = k + at; float* __restrict dkj = dk + at; float* __restrict dvj = dv + at;
#pragma omp simd
        for (int64_t e = 0; e < d.hd; e++) { dqi[e] += dsj * kj[e]; dkj[e] += dsj * qi[e]; dvj[e] += pj * dc[e]; }
      }
    }
  }
}

// attentionBack by matrix products per (sequence, head): dP = dctx·vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP))·scale;
// dq = dS·k; dk += dSᵀ·q; dv += Pᵀ·dctx.
void attentionBackGemm(const float* __restrict dctx, const float* __restrict q, const float* __restrict k, const float* __restrict v, const float* __restrict probs,
                       float* __restrict dq, float* __restrict dk, float* __restrict dv, const Dims& d) {
  const int64_t G = d.H / d.KV, T = d.T, kd = d.K(), qs = d.Q();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d.hd));
  static thread_local std::vector<float> dsBuf;
  dsBuf.resize(T * T);
  float* dS = dsBuf.data();
  std::memset(dk, 0, d.N() * kd * sizeof(float));
  std::memset(dv, 0, d.N() * kd * sizeof(float));
  for (int64_t b = 0; b < d.B; b++) for (int64_t h = 0; h < d.H; h++) {
    const int64_t kv = h / G;
    const float* P = probs + (b * d.H + h) * T * T;
    const float* dC = dctx + b * T * qs + h * d.hd;
    const int64_t kvAt = b * T * kd + kv * d.hd;
    e3::gemm(T, T, d.hd, 1.0f, f32(dC, qs), f32(v + kvAt, kd, true), 0.0f, dS, T);
    for (int64_t i = 0; i < T; i++) {
      const float* __restrict pi = P + i * T; float* __restrict di = dS + i * T;
      float pdp = 0;
#pragma omp simd reduction(+ : pdp)
      for (int64_t j = 0; j < T; j++) pdp += pi[j] * di[j];
#pragma omp simd
      for (int64_t j = 0; j < T; j++) di[j] = pi[j] * (di[j] - pdp) * scale;
    }
    e3::gemm(T, d.hd, T, 1.0f, f32(dS, T), f32(k + kvAt, kd), 0.0f, dq + b * T * qs + h * d.hd, qs);
    e3::gemm(T, d.hd, T, 1.0f, f32(dS, T, true), f32(q + b * T * qs + h * d.hd, qs), 1.0f, dk + kvAt, kd);
    e3::gemm(T, d.hd, T, 1.0f, f32(P, T, true), f32(dC, qs), 1.0f, dv + kvAt, kd);
  }
}

// Attention for d.B sequences (pointers at the first one): the KV cache written when kept, then
// probs and ctx from the rotated queries and keys.
void attendRows(const Dims& d, const Saved& s, const ForwardIO& io) {
  const int64_t S = d.S();
  KvView K{s.kr, d.T * d.K(), d.hd, d.K()}, V{s.v, d.T * d.K(), d.hd, d.K()};
  if (io.newK && io.newV) {
    // Cache layout [B, KV, S, hd]: the past first, then this call's positions.
    for (int64_t b = 0; b < d.B; b++) for (int64_t kv = 0; kv < d.KV; kv++) {
      float* ck = io.newK + (b * d.KV + kv) * S * d.hd; float* cv = io.newV + (b * d.KV + kv) * S * d.hd;
      if (d.P > 0) {
        std::memcpy(ck, io.pastK + (b * d.KV + kv) * d.P * d.hd, d.P * d.hd * sizeof(float));
        std::memcpy(cv, io.pastV + (b * d.KV + kv) * d.P * d.hd, d.P * d.hd * sizeof(float));
      }
      for (int64_t t = 0; t < d.T; t++) {
        std::memcpy(ck + (d.P + t) * d.hd, s.kr + (b * d.T + t) * d.K() + kv * d.hd, d.hd * sizeof(float));
        std::memcpy(cv + (d.P + t) * d.hd, s.v + (b * d.T + t) * d.K() + kv * d.hd, d.hd * sizeof(float));
      }
    }
    K = {io.newK, d.KV * S * d.hd, S * d.hd, d.hd};
    V = {io.newV, d.KV * S * d.hd, S * d.hd, d.hd};
  }
  if (d.T * S * d.hd >= kMinAttentionGemm) attentionGemm(s.qr, K, V, io.attn, s.probs, s.ctx, d);
  else attention(s.qr, K, V, io.attn, s.probs, s.ctx, d);
}

}  // namespace e3::block
