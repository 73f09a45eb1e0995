// cli_test_util.h: running the `lowbit` command from tests and checking its error contract.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace lowbit {

struct CmdResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string temp_dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/lowbit_cli_XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

// Runs `lowbit ARGS`, with `env` ("NAME=value ...") prepended to the command when given.
inline CmdResult lowbit(const std::string& args, const std::string& env = "") {
  const std::string out = temp_dir() + "/stdout", err = temp_dir() + "/stderr";
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(LOWBIT_CLI_PATH) + " " + args + " >" + out +
                          " 2>" + err;
  const int status = std::system(cmd.c_str());
  CmdResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream o(out), e(err);
  r.out.assign(std::istreambuf_iterator<char>(o), {});
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

inline std::string model(const std::string& name) { return std::string(LOWBIT_SOURCE_DIR) + "/models/" + name + ".onnx"; }

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// One line on stderr, starting "lowbit: ", naming `what`.
inline void expect_bad_input(const CmdResult& r, const std::string& what, const std::string& problem) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("lowbit: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
}

}  // namespace lowbit
