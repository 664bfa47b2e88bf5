// The element-wise and projection kernels of the fused decoder block (block_elementwise.cc), in
// f32: each takes row-major arrays and the sizes; the derivations of the backward passes are
// beside their definitions.
#pragma once
#include <cstdint>
#include "block_layout.h"

namespace e3::block {

// db = Σ_n dy: the gradient of a projection's bias.
void biasGrad(const float* dy, float* db, int64_t N, int64_t out);
// y[:, c0:c1] = x · W[c0:c1]ᵀ (+ b[c0:c1]) for y [N, out]: output features c0..c1 of a projection.
void linearCols(const float* x, const Matrix& W, const float* b, float* y, int64_t N, int64_t in, int64_t out, int64_t c0, int64_t c1);
// dx[:, c0:c1] (+)= dy · W[:, c0:c1] for y = x·Wᵀ, W [out, in]: input features c0..c1 of dx.
void linearBackCols(const float* dy, const Matrix& W, float* dx, bool accumulate, int64_t N, int64_t in, int64_t out, int64_t c0, int64_t c1);
// y = (x·r)·w per row of width n, r = 1/sqrt(mean(x²) + ε); r kept per row.
void rmsNorm(const float* __restrict x, const float* __restrict w, float* __restrict y, float* __restrict r, int64_t rows, int64_t n, float eps);
// Backward of rmsNorm (added to dx; dw += when given).
void rmsNormBack(const float* __restrict dy, const float* __restrict x, const float* __restrict w, const float* __restrict r, float* __restrict dx, float* __restrict dw, int64_t rows, int64_t n);
// Σ_rows dy·x·r: the gradient of an RMSNorm weight.
void normWeightGrad(const float* dy, const float* x, const float* r, float* dw, int64_t rows, int64_t n);
// out = base + gate·branch.
void gatedResidual(const float* __restrict base, const float* __restrict branch, float gate, float* __restrict out, int64_t n);
// dbranch = gate·dout; returns Σ dout·branch (∂/∂gate).
float gatedResidualBack(const float* __restrict dout, const float* __restrict branch, float gate, float* __restrict dbranch, int64_t n);
// act = silu(g)·u.
void swiglu(const float* __restrict g, const float* __restrict u, float* __restrict act, int64_t n);
// Backward of swiglu.
void swigluBack(const float* __restrict dact, const float* __restrict g, const float* __restrict u, float* __restrict dg, float* __restrict du, int64_t n);
// Rotary embedding per head of width hd (cos/sin: [N, hd]), and its backward.
void rope(const float* __restrict x, const float* __restrict cos, const float* __restrict sin, float* __restrict y, int64_t N, int64_t heads, int64_t hd);
void ropeBack(const float* __restrict dy, const float* __restrict cos, const float* __restrict sin, float* __restrict dx, int64_t N, int64_t heads, int64_t hd);

}  // namespace e3::block
