// The shapes and buffers of one fused decoder block call (decoder_block.cc): its dimensions,
// the activations kept for the backward pass, its weights, and the forward pass's inputs and
// outputs for a range of sequences. Header only: every kernel file of the block shares them.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include "args.h"
#include "gemm.h"

namespace e3::block {

struct Dims {
  int64_t B, T, P, D, H, KV, hd, F;
  float eps;
  int64_t N() const { return B * T; }
  int64_t S() const { return P + T; }
  int64_t Q() const { return H * hd; }
  std::string describe() const {
    return "dims B=" + std::to_string(B) + " T=" + std::to_string(T) + " P=" + std::to_string(P) + " D=" + std::to_string(D) +
           " H=" + std::to_string(H) + " KV=" + std::to_string(KV) + " hd=" + std::to_string(hd) + " F=" + std::to_string(F);
  }
  int64_t K() const { return KV * hd; }
  // Multiply-adds of the block's projections (what decides whether to split it across threads).
  double work() const { return static_cast<double>(N()) * D * (2 * Q() + 2 * K() + 3 * F); }
  // Multiply-adds of the block's largest projection: what decides its products' precision under auto
  // (e3::CallPrecision; native/src/decoder-block.ts makes bf16 copies of the weights by the same rule).
  double largestProduct() const { return static_cast<double>(N()) * D * std::max(F, Q()); }
  // Bytes of the block's projection weights (f32).
  double weightBytes() const { return 4.0 * D * (2 * Q() + 2 * K() + 3 * F); }
};

// Activations kept from the forward pass for the backward pass, packed in one buffer.
struct Saved {
  float *xn1, *r1, *q, *k, *rq, *rk, *qr, *kr, *v, *probs, *ctx, *a, *h1, *r2, *xn2, *g, *u, *act, *m;
  static int64_t size(const Dims& d) {
    const int64_t N = d.N();
    return N * d.D + N + N * d.Q() + N * d.K() + N * d.H + N * d.KV + N * d.Q() + N * d.K() + N * d.K()
         + d.B * d.H * d.T * d.S() + N * d.Q() + N * d.D + N * d.D + N + N * d.D + 3 * N * d.F + N * d.D;
  }
  Saved(float* base, const Dims& d) {
    const int64_t N = d.N();
    float* p = base;
    auto take = [&p](int64_t n) { float* r = p; p += n; return r; };
    xn1 = take(N * d.D); r1 = take(N); q = take(N * d.Q()); k = take(N * d.K()); rq = take(N * d.H); rk = take(N * d.KV);
    qr = take(N * d.Q()); kr = take(N * d.K()); v = take(N * d.K()); probs = take(d.B * d.H * d.T * d.S());
    ctx = take(N * d.Q()); a = take(N * d.D); h1 = take(N * d.D); r2 = take(N); xn2 = take(N * d.D);
    g = take(N * d.F); u = take(N * d.F); act = take(N * d.F); m = take(N * d.D);
  }
  // The same arrays from sequence b0 on (every array is laid out by row, probs by sequence).
  Saved from(const Dims& d, int64_t b0) const {
    Saved x = *this;
    const int64_t r = b0 * d.T;
    x.xn1 += r * d.D; x.r1 += r; x.q += r * d.Q(); x.k += r * d.K(); x.rq += r * d.H; x.rk += r * d.KV;
    x.qr += r * d.Q(); x.kr += r * d.K(); x.v += r * d.K(); x.probs += b0 * d.H * d.T * d.S();
    x.ctx += r * d.Q(); x.a += r * d.D; x.h1 += r * d.D; x.r2 += r; x.xn2 += r * d.D;
    x.g += r * d.F; x.u += r * d.F; x.act += r * d.F; x.m += r * d.D;
    return x;
  }
};

// The block's parameters (HF layout, projections [out, in]); absent ones are null.
// A projection weight [out, in]: f32, or bf16 (a frozen model) converted to f32 where it is used.
using Matrix = e3::Args::Matrix;

struct Weights {
  float *inNorm, *postNorm, *bq, *bk, *bv, *bo, *qNorm, *kNorm, *bg, *bu, *bd;
  Matrix wq, wk, wv, wo, wg, wu, wd;
  Weights(const e3::Args& a, napi_value t, const Dims& d) {
    const int64_t D = d.D, F = d.F, Q = d.Q(), K = d.K();
    inNorm = a.need(t, "inputNorm", D); postNorm = a.need(t, "postAttentionNorm", D);
    wq = a.matrix(t, "q", Q * D); wk = a.matrix(t, "k", K * D); wv = a.matrix(t, "v", K * D); wo = a.matrix(t, "o", D * Q);
    bq = a.maybe(t, "qBias", Q); bk = a.maybe(t, "kBias", K); bv = a.maybe(t, "vBias", K); bo = a.maybe(t, "oBias", D);
    qNorm = a.maybe(t, "qNorm", d.hd); kNorm = a.maybe(t, "kNorm", d.hd);
    wg = a.matrix(t, "gate", F * D); wu = a.matrix(t, "up", F * D); wd = a.matrix(t, "down", D * F);
    bg = a.maybe(t, "gateBias", F); bu = a.maybe(t, "upBias", F); bd = a.maybe(t, "downBias", D);
    if (!qNorm != !kNorm) a.fail("qNorm and kNorm must be both present or both absent");
  }
};

// Weight W [out, in] as a product operand (f32, bf16, or both: gemm.h picks by precision).
inline e3::Operand operand(const Matrix& W, int64_t in, bool trans) { return e3::Operand{W.f32, W.bf16, in, trans}; }

// A row-major f32 operand with leading dimension ld.
inline e3::Operand f32(const float* p, int64_t ld, bool trans = false) { return e3::Operand{p, nullptr, ld, trans}; }

// Inputs and outputs of the forward pass for a range of sequences (pointers at its first one).
struct ForwardIO {
  const float *x, *cos, *sin, *attn, *pastK, *pastV;
  float *y, *newK, *newV;
  ForwardIO from(const Dims& d, int64_t b0) const {
    const int64_t r = b0 * d.T, S = d.S();
    return {x + r * d.D, cos + r * d.hd, sin + r * d.hd, attn + b0 * S, pastK ? pastK + b0 * d.KV * d.P * d.hd : nullptr,
            pastV ? pastV + b0 * d.KV * d.P * d.hd : nullptr, y + r * d.D, newK ? newK + b0 * d.KV * S * d.hd : nullptr,
            newV ? newV + b0 * d.KV * S * d.hd : nullptr};
  }
};

// The dims of sequences [b0, b1) of a call.
inline Dims sub(const Dims& d, int64_t b0, int64_t b1) { Dims x = d; x.B = b1 - b0; return x; }

}  // namespace e3::block
