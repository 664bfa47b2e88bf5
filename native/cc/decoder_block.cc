// e3 fused decoder block: one Llama / Qwen2 / Qwen3 pre-norm block (RMSNorm, q/k/v projections
// with optional bias, optional per-head q/k RMSNorm, rotary embedding, grouped-query causal
// attention with a padding mask and an optional KV cache, output projection, gated residual,
// RMSNorm, SwiGLU MLP, gated residual) forward and backward in one native call each, over
// Float32Array views (zero-copy on the wasm heap). The equations are those of
// plugins/src/model/decoder.ts, operation for operation, so results match the op-by-op path to
// float rounding; the gradients are written out by hand (derivations beside each step).
//
// Why: at the sizes e3 trains on a CPU, a step is ~4,000 small tfjs kernel dispatches, each with
// its own JS overhead; one block is ~40 forward and ~90 backward dispatches. Here it is 1 + 1.
#include <node_api.h>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include "args.h"
#include "block_attention.h"
#include "block_elementwise.h"
#include "block_layout.h"
#include "block_threads.h"
#include "gemm.h"

namespace {

using namespace e3::block;

double field(napi_env env, napi_value obj, const char* name) {
  napi_value v; double x = 0;
  if (napi_get_named_property(env, obj, name, &v) == napi_ok) napi_get_value_double(env, v, &x);
  return x;
}

Dims dims(napi_env env, napi_value d) {
  Dims x;
  x.B = field(env, d, "B"); x.T = field(env, d, "T"); x.P = field(env, d, "P"); x.D = field(env, d, "D");
  x.H = field(env, d, "H"); x.KV = field(env, d, "KV"); x.hd = field(env, d, "hd"); x.F = field(env, d, "F");
  x.eps = static_cast<float>(field(env, d, "eps"));
  return x;
}

// The dims of a call, checked: every size positive, whole kv groups, a positive epsilon.
Dims checkedDims(napi_env env, napi_value value, const e3::Args& a) {
  const Dims d = dims(env, value);
  if (d.B < 1 || d.T < 1 || d.P < 0 || d.D < 1 || d.H < 1 || d.KV < 1 || d.hd < 1 || d.F < 1) a.fail("every dimension must be positive");
  if (d.H % d.KV != 0) a.fail("H must be a multiple of KV");
  if (!(d.eps > 0)) a.fail("eps must be positive");
  return d;
}

// The argument reader of entry point `who`, naming the call's dims in its errors.
e3::Args argsOf(napi_env env, napi_value dimsValue, const char* who) { return e3::Args(env, who, dims(env, dimsValue).describe()); }

// The block forward; activations go to *kept when given (for the backward pass).
void forwardBlock(const Dims& d, const Weights& w, float gate, const ForwardIO& io, const Saved* kept, const Phases& ph) {
  const int64_t N = d.N(), D = d.D, F = d.F, Q = d.Q(), K = d.K(), hd = d.hd;
  Scratch scratch((kept ? 0 : Saved::size(d)) + N * Q + N * K);
  const Saved s = kept ? *kept : Saved(scratch.take(Saved::size(d)), d);
  float* qn = scratch.take(N * Q); float* kn = scratch.take(N * K);
  auto rows = [&](const std::function<void(int64_t, int64_t)>& f) { ph.split(N, 1, f); };

  rows([&](int64_t r0, int64_t r1) { rmsNorm(io.x + r0 * D, w.inNorm, s.xn1 + r0 * D, s.r1 + r0, r1 - r0, D, d.eps); });
  ph.halves([&](int part) {
    const auto [q0, q1] = Phases::half(Q, part);
    const auto [k0, k1] = Phases::half(K, part);
    linearCols(s.xn1, w.wq, w.bq, s.q, N, D, Q, q0, q1);
    linearCols(s.xn1, w.wk, w.bk, s.k, N, D, K, k0, k1);
    linearCols(s.xn1, w.wv, w.bv, s.v, N, D, K, k0, k1);
  });
  rows([&](int64_t r0, int64_t r1) {
    const int64_t n = r1 - r0;
    if (w.qNorm) {
      rmsNorm(s.q + r0 * Q, w.qNorm, qn + r0 * Q, s.rq + r0 * d.H, n * d.H, hd, d.eps);
      rmsNorm(s.k + r0 * K, w.kNorm, kn + r0 * K, s.rk + r0 * d.KV, n * d.KV, hd, d.eps);
    }
    rope((w.qNorm ? qn : s.q) + r0 * Q, io.cos + r0 * hd, io.sin + r0 * hd, s.qr + r0 * Q, n, d.H, hd);
    rope((w.qNorm ? kn : s.k) + r0 * K, io.cos + r0 * hd, io.sin + r0 * hd, s.kr + r0 * K, n, d.KV, hd);
  });
  ph.split(d.B, 1, [&](int64_t b0, int64_t b1) { attendRows(sub(d, b0, b1), s.from(d, b0), io.from(d, b0)); });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(D, part);
    linearCols(s.ctx, w.wo, w.bo, s.a, N, Q, D, c0, c1);
  });
  rows([&](int64_t r0, int64_t r1) {
    gatedResidual(io.x + r0 * D, s.a + r0 * D, gate, s.h1 + r0 * D, (r1 - r0) * D);
    rmsNorm(s.h1 + r0 * D, w.postNorm, s.xn2 + r0 * D, s.r2 + r0, r1 - r0, D, d.eps);
  });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(F, part);
    linearCols(s.xn2, w.wg, w.bg, s.g, N, D, F, c0, c1);
    linearCols(s.xn2, w.wu, w.bu, s.u, N, D, F, c0, c1);
  });
  rows([&](int64_t r0, int64_t r1) { swiglu(s.g + r0 * F, s.u + r0 * F, s.act + r0 * F, (r1 - r0) * F); });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(D, part);
    linearCols(s.act, w.wd, w.bd, s.m, N, F, D, c0, c1);
  });
  rows([&](int64_t r0, int64_t r1) { gatedResidual(s.h1 + r0 * D, s.m + r0 * D, gate, io.y + r0 * D, (r1 - r0) * D); });
}


