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
#include "args.h"
#include "gemm.h"
#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <immintrin.h>
#include <vector>

namespace {

double field(napi_env env, napi_value obj, const char* name) {
  napi_value v; double x = 0;
  if (napi_get_named_property(env, obj, name, &v) == napi_ok) napi_get_value_double(env, v, &x);
  return x;
}

// Per-thread scratch memory reused across calls: fresh large allocations each call cost page
// faults and zeroing that, at these sizes, rivalled the arithmetic.
class Scratch {
 public:
  explicit Scratch(size_t total) { static thread_local std::vector<float> pool; if (pool.size() < total) pool.resize(total); base_ = pool.data(); }
  float* take(size_t n) { float* r = base_ + used_; used_ += n; return r; }
 private:
  float* base_; size_t used_ = 0;
};

// A second thread for the second core: run(a, b) runs a here and b on the worker and returns
// when both are done. The worker spins briefly between jobs (a step issues them back to back)
// and then sleeps. How a block's work is split between the two is `Phases`. setThreads(1) keeps
// everything on one thread.
class Worker {
 public:
  static Worker* get() {
    if (requested.load() == 1 || std::thread::hardware_concurrency() < 2) return nullptr;
    static Worker* w = new Worker();  // never destroyed: the thread lives with the process
    return w;
  }
  // Threads the kernels may use: 1, or 2 (the default where there is a second core).
  static std::atomic<int> requested;
  void run(const std::function<void()>& a, const std::function<void()>& b) {
    job_ = &b;
    pending_.store(true);
    if (sleeping_.load()) { std::lock_guard<std::mutex> lock(m_); cv_.notify_one(); }
    a();
    while (pending_.load(std::memory_order_acquire)) _mm_pause();
  }

 private:
  Worker() { std::thread([this] { loop(); }).detach(); }
  void loop() {
    for (;;) {
      for (int spins = 0; !pending_.load(std::memory_order_acquire);) {
        if (++spins < 3000) { _mm_pause(); continue; }
        std::unique_lock<std::mutex> lock(m_);
        sleeping_.store(true);
        cv_.wait(lock, [this] { return pending_.load(); });
        sleeping_.store(false);
      }
      (*job_)();
      pending_.store(false, std::memory_order_release);
    }
  }
  const std::function<void()>* job_ = nullptr;
  std::atomic<bool> pending_{false}, sleeping_{false};
  std::mutex m_;
  std::condition_variable cv_;
};

std::atomic<int> Worker::requested{2};

// Below this much arithmetic (multiply-adds of the block's projections) a block is cheaper on one
// thread than handed off: greedy decoding on the d=64 teacher (32 rows, ~1.6M) is; training
// batches (tens of millions) and decoding at d=256 (~25M) are not.
constexpr double kMinWorkToSplit = 8e6;

// How one block's phases share the two threads (for blocks with large weights; see
// kMinWeightBytesToSplitFeatures). Projections are split by output features, so each thread packs
// and streams half of every weight matrix for all rows (split by rows, both threads streamed every
// weight: at 128 rows per thread OpenBLAS spent half its time packing them); element-wise phases are
// split by rows, attention by sequences. Results do not depend on the split: each output element is
// computed by the same code over the same inputs either way.
struct Phases {
  Worker* worker;  // null: everything on the calling thread
  // f(0, n) as two parts [0, mid), [mid, n) on the two threads, mid a multiple of `align`.
  void split(int64_t n, int64_t align, const std::function<void(int64_t, int64_t)>& f) const {
    const int64_t mid = n / 2 / align * align;
    if (!worker || mid <= 0 || mid >= n) { f(0, n); return; }
    worker->run([&] { f(0, mid); }, [&] { f(mid, n); });
  }
  // g(0) and g(1) on the two threads (each takes its half of several projections in one hand-off).
  void halves(const std::function<void(int)>& g) const {
    if (!worker) { g(0); g(1); return; }
    worker->run([&] { g(0); }, [&] { g(1); });
  }
  // [c0, c1) of n output features for half `part` (multiples of 16: whole SIMD tiles).
  static std::pair<int64_t, int64_t> half(int64_t n, int part) {
    const int64_t mid = n / 2 / 16 * 16;
    return part == 0 ? std::make_pair(int64_t{0}, mid) : std::make_pair(mid, n);
  }
};

Phases phasesFor(double work) {
  Worker* w = Worker::get();
  return Phases{w && work >= kMinWorkToSplit ? w : nullptr};
}

// From this many bytes of projection weights per block, the two threads split each projection's
// features; below it (weights that stay in cache, where packing is cheap) each thread runs the
// whole block on half of the sequences, with one hand-off instead of a dozen. Measured: the d=64
// teacher's training step was 10–20% slower split by features; a Qwen3-0.6B block (62 MB) was
// 1.3× faster split by features.
constexpr double kMinWeightBytesToSplitFeatures = 16.0 * (1 << 20);

}  // namespace

