// thread_pool.h: a fixed pool of worker threads and parallel_for, used by the heavy ops.
//
// parallel_for(n, grain, fn) splits [0, n) into contiguous chunks of at least `grain` items,
// calls fn(begin, end) for each, and returns when all are done. The calling thread takes a
// share of the work, so a pool of T threads keeps T-1 workers. Calls from inside a worker
// run serially (no nested parallelism, no deadlock), and so does a call from a second outside
// thread while the pool is busy with another's.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lowbit {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool; its size comes from set_default_threads(), else LOWBIT_THREADS,
  // else the number of hardware threads.
  static ThreadPool& global();
  // Resizes the global pool (OpenBLAS itself always runs single-threaded: kernels/fp32/sgemm.h).
  static void set_default_threads(int num_threads);

 private:
  void worker_loop();

  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // held by the one outside caller the pool serves at a time
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0, job_chunk_ = 0, next_chunk_ = 0, num_chunks_ = 0, chunks_done_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// Number of threads the global pool uses.
int default_threads();

}  // namespace lowbit