// The (dims, tensors, outputs) arguments of an entry point; false after throwing when missing.
bool threeArgs(napi_env env, napi_callback_info info, const char* who, napi_value argv[3]) {
  size_t argc = 3;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= 3) return true;
  napi_throw_error(env, nullptr, (std::string(who) + ": (dims, tensors, outputs) expected").c_str());
  return false;
}

// forward(dims, tensors, outputs): outputs.y [N, D]; outputs.saved (Saved::size floats) when
// gradients will be taken; outputs.newK / newV [B, KV, S, hd] when a cache is kept.
napi_value Forward(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!threeArgs(env, info, "decoderBlockForward", argv)) return nullptr;
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a = argsOf(env, argv[0], "decoderBlockForward");
    const Dims d = checkedDims(env, argv[0], a);
    const e3::CallPrecision precision(d.largestProduct());
    const Weights w(a, argv[1], d);
    const int64_t N = d.N(), rows = N * d.hd, cache = d.B * d.KV * d.hd;
    const napi_value in = argv[1], out = argv[2];
    const ForwardIO io{a.need(in, "x", N * d.D), a.need(in, "cos", rows), a.need(in, "sin", rows), a.need(in, "attn", d.B * d.S()),
                       d.P ? a.need(in, "pastK", cache * d.P) : nullptr, d.P ? a.need(in, "pastV", cache * d.P) : nullptr,
                       a.need(out, "y", N * d.D), a.maybe(out, "newK", cache * d.S()), a.maybe(out, "newV", cache * d.S())};
    const float gate = a.need(in, "blockGate", 1)[0];
    float* savedBuf = a.maybe(out, "saved", Saved::size(d));
    if (d.P > 0 && (!io.newK || !io.newV)) a.fail("a call with a KV cache (P > 0) needs outputs newK and newV");
    const Phases ph = phasesFor(d.work());
    if (ph.worker && d.weightBytes() < kMinWeightBytesToSplitFeatures) {
      ph.split(d.B, 1, [&](int64_t b0, int64_t b1) {
        if (!savedBuf) { forwardBlock(sub(d, b0, b1), w, gate, io.from(d, b0), nullptr, Phases{nullptr}); return; }
        const Saved part = Saved(savedBuf, d).from(d, b0);
        forwardBlock(sub(d, b0, b1), w, gate, io.from(d, b0), &part, Phases{nullptr});
      });
    } else if (!savedBuf) {
      forwardBlock(d, w, gate, io, nullptr, ph);
    } else {
      const Saved kept(savedBuf, d);
      forwardBlock(d, w, gate, io, &kept, ph);
    }
    return nullptr;
  });
}

