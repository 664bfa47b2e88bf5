// e3's one matrix product: C = alpha·op(A)·op(B) + beta·C (row-major), in f32 on OpenBLAS or in
// bf16 (f32 accumulation and output) on oneDNN, by the precision in force (gemm.cc). Each operand
// may come as f32, as bf16, or as both (a trainable weight's f32 master and its bf16 copy): the
// product uses the one its precision needs and converts only when it has to.
#pragma once
#include <cstdint>

namespace e3 {

// One operand, as stored: rows × cols with leading dimension ld; op() transposes it when trans.
struct Operand {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
  int64_t ld = 0;
  bool trans = false;
  // The same matrix from element offset `at` (a block of rows or columns).
  Operand at(int64_t offset) const {
    Operand o = *this;
    if (o.f32) o.f32 += offset;
    if (o.bf16) o.bf16 += offset;
    return o;
  }
};

// How products are computed: f32 always; bf16 always (where oneDNN is built in); or auto: bf16
// from kAutoMinWork multiply-adds on (below it, f32 is as fast or faster: gemm.cc).
enum class Precision { f32 = 0, bf16 = 1, autoBySize = 2 };

void setPrecision(Precision p);
Precision precision();

// op(A) [M, K] · op(B) [K, N] into C [M, N] (leading dimension ldc).
void gemm(int64_t M, int64_t N, int64_t K, float alpha, const Operand& A, const Operand& B, float beta, float* C,
          int64_t ldc);

// Whether gemm would compute an M×N×K product in bf16 under the precision in force.
bool gemmInBf16(int64_t M, int64_t N, int64_t K);

// For the life of one entry point's call: every product runs in the precision decided once for the
// whole call, auto's size rule applied to `work` (the call's largest product, in multiply-adds), so
// that splitting products over threads, by features or by sequences, cannot change it.
class CallPrecision {
 public:
  explicit CallPrecision(double work);
  ~CallPrecision();
  CallPrecision(const CallPrecision&) = delete;
  CallPrecision& operator=(const CallPrecision&) = delete;
};

// f32 → bf16, rounded to nearest even (NaN stays NaN), n values.
void toBf16(const float* src, uint16_t* dst, int64_t n);

}  // namespace e3

// oneDNN's matmul (onednn_matmul.cc; stubs in no_onednn.cc where oneDNN is not built in).
// `bf16`: A and B are bf16 (uint16) arrays, else f32; C is f32. Returns false if oneDNN is absent.
bool e3DnnlMatmul(bool bf16, int64_t M, int64_t N, int64_t K, float alpha, const void* A, int64_t lda, bool ta,
                  const void* B, int64_t ldb, bool tb, float beta, float* C, int64_t ldc);
// oneDNN's ISA on this CPU (e.g. "avx512_core_amx"), or "" without oneDNN.
const char* e3DnnlIsa();
// oneDNN's version ("2.6.3"), or "" without it.
const char* e3DnnlVersion();
