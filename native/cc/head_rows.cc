// e3 output-head row statistics: what the chunked output head takes from each row of logits
// [rows, V] (V up to 151,936 and more), in one or two passes per row instead of a chain of
// tensor ops over [rows, V] (on the cpu backend each op is a JS loop; a chunk's log-softmax,
// top-k and entropy took ~50 s there for 256 rows of a Qwen3 vocabulary). Rows are split
// across the two threads. Every length is checked (args.h).
#include <node_api.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include "args.h"

void e3ParallelRange(int64_t n, int64_t minSplit, const std::function<void(int64_t, int64_t)>& f);

namespace {

// log Σ_j exp(z_j) of one row, stably (the max first), in double: each log-probability z_j − lse
// is then rounded once.
double logSumExp(const float* z, int64_t V) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < V; j++) m = std::max(m, z[j]);
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < V; j++) s += std::exp(z[j] - m);
  return m + std::log(s);
}

// logSumExp of two rows in one loop: the same summation order for both (a separate call may
// split a row differently into vector lanes, by its alignment), so equal rows give equal results
// and their KL is exactly 0.
void logSumExp2(const float* p, const float* q, int64_t V, double* lp, double* lq) {
  float mp = -INFINITY, mq = -INFINITY;
#pragma omp simd reduction(max : mp, mq)
  for (int64_t j = 0; j < V; j++) { mp = std::max(mp, p[j]); mq = std::max(mq, q[j]); }
  double sp = 0, sq = 0;
#pragma omp simd reduction(+ : sp, sq)
  for (int64_t j = 0; j < V; j++) { sp += std::exp(p[j] - mp); sq += std::exp(q[j] - mq); }
  *lp = mp + std::log(sp);
  *lq = mq + std::log(sq);
}

int64_t num(napi_env env, napi_value v) { int64_t x = 0; napi_get_value_int64(env, v, &x); return x; }

// Reads (…, rows, V) at argv[at], argv[at + 1] and checks both are positive.
void shape(napi_env env, napi_value* argv, int at, const e3::Args& a, int64_t* rows, int64_t* V) {
  *rows = num(env, argv[at]);
  *V = num(env, argv[at + 1]);
  if (*rows < 1 || *V < 1) a.fail("rows and V must be positive");
}

bool argCount(napi_env env, napi_callback_info info, size_t want, napi_value* argv, const char* usage) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= want) return true;
  napi_throw_error(env, nullptr, usage);
  return false;
}

// The (logits, rows, V, cols, m) arguments of headPick and headPickGrad, checked: lengths, and
// every id in [0, V).
struct Picked {
  int64_t rows, V, m;
  const float* z;
  const int32_t* cols;
};

Picked picked(napi_env env, napi_value* argv, const e3::Args& a) {
  Picked p{};
  shape(env, argv, 1, a, &p.rows, &p.V);
  p.m = num(env, argv[4]);
  if (p.m < 0) a.fail("m must not be negative");
  p.z = a.value(argv[0], "logits", p.rows * p.V);
  p.cols = p.m ? a.ints(argv[3], "cols", p.rows * p.m) : nullptr;
  for (int64_t i = 0; i < p.rows * p.m; i++) {
    if (p.cols[i] < 0 || p.cols[i] >= p.V) a.fail("id " + std::to_string(p.cols[i]) + " is not in [0, V)");
  }
  return p;
}

// headTopK(logits, rows, V, k, ids, logProbs, entropy): per row the k largest log-probabilities
// (descending; equal values by lower id, as tf.topk) with their ids, and the entropy −Σ p log p.
napi_value HeadTopK(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!argCount(env, info, 7, argv, "headTopK(logits, rows, V, k, ids, logProbs, entropy) expected")) return nullptr;
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a(env, "headTopK", "");
    int64_t rows, V;
    shape(env, argv, 1, a, &rows, &V);
    const int64_t k = num(env, argv[3]);
    if (k < 1 || k > V) a.fail("k must be in [1, V]");
    const float* z = a.value(argv[0], "logits", rows * V);
    int32_t* ids = a.ints(argv[4], "ids", rows * k);
    float* lp = a.value(argv[5], "logProbs", rows * k);
    float* ent = a.value(argv[6], "entropy", rows);
    e3ParallelRange(rows, 2, [=](int64_t r0, int64_t r1) {
      std::vector<std::pair<float, int32_t>> heap;
      // The heap's top is the worst kept: the smallest value, and among equals the largest id.
      auto worse = [](const std::pair<float, int32_t>& x, const std::pair<float, int32_t>& y) {
        return x.first > y.first || (x.first == y.first && x.second < y.second);
      };
      for (int64_t r = r0; r < r1; r++) {
        const float* row = z + r * V;
        const double lse = logSumExp(row, V);
        const float lsef = static_cast<float>(lse);
        float h = 0;
#pragma omp simd reduction(+ : h)
        for (int64_t j = 0; j < V; j++) { const float l = row[j] - lsef; h -= std::exp(l) * l; }
        ent[r] = h;
        heap.clear();
        for (int64_t j = 0; j < V; j++) {
          const std::pair<float, int32_t> c{row[j], static_cast<int32_t>(j)};
          if (static_cast<int64_t>(heap.size()) < k) { heap.push_back(c); std::push_heap(heap.begin(), heap.end(), worse); }
          else if (worse(c, heap.front())) { std::pop_heap(heap.begin(), heap.end(), worse); heap.back() = c; std::push_heap(heap.begin(), heap.end(), worse); }
        }
        std::sort_heap(heap.begin(), heap.end(), worse);
        for (int64_t i = 0; i < k; i++) { ids[r * k + i] = heap[i].second; lp[r * k + i] = static_cast<float>(heap[i].first - lse); }
      }
    });
    return nullptr;
  });
}