// Runs f over [0, n) in two halves on two threads when n ≥ minSplit (used by blas.cc's AdamW).
void e3ParallelRange(int64_t n, int64_t minSplit, const std::function<void(int64_t, int64_t)>& f) {
  Worker* w = Worker::get();
  if (!w || n < minSplit) { f(0, n); return; }
  w->run([&] { f(0, n / 2); }, [&] { f(n / 2, n); });
}

namespace {

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
e3::Operand operand(const Matrix& W, int64_t in, bool trans) { return e3::Operand{W.f32, W.bf16, in, trans}; }

// A row-major f32 operand with leading dimension ld.
e3::Operand f32(const float* p, int64_t ld, bool trans = false) { return e3::Operand{p, nullptr, ld, trans}; }

// db = Σ_n dy: the gradient of a projection's bias.
void biasGrad(const float* dy, float* db, int64_t N, int64_t out) {
  std::memset(db, 0, out * sizeof(float));
  for (int64_t n = 0; n < N; n++) for (int64_t j = 0; j < out; j++) db[j] += dy[n * out + j];
}

// y[:, c0:c1] = x · W[c0:c1]ᵀ (+ b[c0:c1]) for y [N, out]: output features c0..c1 of a projection.
void linearCols(const float* x, const Matrix& W, const float* b, float* y, int64_t N, int64_t in, int64_t out, int64_t c0, int64_t c1) {
  if (c1 <= c0) return;
  e3::gemm(N, c1 - c0, in, 1.0f, f32(x, in), operand(W, in, true).at(c0 * in), 0.0f, y + c0, out);
  if (b) for (int64_t n = 0; n < N; n++) for (int64_t j = c0; j < c1; j++) y[n * out + j] += b[j];
}

// dx[:, c0:c1] (+)= dy · W[:, c0:c1] for y = x·Wᵀ, W [out, in]: input features c0..c1 of dx.
void linearBackCols(const float* dy, const Matrix& W, float* dx, bool accumulate, int64_t N, int64_t in, int64_t out, int64_t c0, int64_t c1) {
  if (c1 <= c0) return;
  e3::gemm(N, c1 - c0, out, 1.0f, f32(dy, out), operand(W, in, false).at(c0), accumulate ? 1.0f : 0.0f, dx + c0, in);
}

// y = (x·r)·w per row of width n, r = 1/sqrt(mean(x²) + ε), as tfjs computes it.
void rmsNorm(const float* __restrict x, const float* __restrict w, float* __restrict y, float* __restrict r, int64_t rows, int64_t n, float eps) {
  for (int64_t i = 0; i < rows; i++) {
    const float* xi = x + i * n; float* yi = y + i * n;
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t j = 0; j < n; j++) ss += xi[j] * xi[j];
    const float ri = 1.0f / std::sqrt(ss / n + eps);
    r[i] = ri;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) yi[j] = (xi[j] * ri) * w[j];
  }
}

// Backward of rmsNorm: with z = dy·w, dx = r·z − x·r³·(Σ z·x)/n (added to dx); dw += Σ_rows dy·x·r.
void rmsNormBack(const float* __restrict dy, const float* __restrict x, const float* __restrict w, const float* __restrict r, float* __restrict dx, float* __restrict dw, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows; i++) {
    const float* xi = x + i * n; const float* di = dy + i * n; float* dxi = dx + i * n;
    const float ri = r[i];
    float zx = 0;
#pragma omp simd reduction(+ : zx)
    for (int64_t j = 0; j < n; j++) zx += di[j] * w[j] * xi[j];
    const float c = ri * ri * ri * zx / n;
#pragma omp simd
    for (int64_t j = 0; j < n; j++) dxi[j] += ri * di[j] * w[j] - xi[j] * c;
    if (dw) {
#pragma omp simd
      for (int64_t j = 0; j < n; j++) dw[j] += di[j] * xi[j] * ri;
    }
  }
}

