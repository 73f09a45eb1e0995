// cli_util.cc: error reporting, thread settings and the progress line.
#include "cli_util.h"

#include <unistd.h>

#include <cstdio>

#include "core/thread_pool.h"

namespace lowbit::cli {

int report_error(const Status& status) {
  std::string msg = status.message();
  for (char& c : msg)
    if (c == '\n') c = ' ';
  std::fprintf(stderr, "lowbit: %s\n", msg.c_str());
  return kExitBadInput;
}

void apply_threads(int threads) {
  // OpenBLAS stays single-threaded (kernels/fp32/sgemm.h): all parallelism is this pool's.
  if (threads > 0) ThreadPool::set_default_threads(threads);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Progress::Progress(std::string what, int64_t total)
    : what_(std::move(what)), total_(total), start_(std::chrono::steady_clock::now()), last_(start_),
      tty_(isatty(STDERR_FILENO)) {}

void Progress::update(int64_t done, const std::string& extra) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (elapsed < 1.0 || (shown_ && since_last < (tty_ ? 0.1 : 5.0))) return;
  last_ = now;
  shown_ = true;
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  std::fprintf(stderr, "%s%s: %lld/%lld (%.0f%%) %s%s", tty_ ? "\r\033[K" : "", what_.c_str(),
               static_cast<long long>(done), static_cast<long long>(total_), pct, extra.c_str(), tty_ ? "" : "\n");
  std::fflush(stderr);
}

void Progress::finish() {
  if (shown_ && tty_) std::fprintf(stderr, "\n");
  shown_ = false;
}

}  // namespace lowbit::cli