// Gradients flowing into each weighted operation, kept from the backward pass so that each
// weight's gradient is computed only when the tape asks for it (the mask search needs none).
struct Upstream {
  float *dm, *dgu, *duu, *dxn2, *da, *dq, *dk, *dv, *dqn, *dkn, *dxn1;
  static int64_t size(const Dims& d) { const int64_t N = d.N(); return 4 * N * d.D + 2 * N * d.F + 2 * N * d.Q() + 3 * N * d.K(); }
  Upstream(float* base, const Dims& d) {
    const int64_t N = d.N();
    float* p = base;
    auto take = [&p](int64_t n) { float* r = p; p += n; return r; };
    dm = take(N * d.D); dgu = take(N * d.F); duu = take(N * d.F); dxn2 = take(N * d.D); da = take(N * d.D);
    dq = take(N * d.Q()); dk = take(N * d.K()); dv = take(N * d.K()); dqn = take(N * d.Q()); dkn = take(N * d.K()); dxn1 = take(N * d.D);
  }
  Upstream from(const Dims& d, int64_t b0) const {
    Upstream x = *this;
    const int64_t r = b0 * d.T;
    x.dm += r * d.D; x.dgu += r * d.F; x.duu += r * d.F; x.dxn2 += r * d.D; x.da += r * d.D;
    x.dq += r * d.Q(); x.dk += r * d.K(); x.dv += r * d.K(); x.dqn += r * d.Q(); x.dkn += r * d.K(); x.dxn1 += r * d.D;
    return x;
  }
};

