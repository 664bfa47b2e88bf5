// Matrix products on oneDNN's matmul primitive (Debian's libdnnl-dev), in bf16 (f32 accumulation
// and output: brgemm on AMX or avx512_core_bf16) or f32. Built only where oneDNN is installed
// (native/build.js); no_onednn.cc stands in otherwise.
//
// - Primitives are cached by shape, per thread (each of e3's two threads runs its own products).
// - The scratchpad is e3's (scratchpad_mode::user): one per-thread buffer grown to the largest need.
// - oneDNN runs single-threaded inside each call: e3 splits products over its own two threads
//   (decoder_block.cc's Phases), and oneDNN's OpenMP team on top of those would oversubscribe.
#include "gemm.h"
#include <dnnl.hpp>
#include <omp.h>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Key {
  bool bf16, ta, tb;
  int64_t M, N, K, lda, ldb, ldc;
  float alpha, beta;
  bool operator==(const Key& o) const {
    return bf16 == o.bf16 && ta == o.ta && tb == o.tb && M == o.M && N == o.N && K == o.K && lda == o.lda &&
           ldb == o.ldb && ldc == o.ldc && alpha == o.alpha && beta == o.beta;
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    size_t h = (k.bf16 ? 1 : 0) | (k.ta ? 2 : 0) | (k.tb ? 4 : 0);
    for (int64_t v : {k.M, k.N, k.K, k.lda, k.ldb, k.ldc}) h = h * 1000003u ^ static_cast<size_t>(v);
    return h ^ std::hash<float>()(k.alpha) * 31 ^ std::hash<float>()(k.beta);
  }
};

struct Cached {
  dnnl::matmul primitive;
  size_t scratchpadBytes;
};

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A row-major matrix of rows × cols stored with leading dimension ld, or its transpose.
dnnl::memory::desc matrixDesc(int64_t rows, int64_t cols, int64_t ld, bool trans, dnnl::memory::data_type dt) {
  return dnnl::memory::desc({rows, cols}, dt, trans ? dnnl::memory::dims{1, ld} : dnnl::memory::dims{ld, 1});
}

Cached make(const Key& k) {
  using dt = dnnl::memory::data_type;
  const dt in = k.bf16 ? dt::bf16 : dt::f32;
  const auto a = matrixDesc(k.M, k.K, k.lda, k.ta, in);
  const auto b = matrixDesc(k.K, k.N, k.ldb, k.tb, in);
  const auto c = matrixDesc(k.M, k.N, k.ldc, false, dt::f32);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (k.alpha != 1.0f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(k.beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, cpuEngine());
  return {dnnl::matmul(pd), pd.scratchpad_desc().get_size()};
}

}  // namespace

// Returns false, having written nothing, where oneDNN cannot create or run the product.
bool e3DnnlMatmul(bool bf16, int64_t M, int64_t N, int64_t K, float alpha, const void* A, int64_t lda, bool ta,
                  const void* B, int64_t ldb, bool tb, float beta, float* C, int64_t ldc) {
  static thread_local bool oneThread = (omp_set_num_threads(1), true);
  (void)oneThread;
  static thread_local std::unordered_map<Key, Cached, KeyHash> cache;
  static thread_local std::vector<uint8_t> scratchpad;
  static thread_local dnnl::stream stream(cpuEngine());
  const Key key{bf16, ta, tb, M, N, K, lda, ldb, ldc, alpha, beta};
  auto it = cache.find(key);
  try {
    if (it == cache.end()) it = cache.emplace(key, make(key)).first;
  } catch (const dnnl::error&) {
    return false;  // a shape or layout this oneDNN cannot do: the caller computes it in f32
  }
  const Cached& p = it->second;
  if (scratchpad.size() < p.scratchpadBytes) scratchpad.resize(p.scratchpadBytes);
  using dt = dnnl::memory::data_type;
  const dt in = bf16 ? dt::bf16 : dt::f32;
  auto& e = cpuEngine();
  dnnl::memory a(matrixDesc(M, K, lda, ta, in), e, const_cast<void*>(A));
  dnnl::memory b(matrixDesc(K, N, ldb, tb, in), e, const_cast<void*>(B));
  dnnl::memory c(matrixDesc(M, N, ldc, false, dt::f32), e, C);
  try {
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    if (p.scratchpadBytes > 0) {
      const dnnl::memory::desc bytes({static_cast<int64_t>(p.scratchpadBytes)}, dt::u8, dnnl::memory::dims{1});
      args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(bytes, e, scratchpad.data()));
    }
    p.primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error&) {
    return false;
  }
  return true;
}

const char* e3DnnlIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx2: return "avx2";
    default: return "other";
  }
}

const char* e3DnnlVersion() {
  static const std::string v = [] {
    const dnnl_version_t* x = dnnl_version();
    return std::to_string(x->major) + "." + std::to_string(x->minor) + "." + std::to_string(x->patch);
  }();
  return v.c_str();
}
