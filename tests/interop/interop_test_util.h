// interop_test_util.h: what the tests that run other tools (ONNX Runtime through node, Python)
// share — shell quoting, running a command with its output captured, and prediction counting.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace lowbit::interop_testing {

inline const std::string kSource = LOWBIT_SOURCE_DIR;
inline constexpr int64_t kTestImages = 10000;    // the Fashion-MNIST test split
inline constexpr int64_t kMaxTop1Diff = 10;      // images: top-1 within 0.1 points of ONNX Runtime's
inline constexpr int64_t kMinAgreement = 9990;   // images: predictions equal on >= 99.9 %

// Single-quotes `s` for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Shell {
  int code = -1;
  std::string out, err;
};

// Runs `cmd` under /bin/sh with stdout and stderr captured in files of `tmp`.
inline Shell shell(const std::string& cmd, const lowbit::testing::TempDir& tmp) {
  static int calls = 0;
  const std::string out = tmp.path("cmd" + std::to_string(calls) + ".out");
  const std::string err = tmp.path("cmd" + std::to_string(calls++) + ".err");
  const int status = std::system((cmd + " >" + quote(out) + " 2>" + quote(err)).c_str());
  Shell r;
  r.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream o(out, std::ios::binary), e(err, std::ios::binary);
  r.out.assign(std::istreambuf_iterator<char>(o), {});
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

// Positions where the two prediction lists agree.
inline int64_t count_equal(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  int64_t same = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) same += a[i] == b[i];
  return same;
}

// onnxruntime-node must be installed where LOWBIT_ORT_DIR points (scripts/ort_setup.sh BUILD),
// and node must run.
inline void require_ort(const lowbit::testing::TempDir& tmp) {
  const std::string pkg = std::string(LOWBIT_ORT_DIR) + "/node_modules/onnxruntime-node/package.json";
  ASSERT_TRUE(std::filesystem::exists(pkg))
      << "onnxruntime-node is not installed in " << LOWBIT_ORT_DIR << ": run scripts/ort_setup.sh BUILD (BUILD = "
      << std::filesystem::path(LOWBIT_ORT_DIR).parent_path().string() << ")";
  const Shell node = shell("node --version", tmp);
  ASSERT_EQ(node.code, 0) << "node does not run (" << node.err << "): run scripts/ort_setup.sh BUILD, which installs nodejs";
}

}  // namespace lowbit::interop_testing