// The block backward: dx, the upstream gradients; returns ∂loss/∂gate.
float backwardBlock(const Dims& d, const Weights& w, float gate, const float* x, const float* cos, const float* sin, const float* dy,
                    const Saved& s, const Upstream& up, float* dx, const Phases& ph) {
  const int64_t N = d.N(), D = d.D, F = d.F, Q = d.Q(), K = d.K(), hd = d.hd;
  Scratch scratch(N * F + N * D + 2 * N * Q + N * K);
  float* dact = scratch.take(N * F); float* dh1 = scratch.take(N * D);
  float* dctx = scratch.take(N * Q); float* dqr = scratch.take(N * Q); float* dkr = scratch.take(N * K);
  float dg[2] = {0, 0};
  // Element-wise phases by rows; the part's ∂/∂gate goes to its own slot (summed in a fixed order).
  auto rows = [&](const std::function<void(int64_t, int64_t, float&)>& f) {
    ph.split(N, 1, [&](int64_t r0, int64_t r1) { f(r0, r1, dg[r0 == 0 ? 0 : 1]); });
  };

  // MLP branch: y = h1 + gate·m, m = act·Wdᵀ, act = silu(g)·u.
  rows([&](int64_t r0, int64_t r1, float& g) { g += gatedResidualBack(dy + r0 * D, s.m + r0 * D, gate, up.dm + r0 * D, (r1 - r0) * D); });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(F, part);
    linearBackCols(up.dm, w.wd, dact, false, N, F, D, c0, c1);
  });
  rows([&](int64_t r0, int64_t r1, float&) {
    swigluBack(dact + r0 * F, s.g + r0 * F, s.u + r0 * F, up.dgu + r0 * F, up.duu + r0 * F, (r1 - r0) * F);
  });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(D, part);
    linearBackCols(up.dgu, w.wg, up.dxn2, false, N, D, F, c0, c1);
    linearBackCols(up.duu, w.wu, up.dxn2, true, N, D, F, c0, c1);
  });
  rows([&](int64_t r0, int64_t r1, float& g) {
    const int64_t n = r1 - r0;
    std::memcpy(dh1 + r0 * D, dy + r0 * D, n * D * sizeof(float));
    rmsNormBack(up.dxn2 + r0 * D, s.h1 + r0 * D, w.postNorm, s.r2 + r0, dh1 + r0 * D, nullptr, n, D);
    // Attention branch: h1 = x + gate·a, a = ctx·Woᵀ.
    g += gatedResidualBack(dh1 + r0 * D, s.a + r0 * D, gate, up.da + r0 * D, n * D);
  });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(Q, part);
    linearBackCols(up.da, w.wo, dctx, false, N, Q, D, c0, c1);
  });
  ph.split(d.B, 1, [&](int64_t b0, int64_t b1) {
    const Dims sd = sub(d, b0, b1);
    const Saved ss = s.from(d, b0);
    const Upstream us = up.from(d, b0);
    const int64_t r = b0 * d.T;
    if (d.T * d.T * hd >= kMinAttentionGemm) attentionBackGemm(dctx + r * Q, ss.qr, ss.kr, ss.v, ss.probs, dqr + r * Q, dkr + r * K, us.dv, sd);
    else attentionBack(dctx + r * Q, ss.qr, ss.kr, ss.v, ss.probs, dqr + r * Q, dkr + r * K, us.dv, sd);
  });
  rows([&](int64_t r0, int64_t r1, float&) {
    const int64_t n = r1 - r0;
    const float *c = cos + r0 * hd, *sn = sin + r0 * hd;
    if (w.qNorm) {
      ropeBack(dqr + r0 * Q, c, sn, up.dqn + r0 * Q, n, d.H, hd);
      ropeBack(dkr + r0 * K, c, sn, up.dkn + r0 * K, n, d.KV, hd);
      std::memset(up.dq + r0 * Q, 0, n * Q * sizeof(float));
      std::memset(up.dk + r0 * K, 0, n * K * sizeof(float));
      rmsNormBack(up.dqn + r0 * Q, s.q + r0 * Q, w.qNorm, s.rq + r0 * d.H, up.dq + r0 * Q, nullptr, n * d.H, hd);
      rmsNormBack(up.dkn + r0 * K, s.k + r0 * K, w.kNorm, s.rk + r0 * d.KV, up.dk + r0 * K, nullptr, n * d.KV, hd);
    } else {
      ropeBack(dqr + r0 * Q, c, sn, up.dq + r0 * Q, n, d.H, hd);
      ropeBack(dkr + r0 * K, c, sn, up.dk + r0 * K, n, d.KV, hd);
    }
  });
  ph.halves([&](int part) {
    const auto [c0, c1] = Phases::half(D, part);
    linearBackCols(up.dq, w.wq, up.dxn1, false, N, D, Q, c0, c1);
    linearBackCols(up.dk, w.wk, up.dxn1, true, N, D, K, c0, c1);
    linearBackCols(up.dv, w.wv, up.dxn1, true, N, D, K, c0, c1);
  });
  rows([&](int64_t r0, int64_t r1, float&) {
    const int64_t n = r1 - r0;
    std::memcpy(dx + r0 * D, dh1 + r0 * D, n * D * sizeof(float));
    rmsNormBack(up.dxn1 + r0 * D, x + r0 * D, w.inNorm, s.r1 + r0, dx + r0 * D, nullptr, n, D);
  });
  return dg[0] + dg[1];
}

