// onnx_node_conformance_test.cc: ONNX's own operator tests (Debian's libonnx-testdata), run
// through the real importer and Session for every case whose ops lowbit supports.
//
// A case is model.onnx plus test_data_set_*/{input,output}_N.pb. Outputs are compared with
// ONNX's backend-test tolerances (|y - y_ref| <= atol + rtol·|y_ref|, rtol 1e-3, atol 1e-7),
// integers and booleans exactly. Every case whose model lowbit loads and whose ops it supports
// runs, whatever its dtypes; the few that exercise what lowbit leaves out on purpose are listed
// in kExcluded, each with its reason. Everything else must pass.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "exec/model.h"
#include "exec/session.h"
#include "onnx/import.h"
#include "onnx/tensor_pb.h"
#include "ops/op.h"

namespace lowbit {
namespace {

constexpr const char* kNodeTestDir = "/usr/share/libonnx-testdata/data/node";

// Cases whose ops are supported but which exercise something lowbit leaves out on purpose.
const std::map<std::string, std::string> kExcluded = {
    {"test_batchnorm_epsilon_training_mode", "BatchNormalization training_mode=1: lowbit runs BN in inference form"},
    {"test_batchnorm_example_training_mode", "BatchNormalization training_mode=1: lowbit runs BN in inference form"},
    {"test_cast_FLOAT_to_BFLOAT16", "bfloat16 is not a lowbit dtype"},
    {"test_cast_FLOAT_to_STRING", "strings are not a lowbit dtype"},
    {"test_training_dropout", "training-mode Dropout draws a random mask; lowbit runs Dropout as inference"},
    {"test_training_dropout_default", "training-mode Dropout draws a random mask; lowbit runs Dropout as inference"},
    {"test_training_dropout_default_mask", "training-mode Dropout draws a random mask; lowbit runs Dropout as inference"},
    {"test_training_dropout_mask", "training-mode Dropout draws a random mask; lowbit runs Dropout as inference"},
};

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Compares one output; returns "" when it matches, else what differs.
std::string compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape())
    return fmt::format("shape {} vs expected {}", shape_str(got.shape()), shape_str(want.shape()));
  const bool want_float = want.dtype() == DType::kF32;
  if (!want_float && got.dtype() != want.dtype())
    return fmt::format("dtype {} vs expected {}", dtype_name(got.dtype()), dtype_name(want.dtype()));
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.at_f64(i), w = want.at_f64(i);
    if (want_float) {
      if (std::isnan(w) && std::isnan(g)) continue;
      if (std::isinf(w) && g == w) continue;
      if (!(std::fabs(g - w) <= 1e-7 + 1e-3 * std::fabs(w)))
        return fmt::format("element {}: {} vs expected {}", i, g, w);
    } else if (got.at_i64(i) != want.at_i64(i)) {
      return fmt::format("element {}: {} vs expected {}", i, got.at_i64(i), want.at_i64(i));
    }
  }
  return "";
}

enum class Outcome { kUnsupported, kNotLoadable, kExcluded, kPassed, kFailed };

// Runs one case; `why` explains anything but a pass.
Outcome run_case(const std::string& name, std::string* why) {
  const std::string dir = std::string(kNodeTestDir) + "/" + name;
  Result<ir::Graph> imported = onnx::import_model(dir + "/model.onnx");
  if (!imported.is_ok()) {
    *why = imported.status().message();
    // The model uses element types or forms lowbit does not load: double or float16 inputs,
    // strings, sequences, optionals, or an opset older than 7.
    return Outcome::kNotLoadable;
  }
  ir::Graph graph = std::move(imported).value();
  if (!exec::check_supported(graph).is_ok()) return Outcome::kUnsupported;
  if (auto it = kExcluded.find(name); it != kExcluded.end()) {
    *why = it->second;
    return Outcome::kExcluded;
  }
  const Status prepared = exec::prepare_graph(graph);
  if (!prepared.is_ok()) {
    *why = "prepare: " + prepared.message();
    return Outcome::kFailed;
  }
  Result<exec::Session> session = exec::Session::create(std::move(graph));
  if (!session.is_ok()) {
    *why = session.status().message();
    return Outcome::kFailed;
  }
  bool any_set = false;
  for (const std::string& set : list_dir(dir)) {
    if (set.rfind("test_data_set_", 0) != 0) continue;
    any_set = true;
    const std::string sdir = dir + "/" + set;
    std::vector<Tensor> inputs, expected;
    for (size_t i = 0; exists(sdir + "/input_" + std::to_string(i) + ".pb"); ++i) {
      Result<Tensor> t = onnx::read_tensor_pb(sdir + "/input_" + std::to_string(i) + ".pb");
      if (!t.is_ok()) {
        *why = t.status().message();
        return Outcome::kNotLoadable;
      }
      inputs.push_back(std::move(t).value());
    }
    for (size_t i = 0; exists(sdir + "/output_" + std::to_string(i) + ".pb"); ++i) {
      Result<Tensor> t = onnx::read_tensor_pb(sdir + "/output_" + std::to_string(i) + ".pb");
      if (!t.is_ok()) {
        *why = t.status().message();
        return Outcome::kNotLoadable;
      }
      expected.push_back(std::move(t).value());
    }
    Result<std::vector<Tensor>> got = session->run(inputs);
    if (!got.is_ok()) {
      *why = set + ": " + got.status().message();
      return Outcome::kFailed;
    }
    if (got->size() != expected.size()) {
      *why = fmt::format("{}: {} outputs vs {} expected", set, got->size(), expected.size());
      return Outcome::kFailed;
    }
    for (size_t k = 0; k < expected.size(); ++k) {
      const std::string diff = compare((*got)[k], expected[k]);
      if (!diff.empty()) {
        *why = fmt::format("{}: output {}: {}", set, k, diff);
        return Outcome::kFailed;
      }
    }
  }
  if (!any_set) {
    *why = "no test data";
    return Outcome::kNotLoadable;
  }
  return Outcome::kPassed;
}

