// The element-wise and projection kernels of the fused decoder block: the equations of
// plugins/src/model/decoder.ts, operation for operation, and their derivatives.
#include "block_elementwise.h"
#include <cmath>
#include <cstring>

namespace e3::block {

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

// Σ_rows dy·x·r: the gradient of an RMSNorm weight.
void normWeightGrad(const float* dy, const float* x, const float* r, float* dw, int64_t rows, int64_t n) {
  std::memset(dw, 0, n * sizeof(float));
  for (int64_t i = 0; i < rows; i++) for (int64_t j = 0; j < n; j++) dw[j] += dy[i * n + j] * x[i * n + j] * r[i];
}

}  // namespace e3::block
