// e3's matrix product (gemm.h): OpenBLAS sgemm in f32, or oneDNN in bf16 with f32 accumulation,
// by the precision the run chose (native/src/precision.ts), plus the addon's entry points for it.
#include <node_api.h>
#include "args.h"
#include "gemm.h"
#include <cblas.h>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::atomic<int> current{static_cast<int>(e3::Precision::f32)};

// In auto, products of fewer multiply-adds than this stay in f32: the shipped d=64 teacher's (its
// largest, [512×64]·[64×192], is 6Mi) must not get slower on any CPU, and small products are where
// bf16 gains least (conversion and primitive overheads; AMX tiles half empty). Qwen3-0.6B's projections
// (512·1024·3072 = 1.5Gi) are far above it. Measured on avx512_core_bf16 without AMX (one thread,
// bench/matmul-rates.js): oneDNN bf16 2.5–4.8× OpenBLAS f32 at d=64, d=1024 and 2048³ alike, yet the
// d=64 teacher's whole training step all in bf16 took 0.89× and, in a second run, 1.18× the f32 time
// (conversions and call overheads eat the gain at that size), while a d=1024 block's took 0.21–0.29×.
// Not measured on AMX.
constexpr double kAutoMinWork = 32.0 * (1 << 20);

bool haveDnnl() { return e3DnnlVersion()[0] != '\0'; }

// The decision of the call in progress (CallPrecision): -1 none, 0 f32, 1 bf16. Calls come one at a
// time from JS's thread; the kernels' worker thread runs only inside them.
std::atomic<int> callDecision{-1};

// Per-thread conversion buffers, two slots (one per operand), grown to the largest need.
template <typename T>
T* buffer(int slot, int64_t n) {
  static thread_local std::vector<T> bufs[2];
  if (static_cast<int64_t>(bufs[slot].size()) < n) bufs[slot].resize(n);
  return bufs[slot].data();
}

// The stored rows × cols of `o` as packed bf16 (leading dimension cols).
const uint16_t* packedBf16(const e3::Operand& o, int64_t rows, int64_t cols, int slot) {
  uint16_t* out = buffer<uint16_t>(slot, rows * cols);
  for (int64_t r = 0; r < rows; r++) e3::toBf16(o.f32 + r * o.ld, out + r * cols, cols);
  return out;
}

// The stored rows × cols of `o` as packed f32 (bf16 is the top half of an f32: a shift).
const float* packedF32(const e3::Operand& o, int64_t rows, int64_t cols, int slot) {
  uint32_t* out = reinterpret_cast<uint32_t*>(buffer<float>(slot, rows * cols));
  for (int64_t r = 0; r < rows; r++) {
    const uint16_t* __restrict src = o.bf16 + r * o.ld;
    uint32_t* __restrict dst = out + r * cols;
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) dst[j] = static_cast<uint32_t>(src[j]) << 16;
  }
  return reinterpret_cast<float*>(out);
}

}  // namespace

