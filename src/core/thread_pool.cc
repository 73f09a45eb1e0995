// thread_pool.cc: the worker pool behind parallel_for.
#include "core/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace lowbit {
namespace {

thread_local bool t_in_worker = false;
int g_requested_threads = 0;
std::unique_ptr<ThreadPool> g_pool;
std::mutex g_pool_mu;

int threads_from_env() {
  if (const char* env = std::getenv("LOWBIT_THREADS")) {
    int v = std::atoi(env);
    if (v > 0) return v;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < std::max(1, num_threads); ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::worker_loop() {
  t_in_worker = true;
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || (generation_ != seen && next_chunk_ < num_chunks_); });
    if (stop_) return;
    while (next_chunk_ < num_chunks_) {
      const int64_t c = next_chunk_++;
      const auto* fn = job_;
      const int64_t begin = c * job_chunk_, end = std::min(job_n_, begin + job_chunk_);
      lock.unlock();
      (*fn)(begin, end);
      lock.lock();
      if (++chunks_done_ == num_chunks_) done_cv_.notify_all();
    }
    seen = generation_;
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = std::min<int64_t>((n + grain - 1) / grain, 4 * num_threads());
  if (workers_.empty() || t_in_worker || max_chunks <= 1) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> busy(call_mu_, std::try_to_lock);
  if (!busy.owns_lock()) {
    fn(0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &fn;
  job_n_ = n;
  job_chunk_ = (n + max_chunks - 1) / max_chunks;
  num_chunks_ = (n + job_chunk_ - 1) / job_chunk_;
  next_chunk_ = 0;
  chunks_done_ = 0;
  ++generation_;
  work_cv_.notify_all();
  // The caller works too; chunks are claimed under the lock so each runs once.
  t_in_worker = true;
  while (next_chunk_ < num_chunks_) {
    const int64_t c = next_chunk_++;
    const int64_t begin = c * job_chunk_, end = std::min(job_n_, begin + job_chunk_);
    lock.unlock();
    fn(begin, end);
    lock.lock();
    ++chunks_done_;
  }
  t_in_worker = false;
  done_cv_.wait(lock, [&] { return chunks_done_ == num_chunks_; });
  job_ = nullptr;
  num_chunks_ = 0;
}

ThreadPool& ThreadPool::global() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(default_threads());
  return *g_pool;
}

void ThreadPool::set_default_threads(int num_threads) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  g_requested_threads = std::max(1, num_threads);
  if (g_pool && g_pool->num_threads() != g_requested_threads) g_pool.reset();
}

int default_threads() { return g_requested_threads > 0 ? g_requested_threads : threads_from_env(); }

}  // namespace lowbit
