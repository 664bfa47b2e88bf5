// e3 native kernels: batched sgemm and AdamW over Float32Array views (zero-copy: the views may sit
// on the wasm backend's heap or be the cpu backend's own arrays). Built by native/build.js against
// Debian's OpenBLAS; optional. Every length is checked (args.h).
#include <node_api.h>
#include "args.h"
#include "gemm.h"
#include <cblas.h>
#include <cstdint>
#include <cmath>
#include <algorithm>
#include <functional>

// From decoder_block.cc: f over [0, n) in two halves on two threads when n ≥ minSplit.
void e3ParallelRange(int64_t n, int64_t minSplit, const std::function<void(int64_t, int64_t)>& f);

static int64_t num(napi_env env, napi_value v) { int64_t x = 0; napi_get_value_int64(env, v, &x); return x; }
static double dbl(napi_env env, napi_value v) { double x = 0; napi_get_value_double(env, v, &x); return x; }

// sgemmBatched(a, b, out, batch, m, n, k, transA, transB, strideA, strideB[, beta[, aBf16, bBf16]])
// out[i] = op(a[i·strideA]) · op(b[i·strideB]) + beta·out[i], row-major; stride 0 broadcasts one matrix.
// beta (default 0) accumulates into out in place: the chunked head sums its weight gradient that way.
// aBf16 / bBf16 (Uint16Arrays, optional): bf16 copies of a / b, read instead when the product runs in bf16.
static napi_value SgemmBatched(napi_env env, napi_callback_info info) {
  size_t argc = 14; napi_value argv[14];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 11) { napi_throw_error(env, nullptr, "sgemmBatched: 11 arguments expected"); return nullptr; }
  return e3::guarded(env, [&]() -> napi_value {
    const int64_t batch = num(env, argv[3]), m = num(env, argv[4]), n = num(env, argv[5]), k = num(env, argv[6]);
    bool ta = false, tb = false; napi_get_value_bool(env, argv[7], &ta); napi_get_value_bool(env, argv[8], &tb);
    const int64_t sa = num(env, argv[9]), sb = num(env, argv[10]);
    const float beta = argc > 11 ? static_cast<float>(dbl(env, argv[11])) : 0.0f;
    const e3::Args args(env, "sgemmBatched", "batch=" + std::to_string(batch) + " m=" + std::to_string(m) +
                        " n=" + std::to_string(n) + " k=" + std::to_string(k));
    if (batch < 1 || m < 1 || n < 1 || k < 1) args.fail("batch, m, n and k must be positive");
    if ((sa != 0 && sa != m * k) || (sb != 0 && sb != k * n)) args.fail("strides must be 0 (broadcast) or one matrix");
    float* a = args.value(argv[0], "a", sa ? batch * m * k : m * k);
    float* b = args.value(argv[1], "b", sb ? batch * k * n : k * n);
    float* c = args.value(argv[2], "out", batch * m * n);
    // An optional bf16 copy of operand `at` (argument index) of `expected` values.
    auto copy = [&](size_t at, const char* name, int64_t expected) -> const uint16_t* {
      size_t len = 0;
      if (argc <= at) return nullptr;
      auto* p = static_cast<const uint16_t*>(e3::typedView(env, argv[at], &len, napi_uint16_array));
      if (p) args.check(name, len, expected);
      return p;
    };
    const uint16_t* a16 = copy(12, "aBf16", sa ? batch * m * k : m * k);
    const uint16_t* b16 = copy(13, "bBf16", sb ? batch * k * n : k * n);
    // Columns n0..n1 of product i: B's columns (or, transposed, its rows) and C's columns from n0.
    // In the precision in force (gemm.h): bf16 on oneDNN for large products under bf16 or auto.
    auto columns = [&](int64_t i, int64_t n0, int64_t n1) {
      const e3::Operand A = e3::Operand{a, a16, ta ? m : k, ta}.at(i * sa);
      const e3::Operand B = e3::Operand{b, b16, tb ? k : n, tb}.at(i * sb + (tb ? n0 * k : n0));
      e3::gemm(m, n1 - n0, k, 1.0f, A, B, beta, c + i * m * n + n0, n);
    };
    // OpenBLAS runs single-threaded inside e3 (enable.ts); a large product is split by columns over
    // the fused kernels' two threads instead (the output head's [256, 151936] × [151936, 1024]: 1.8×).
    const bool large = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >= 16.0 * (1 << 20);
    const e3::CallPrecision precision(static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
    for (int64_t i = 0; i < batch; i++) {
      if (large) e3ParallelRange(n, 64, [&](int64_t n0, int64_t n1) { columns(i, n0, n1); });
      else columns(i, 0, n);
    }
    return nullptr;
  });
}