// out = base + gate·branch (gate 1 adds exactly, as the op-by-op path does).
void gatedResidual(const float* __restrict base, const float* __restrict branch, float gate, float* __restrict out, int64_t n) {
  if (gate == 1.0f) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) out[i] = base[i] + branch[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) out[i] = base[i] + branch[i] * gate;
  }
}

// Backward of a gated residual's branch: dbranch = gate·dout; returns Σ dout·branch (∂/∂gate).
float gatedResidualBack(const float* __restrict dout, const float* __restrict branch, float gate, float* __restrict dbranch, int64_t n) {
  float dg = 0;
#pragma omp simd reduction(+ : dg)
  for (int64_t i = 0; i < n; i++) { dbranch[i] = dout[i] * gate; dg += dout[i] * branch[i]; }
  return dg;
}

// act = silu(g)·u = (g·σ(g))·u.
void swiglu(const float* __restrict g, const float* __restrict u, float* __restrict act, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) { const float gi = g[i]; act[i] = (gi * (1.0f / (1.0f + std::exp(-gi)))) * u[i]; }
}

// Backward of swiglu: du = dact·silu(g); dg = dact·u·silu'(g), silu'(g) = σ(g)(1 + g(1 − σ(g))).
void swigluBack(const float* __restrict dact, const float* __restrict g, const float* __restrict u, float* __restrict dg, float* __restrict du, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i], sg = 1.0f / (1.0f + std::exp(-gi));
    du[i] = dact[i] * gi * sg;
    dg[i] = dact[i] * u[i] * sg * (1.0f + gi * (1.0f - sg));
  }
}

// x·cos + rotate_half(x)·sin per head of width hd; rotate_half(x) = [−x₂, x₁]. cos/sin: [N, hd].
void rope(const float* __restrict x, const float* __restrict cos, const float* __restrict sin, float* __restrict y, int64_t N, int64_t heads, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t n = 0; n < N; n++) for (int64_t h = 0; h < heads; h++) {
    const float* xi = x + (n * heads + h) * hd; float* yi = y + (n * heads + h) * hd;
    const float* c = cos + n * hd; const float* s = sin + n * hd;
    for (int64_t j = 0; j < half; j++) yi[j] = xi[j] * c[j] + (-xi[j + half]) * s[j];
    for (int64_t j = half; j < hd; j++) yi[j] = xi[j] * c[j] + xi[j - half] * s[j];
  }
}

// Backward of rope: dx = dy·cos + rotate_halfᵀ(dy·sin), rotate_halfᵀ(z) = [z₂, −z₁].
void ropeBack(const float* __restrict dy, const float* __restrict cos, const float* __restrict sin, float* __restrict dx, int64_t N, int64_t heads, int64_t hd) {
  const int64_t half = hd / 2;
  for (int64_t n = 0; n < N; n++) for (int64_t h = 0; h < heads; h++) {
    const float* di = dy + (n * heads + h) * hd; float* xi = dx + (n * heads + h) * hd;
    const float* c = cos + n * hd; const float* s = sin + n * hd;
    for (int64_t j = 0; j < half; j++) xi[j] = di[j] * c[j] + di[j + half] * s[j + half];
    for (int64_t j = half; j < hd; j++) xi[j] = di[j] * c[j] - di[j - half] * s[j - half];
  }
}

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

// Attention by matrix products from this much score work per (sequence, head) on (T·S·hd):
// below it, per-call overhead makes the loops faster (the d=64 teacher's T≈9 batches).
constexpr int64_t kMinAttentionGemm = 16384;

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

// forward(dims, tensors, outputs): outputs.y [N, D]; outputs.saved (Saved::size floats) when
// gradients will be taken; outputs.newK / newV [B, KV, S, hd] when a cache is kept.
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

Dims sub(const Dims& d, int64_t b0, int64_t b1) { Dims x = d; x.B = b1 - b0; return x; }

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

// Σ_rows dy·x·r: the gradient of an RMSNorm weight.
void normWeightGrad(const float* dy, const float* x, const float* r, float* dw, int64_t rows, int64_t n) {
  std::memset(dw, 0, n * sizeof(float));
  for (int64_t i = 0; i < rows; i++) for (int64_t j = 0; j < n; j++) dw[j] += dy[i * n + j] * x[i * n + j] * r[i];
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
