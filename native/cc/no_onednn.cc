// Stand-ins for onednn_matmul.cc where oneDNN is not installed (native/build.js builds one or the
// other): every product runs on OpenBLAS in f32, and e3 says so in the run log.
#include "gemm.h"

bool e3DnnlMatmul(bool, int64_t, int64_t, int64_t, float, const void*, int64_t, bool, const void*, int64_t, bool, float,
                  float*, int64_t) {
  return false;
}
const char* e3DnnlIsa() { return ""; }
const char* e3DnnlVersion() { return ""; }
