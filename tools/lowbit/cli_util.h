// cli_util.h: what every `lowbit` subcommand shares — exit codes, error output, progress, threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace lowbit::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 2;  // bad model, data, shape, option or recipe

// Prints "lowbit: <message>" on one line to stderr and returns kExitBadInput.
int report_error(const Status& status);

// Applies --threads (0 = default) to lowbit's worker pool.
void apply_threads(int threads);

// A progress line on stderr for work that takes over a second: silent for the first second,
// then redrawn in place on a terminal (at most 10 times a second) or printed every 5 seconds
// to a file or pipe; finish() ends the line.
class Progress {
 public:
  Progress(std::string what, int64_t total);
  void update(int64_t done, const std::string& extra = "");
  void finish();

 private:
  std::string what_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
  bool shown_ = false, tty_ = false;
};

// Seconds since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace lowbit::cli
