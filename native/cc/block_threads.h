// The fused kernels' second thread (the machines e3 targets have two cores or more): a worker
// that runs half of a phase while the calling thread runs the other half, how a decoder block's
// phases are split between the two, and per-thread scratch memory. Used by decoder_block.cc, and
// through e3ParallelRange by blas.cc (AdamW) and head_rows.cc.
#pragma once
#include <immintrin.h>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace e3::block {

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

// The phases of a block with `work` multiply-adds: on two threads from kMinWorkToSplit.
Phases phasesFor(double work);

// From this many bytes of projection weights per block, the two threads split each projection's
// features; below it (weights that stay in cache, where packing is cheap) each thread runs the
// whole block on half of the sequences, with one hand-off instead of a dozen. Measured: the d=64
// teacher's training step was 10–20% slower split by features; a Qwen3-0.6B block (62 MB) was
// 1.3× faster split by features.
constexpr double kMinWeightBytesToSplitFeatures = 16.0 * (1 << 20);

}  // namespace e3::block

// Runs f over [0, n) in two halves on two threads when n ≥ minSplit (used by blas.cc's AdamW).
void e3ParallelRange(int64_t n, int64_t minSplit, const std::function<void(int64_t, int64_t)>& f);
