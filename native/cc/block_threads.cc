// The fused kernels' second thread: see block_threads.h.
#include "block_threads.h"

namespace e3::block {

std::atomic<int> Worker::requested{2};

Phases phasesFor(double work) {
  Worker* w = Worker::get();
  return Phases{w && work >= kMinWorkToSplit ? w : nullptr};
}

}  // namespace e3::block

using e3::block::Worker;

void e3ParallelRange(int64_t n, int64_t minSplit, const std::function<void(int64_t, int64_t)>& f) {
  Worker* w = Worker::get();
  if (!w || n < minSplit) { f(0, n); return; }
  w->run([&] { f(0, n / 2); }, [&] { f(n / 2, n); });
}