// backward(dims, tensors, outputs): tensors = forward's inputs + saved + dy; outputs.dx, dgate and
// upstream (Upstream::size floats) for weightGradient.
napi_value Backward(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!threeArgs(env, info, "decoderBlockBackward", argv)) return nullptr;
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a = argsOf(env, argv[0], "decoderBlockBackward");
    const Dims d = checkedDims(env, argv[0], a);
    if (d.P != 0) a.fail("gradients through a KV cache (P > 0) are not supported");
    const e3::CallPrecision precision(d.largestProduct());
    const Weights w(a, argv[1], d);
    const int64_t N = d.N();
    const napi_value in = argv[1], out = argv[2];
    const float* x = a.need(in, "x", N * d.D); const float gate = a.need(in, "blockGate", 1)[0];
    const float* cos = a.need(in, "cos", N * d.hd); const float* sin = a.need(in, "sin", N * d.hd);
    float* savedBuf = a.need(in, "saved", Saved::size(d)); const float* dy = a.need(in, "dy", N * d.D);
    float* dx = a.need(out, "dx", N * d.D); float* dgate = a.need(out, "dgate", 1);
    float* upBuf = a.need(out, "upstream", Upstream::size(d));
    const Saved all(savedBuf, d);
    const Upstream ups(upBuf, d);
    const Phases ph = phasesFor(d.work());
    if (ph.worker && d.weightBytes() < kMinWeightBytesToSplitFeatures) {
      float partial[2] = {0, 0};
      ph.split(d.B, 1, [&](int64_t b0, int64_t b1) {
        const int64_t r = b0 * d.T;
        partial[b0 == 0 ? 0 : 1] = backwardBlock(sub(d, b0, b1), w, gate, x + r * d.D, cos + r * d.hd, sin + r * d.hd, dy + r * d.D,
                                                 all.from(d, b0), ups.from(d, b0), dx + r * d.D, Phases{nullptr});
      });
      dgate[0] = partial[0] + partial[1];
    } else {
      dgate[0] = backwardBlock(d, w, gate, x, cos, sin, dy, all, ups, dx, ph);
    }
    return nullptr;
  });
}

// weightGradient(dims, tensors {x, saved, upstream}, name, out): the gradient of one parameter
// (names as in plugins/src/model/weights.ts).
// The length of weight `name`'s gradient, or -1 for an unknown name.
int64_t weightSize(const std::string& n, const Dims& d) {
  const int64_t D = d.D, F = d.F, Q = d.Q(), K = d.K();
  if (n == "down" || n == "gate" || n == "up") return D * F;
  if (n == "q" || n == "o") return D * Q;
  if (n == "k" || n == "v") return D * K;
  if (n == "gateBias" || n == "upBias") return F;
  if (n == "downBias" || n == "oBias" || n == "postAttentionNorm" || n == "inputNorm") return D;
  if (n == "qBias") return Q;
  if (n == "kBias" || n == "vBias") return K;
  if (n == "qNorm" || n == "kNorm") return d.hd;
  return -1;
}