TEST(OnnxNodeConformance, AllCasesOfSupportedOpsPass) {
  const std::vector<std::string> cases = list_dir(kNodeTestDir);
  ASSERT_FALSE(cases.empty()) << kNodeTestDir << " is empty: install the Debian package libonnx-testdata";
  std::map<Outcome, int> counts;
  std::vector<std::string> failures;
  for (const std::string& name : cases) {
    std::string why;
    const Outcome r = run_case(name, &why);
    ++counts[r];
    if (r == Outcome::kFailed) failures.push_back(name + ": " + why);
    if (std::getenv("LOWBIT_CONFORMANCE_VERBOSE") && r != Outcome::kUnsupported)
      std::printf("%-55s %s %s\n", name.c_str(),
                  r == Outcome::kPassed ? "pass" : r == Outcome::kFailed ? "FAIL" : r == Outcome::kExcluded ? "excluded" : "not-loadable",
                  why.c_str());
  }
  const int ran = counts[Outcome::kPassed] + counts[Outcome::kFailed];
  std::printf("ONNX node conformance: %zu cases; %d cases of supported ops ran: %d passed, %d failed; "
              "%d excluded with a reason; %d use unsupported ops; %d have inputs or opsets lowbit does not load "
              "(double, float16, string, sequence, opset < 7)\n",
              cases.size(), ran, counts[Outcome::kPassed], counts[Outcome::kFailed], counts[Outcome::kExcluded],
              counts[Outcome::kUnsupported], counts[Outcome::kNotLoadable]);
  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_GT(counts[Outcome::kPassed], 0);
}

// ONNX's quantization ops, case by case: each must run and pass — not be skipped as
// unsupported, unloadable or excluded.
TEST(OnnxNodeConformance, QuantizationOpsPass) {
  const char* const kCases[] = {
      "test_quantizelinear",
      "test_quantizelinear_axis",
      "test_dequantizelinear",
      "test_dequantizelinear_axis",
      "test_dynamicquantizelinear",
      "test_dynamicquantizelinear_max_adjusted",
      "test_dynamicquantizelinear_min_adjusted",
      "test_dynamicquantizelinear_expanded",
      "test_dynamicquantizelinear_max_adjusted_expanded",
      "test_dynamicquantizelinear_min_adjusted_expanded",
      "test_qlinearconv",
      "test_qlinearmatmul_2D",
      "test_qlinearmatmul_3D",
      "test_basic_convinteger",
      "test_convinteger_with_padding",
      "test_convinteger_without_padding",
      "test_matmulinteger",
  };
  auto outcome_name = [](Outcome r) {
    switch (r) {
      case Outcome::kPassed: return "pass";
      case Outcome::kFailed: return "FAIL";
      case Outcome::kExcluded: return "excluded";
      case Outcome::kNotLoadable: return "not-loadable";
      case Outcome::kUnsupported: return "unsupported";
    }
    return "?";
  };
  for (const char* name : kCases) {
    std::string why;
    const Outcome r = run_case(name, &why);
    if (r == Outcome::kUnsupported) {
      Result<ir::Graph> g = onnx::import_model(std::string(kNodeTestDir) + "/" + name + "/model.onnx");
      if (g.is_ok()) why = exec::check_supported(*g).message();
    }
    std::printf("%-55s %s %s\n", name, outcome_name(r), why.c_str());
    EXPECT_EQ(r, Outcome::kPassed) << name << ": " << outcome_name(r) << " " << why;
  }
}

}  // namespace
}  // namespace lowbit