// headPick(logits, rows, V, cols, m, out): out [rows, m + 1] = log-softmax at cols[r, i], then the
// row's mean log-softmax. Ids outside [0, V) are an error.
napi_value HeadPick(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!argCount(env, info, 6, argv, "headPick(logits, rows, V, cols, m, out) expected")) return nullptr;
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a(env, "headPick", "");
    const Picked p = picked(env, argv, a);
    const int64_t V = p.V, m = p.m;
    const float* z = p.z;
    const int32_t* cols = p.cols;
    float* out = a.value(argv[5], "out", p.rows * (m + 1));
    e3ParallelRange(p.rows, 2, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const float* row = z + r * V;
        const double lse = logSumExp(row, V);
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < V; j++) s += row[j];
        for (int64_t i = 0; i < m; i++) out[r * (m + 1) + i] = static_cast<float>(row[cols[r * m + i]] - lse);
        out[r * (m + 1) + m] = static_cast<float>(s / static_cast<double>(V) - lse);
      }
    });
    return nullptr;
  });
}

// headPickGrad(logits, rows, V, cols, m, g, dz): the gradient to the logits of headPick's
// out under upstream g [rows, m + 1]: dz = scatter(g[:, :m] at cols) + g_mean / V − softmax · Σ g.
napi_value HeadPickGrad(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!argCount(env, info, 7, argv, "headPickGrad(logits, rows, V, cols, m, g, dz) expected")) return nullptr;
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a(env, "headPickGrad", "");
    const Picked p = picked(env, argv, a);
    const int64_t V = p.V, m = p.m;
    const float* z = p.z;
    const int32_t* cols = p.cols;
    const float* g = a.value(argv[5], "g", p.rows * (m + 1));
    float* dz = a.value(argv[6], "dz", p.rows * V);
    e3ParallelRange(p.rows, 2, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const float* row = z + r * V;
        const float* gr = g + r * (m + 1);
        float* d = dz + r * V;
        const float lse = static_cast<float>(logSumExp(row, V));
        float total = 0;
        for (int64_t i = 0; i <= m; i++) total += gr[i];
        const float mean = gr[m] / static_cast<float>(V);
#pragma omp simd
        for (int64_t j = 0; j < V; j++) d[j] = mean - std::exp(row[j] - lse) * total;
        for (int64_t i = 0; i < m; i++) d[cols[r * m + i]] += gr[i];
      }
    });
    return nullptr;
  });
}

// headKl(p, q, rows, V, out): KL(softmax(p) ‖ softmax(q)) per row, from two rows of logits.
napi_value HeadKl(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!argCount(env, info, 5, argv, "headKl(p, q, rows, V, out) expected")) return nullptr;
  return e3::guarded(env, [&]() -> napi_value {
    const e3::Args a(env, "headKl", "");
    int64_t rows, V;
    shape(env, argv, 2, a, &rows, &V);
    const float* p = a.value(argv[0], "p", rows * V);
    const float* q = a.value(argv[1], "q", rows * V);
    float* out = a.value(argv[4], "out", rows);
    e3ParallelRange(rows, 2, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const float* pr = p + r * V;
        const float* qr = q + r * V;
        double lpd, lqd;
        logSumExp2(pr, qr, V, &lpd, &lqd);
        const float lp = static_cast<float>(lpd), lq = static_cast<float>(lqd);
        // KL = Σ p_j (zp_j − zq_j) + (lq − lp) Σ p_j: no difference of two rounded log-probabilities
        // (fast-math may reassociate those), so equal rows give exactly 0.
        float dot = 0, mass = 0;
#pragma omp simd reduction(+ : dot, mass)
        for (int64_t j = 0; j < V; j++) { const float pj = std::exp(pr[j] - lp); dot += pj * (pr[j] - qr[j]); mass += pj; }
        const float kl = dot + (lq - lp) * mass;
        out[r] = kl;
      }
    });
    return nullptr;
  });
}

}  // namespace

void RegisterHeadRows(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"headTopK", nullptr, HeadTopK, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"headPick", nullptr, HeadPick, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"headPickGrad", nullptr, HeadPickGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"headKl", nullptr, HeadKl, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 4, props);
}