napi_value WeightGradient(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[32] = {0}; size_t len = 0;
  if (argc < 4 || napi_get_value_string_utf8(env, argv[2], name, sizeof(name), &len) != napi_ok) { napi_throw_error(env, nullptr, "decoderBlockWeightGradient: (dims, tensors, name, out) expected"); return nullptr; }
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a = argsOf(env, argv[0], "decoderBlockWeightGradient");
    const Dims d = checkedDims(env, argv[0], a);
    const std::string n(name);
    const int64_t size = weightSize(n, d);
    if (size < 0) a.fail("unknown weight " + n);
    const e3::CallPrecision precision(d.largestProduct());
    const float* x = a.need(argv[1], "x", d.N() * d.D); float* savedBuf = a.need(argv[1], "saved", Saved::size(d));
    float* upBuf = a.need(argv[1], "upstream", Upstream::size(d));
    float* out = a.value(argv[3], "out", size);
    Saved s(savedBuf, d);
    Upstream up(upBuf, d);
    const int64_t N = d.N(), D = d.D, F = d.F;
    // dW = dyᵀ·in, split by output rows across the two threads (dy's columns o0..o1, lda = outN).
    auto dW = [&](const float* dy, const float* in, int64_t inN, int64_t outN) {
      auto rowsOf = [&](int64_t o0, int64_t o1) {
        e3::gemm(o1 - o0, inN, N, 1.0f, f32(dy + o0, outN, true), f32(in, inN), 0.0f, out + o0 * inN, inN);
      };
      Worker* worker = Worker::get();
      if (!worker || outN < 32) { rowsOf(0, outN); return; }
      worker->run([&] { rowsOf(0, outN / 2); }, [&] { rowsOf(outN / 2, outN); });
    };
    auto db = [&](const float* dy, int64_t outN) { biasGrad(dy, out, N, outN); };
    if (n == "down") dW(up.dm, s.act, F, D);
    else if (n == "downBias") db(up.dm, D);
    else if (n == "gate") dW(up.dgu, s.xn2, D, F);
    else if (n == "gateBias") db(up.dgu, F);
    else if (n == "up") dW(up.duu, s.xn2, D, F);
    else if (n == "upBias") db(up.duu, F);
    else if (n == "postAttentionNorm") normWeightGrad(up.dxn2, s.h1, s.r2, out, N, D);
    else if (n == "o") dW(up.da, s.ctx, d.Q(), D);
    else if (n == "oBias") db(up.da, D);
    else if (n == "q") dW(up.dq, s.xn1, D, d.Q());
    else if (n == "qBias") db(up.dq, d.Q());
    else if (n == "k") dW(up.dk, s.xn1, D, d.K());
    else if (n == "kBias") db(up.dk, d.K());
    else if (n == "v") dW(up.dv, s.xn1, D, d.K());
    else if (n == "vBias") db(up.dv, d.K());
    else if (n == "qNorm") normWeightGrad(up.dqn, s.q, s.rq, out, N * d.H, d.hd);
    else if (n == "kNorm") normWeightGrad(up.dkn, s.k, s.rk, out, N * d.KV, d.hd);
    else normWeightGrad(up.dxn1, x, s.r1, out, N, D);
    return nullptr;
  });
}

// How many threads the fused kernels use (1, or 2 with the worker).
napi_value Threads(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, Worker::get() ? 2 : 1, &out);
  return out;
}

// setKernelThreads(n): 1 keeps the fused kernels on the calling thread; 2 (the default) splits them.
napi_value SetKernelThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int32_t n = 2;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_range_error(env, "E3_NATIVE_ARGS", "setKernelThreads: a positive thread count expected"); return nullptr;
  }
  Worker::requested.store(n == 1 ? 1 : 2);
  return nullptr;
}

napi_value Sizes(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const Dims d = dims(env, argv[0]);
  napi_value out, saved, upstream;
  napi_create_object(env, &out);
  napi_create_double(env, static_cast<double>(Saved::size(d)), &saved);
  napi_create_double(env, static_cast<double>(Upstream::size(d)), &upstream);
  napi_set_named_property(env, out, "saved", saved);
  napi_set_named_property(env, out, "upstream", upstream);
  return out;
}

}  // namespace

void RegisterDecoderBlock(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"decoderBlockForward", nullptr, Forward, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"decoderBlockBackward", nullptr, Backward, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"decoderBlockWeightGradient", nullptr, WeightGradient, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"decoderBlockSizes", nullptr, Sizes, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"threads", nullptr, Threads, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setKernelThreads", nullptr, SetKernelThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 6, props);
}