namespace e3 {

void setPrecision(Precision p) { current.store(static_cast<int>(p)); }
Precision precision() { return static_cast<Precision>(current.load()); }

bool gemmInBf16(int64_t M, int64_t N, int64_t K) {
  const Precision p = precision();
  if (p == Precision::f32 || !haveDnnl()) return false;
  const int decided = callDecision.load(std::memory_order_relaxed);
  if (decided >= 0) return decided == 1;
  return p == Precision::bf16 || static_cast<double>(M) * N * K >= kAutoMinWork;
}

CallPrecision::CallPrecision(double work) {
  const Precision p = precision();
  callDecision.store(p == Precision::bf16 || (p == Precision::autoBySize && work >= kAutoMinWork) ? 1 : 0);
}

CallPrecision::~CallPrecision() { callDecision.store(-1); }

void toBf16(const float* src, uint16_t* dst, int64_t n) {
  const uint32_t* __restrict s = reinterpret_cast<const uint32_t*>(src);
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    const uint32_t u = s[i];
    const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
    dst[i] = static_cast<uint16_t>(nan ? (u >> 16) | 0x40u : (u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
}

void gemm(int64_t M, int64_t N, int64_t K, float alpha, const Operand& A, const Operand& B, float beta, float* C,
          int64_t ldc) {
  // Stored shapes: A is [M, K] ([K, M] transposed), B is [K, N] ([N, K] transposed).
  const int64_t ar = A.trans ? K : M, ac = A.trans ? M : K, br = B.trans ? N : K, bc = B.trans ? K : N;
  if (gemmInBf16(M, N, K)) {
    const uint16_t* a = A.bf16 ? A.bf16 : packedBf16(A, ar, ac, 0);
    const uint16_t* b = B.bf16 ? B.bf16 : packedBf16(B, br, bc, 1);
    const int64_t lda = A.bf16 ? A.ld : ac, ldb = B.bf16 ? B.ld : bc;
    if (e3DnnlMatmul(true, M, N, K, alpha, a, lda, A.trans, b, ldb, B.trans, beta, C, ldc)) return;
    // oneDNN refused this product (it writes nothing then): f32 below, from whichever values there are.
  }
  const float* a = A.f32 ? A.f32 : packedF32(A, ar, ac, 0);
  const float* b = B.f32 ? B.f32 : packedF32(B, br, bc, 1);
  cblas_sgemm(CblasRowMajor, A.trans ? CblasTrans : CblasNoTrans, B.trans ? CblasTrans : CblasNoTrans, M, N, K, alpha,
              a, A.f32 ? A.ld : ac, b, B.f32 ? B.ld : bc, beta, C, ldc);
}

}  // namespace e3

namespace {

std::string text(napi_env env, napi_value v) {
  char buf[32] = {0};
  size_t len = 0;
  napi_get_value_string_utf8(env, v, buf, sizeof(buf), &len);
  return std::string(buf, len);
}

napi_value str(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

// setPrecision("f32" | "bf16" | "auto"): how gemm computes from now on (auto: bf16 for large products).
napi_value SetPrecision(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  const std::string p = argc ? text(env, argv[0]) : "";
  if (p != "f32" && p != "bf16" && p != "auto") {
    const std::string what = "setPrecision: \"f32\", \"bf16\" or \"auto\" expected, got \"" + p + "\"";
    napi_throw_range_error(env, "E3_NATIVE_ARGS", what.c_str());
    return nullptr;
  }
  e3::setPrecision(p == "f32" ? e3::Precision::f32 : p == "bf16" ? e3::Precision::bf16 : e3::Precision::autoBySize);
  return nullptr;
}

// precisionInfo(): { onednn: version or "", isa: oneDNN's ISA here or "", autoMinWork }.
napi_value PrecisionInfo(napi_env env, napi_callback_info) {
  napi_value out, work;
  napi_create_object(env, &out);
  napi_set_named_property(env, out, "onednn", str(env, e3DnnlVersion()));
  napi_set_named_property(env, out, "isa", str(env, e3DnnlIsa()));
  napi_create_double(env, kAutoMinWork, &work);
  napi_set_named_property(env, out, "autoMinWork", work);
  return out;
}

// toBf16(src: Float32Array, dst: Uint16Array): dst = src rounded to bf16 (nearest even).
napi_value ToBf16(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args args(env, "toBf16", "");
    if (argc < 2) args.fail("(Float32Array, Uint16Array) expected");
    size_t n = 0, m = 0;
    const float* src = e3::view(env, argv[0], &n);
    auto* dst = static_cast<uint16_t*>(e3::typedView(env, argv[1], &m, napi_uint16_array));
    if (!src || !dst) args.fail("(Float32Array, Uint16Array) expected");
    args.check("dst", m, static_cast<int64_t>(n));
    e3::toBf16(src, dst, static_cast<int64_t>(n));
    return nullptr;
  });
}

// matmulWith(engine, a, b, out, m, n, k, ta, tb): out = op(a)·op(b) on one engine regardless of the
// precision in force — "openblas" (f32), "onednn-f32", "onednn-bf16" (a, b Uint16Arrays of bf16).
// For bench/matmul-rates.js; returns false where the engine is not built in.
napi_value MatmulWith(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  return e3::guarded(env, [&]() -> napi_value {
    if (argc < 9) e3::Args(env, "matmulWith", "").fail("(engine, a, b, out, m, n, k, ta, tb) expected");
    const std::string engine = text(env, argv[0]);
    int64_t m = 0, n = 0, k = 0;
    napi_get_value_int64(env, argv[4], &m);
    napi_get_value_int64(env, argv[5], &n);
    napi_get_value_int64(env, argv[6], &k);
    bool ta = false, tb = false;
    napi_get_value_bool(env, argv[7], &ta);
    napi_get_value_bool(env, argv[8], &tb);
    const std::string dims = " m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k);
    const e3::Args args(env, "matmulWith", engine + dims);
    if (m < 1 || n < 1 || k < 1) args.fail("m, n and k must be positive");
    float* c = args.value(argv[3], "out", m * n);
    bool done = false;
    if (engine == "onednn-bf16") {
      size_t la = 0, lb = 0;
      const void* a = e3::typedView(env, argv[1], &la, napi_uint16_array);
      const void* b = e3::typedView(env, argv[2], &lb, napi_uint16_array);
      if (!a || !b) args.fail("a and b must be Uint16Arrays of bf16 values");
      args.check("a", la, m * k);
      args.check("b", lb, k * n);
      done = e3DnnlMatmul(true, m, n, k, 1.0f, a, ta ? m : k, ta, b, tb ? k : n, tb, 0.0f, c, n);
    } else if (engine == "onednn-f32" || engine == "openblas") {
      const float* a = args.value(argv[1], "a", m * k);
      const float* b = args.value(argv[2], "b", k * n);
      if (engine == "openblas") {
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                    ta ? m : k, b, tb ? k : n, 0.0f, c, n);
        done = true;
      } else {
        done = e3DnnlMatmul(false, m, n, k, 1.0f, a, ta ? m : k, ta, b, tb ? k : n, tb, 0.0f, c, n);
      }
    } else {
      args.fail("engine must be openblas, onednn-f32 or onednn-bf16");
    }
    napi_value out;
    napi_get_boolean(env, done, &out);
    return out;
  });
}

}  // namespace

void RegisterGemm(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"setPrecision", nullptr, SetPrecision, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"precisionInfo", nullptr, PrecisionInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"toBf16", nullptr, ToBf16, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"matmulWith", nullptr, MatmulWith, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 4, props);
}