// adamw(w, g, m, v, wOut, mOut, vOut, lr, beta1, beta2, eps, decay, bc1, bc2[, gradScale[, wBf16]]): one AdamW
// step on gradient g·gradScale (global-norm clipping folded in: no scaled copy of every gradient); wBf16
// (a Uint16Array) receives the new weight rounded to bf16 in the same pass: the bf16 products' copy.
static napi_value AdamW(napi_env env, napi_callback_info info) {
  size_t argc = 16; napi_value argv[16];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 14) { napi_throw_error(env, nullptr, "adamw: 14 arguments expected"); return nullptr; }
  return e3::guarded(env, [&]() -> napi_value {
    size_t n = 0;
    if (!e3::view(env, argv[0], &n)) e3::Args(env, "adamw", "").fail("w must be a non-empty Float32Array");
    const e3::Args args(env, "adamw", "parameter of " + std::to_string(n) + " floats");
    const int64_t len = static_cast<int64_t>(n);
    float* w = args.value(argv[0], "w", len); float* g = args.value(argv[1], "g", len);
    float* m = args.value(argv[2], "m", len); float* v = args.value(argv[3], "v", len);
    float* wo = args.value(argv[4], "wOut", len); float* mo = args.value(argv[5], "mOut", len);
    float* vo = args.value(argv[6], "vOut", len);
    const float lr = dbl(env, argv[7]), b1 = dbl(env, argv[8]), b2 = dbl(env, argv[9]), eps = dbl(env, argv[10]);
    // 1 − β from the double β: 1.0f − 0.999f is 0.000999987, which scaled v by 1 − 1.3e-5 at every
    // step (test/trainer/adamw-hand.test.ts); the JS loop and the tfjs ops take it from doubles too.
    const float c1 = static_cast<float>(1.0 - dbl(env, argv[8])), c2 = static_cast<float>(1.0 - dbl(env, argv[9]));
    const float decay = dbl(env, argv[11]), bc1 = dbl(env, argv[12]), bc2 = dbl(env, argv[13]);
    const float scale = argc > 14 ? static_cast<float>(dbl(env, argv[14])) : 1.0f;
    const float keep = 1.0f - lr * decay;
    size_t nb = 0;
    uint16_t* wb = argc > 15 ? static_cast<uint16_t*>(e3::typedView(env, argv[15], &nb, napi_uint16_array)) : nullptr;
    if (wb) args.check("wBf16", nb, len);
    // Memory-bound: two threads for large parameters (both cores' bandwidth), vectorised loop; the
    // bf16 copy is rounded from each block of new weights while they are still in cache.
    e3ParallelRange(len, 1 << 16, [=](int64_t i0, int64_t i1) {
      constexpr int64_t kBlock = 4096;
      for (int64_t j0 = i0; j0 < i1; j0 += kBlock) {
        const int64_t j1 = std::min(i1, j0 + kBlock);
        for (int64_t i = j0; i < j1; i++) {
          const float gi = g[i] * scale;
          const float mi = b1 * m[i] + c1 * gi;
          const float vi = b2 * v[i] + c2 * gi * gi;
          mo[i] = mi; vo[i] = vi;
          wo[i] = w[i] * keep - lr * (mi / bc1) / (std::sqrt(vi / bc2) + eps);
        }
        if (wb) e3::toBf16(wo + j0, wb + j0, j1 - j0);
      }
    });
    return nullptr;
  });
}

// add(x, y, out): out = x + y elementwise (out may be x or y), on two threads when large.
static napi_value Add(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 3) { napi_throw_error(env, nullptr, "add: 3 arguments expected"); return nullptr; }
  return e3::guarded(env, [&]() -> napi_value {
    size_t n = 0;
    if (!e3::view(env, argv[0], &n)) e3::Args(env, "add", "").fail("x must be a non-empty Float32Array");
    const e3::Args args(env, "add", std::to_string(n) + " floats");
    const int64_t len = static_cast<int64_t>(n);
    const float* x = args.value(argv[0], "x", len); const float* y = args.value(argv[1], "y", len);
    float* out = args.value(argv[2], "out", len);
    e3ParallelRange(len, 1 << 18, [=](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; i++) out[i] = x[i] + y[i];
    });
    return nullptr;
  });
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  openblas_set_num_threads(static_cast<int>(num(env, argv[0])));
  return nullptr;
}

void RegisterDecoderBlock(napi_env env, napi_value exports);
void RegisterHeadRows(napi_env env, napi_value exports);
void RegisterGemm(napi_env env, napi_value exports);

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sgemmBatched", nullptr, SgemmBatched, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"add", nullptr, Add, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 4, props);
  RegisterDecoderBlock(env, exports);
  RegisterHeadRows(env, exports);
  RegisterGemm(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
