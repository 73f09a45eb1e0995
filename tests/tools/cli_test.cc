// cli_test.cc: the `lowbit` command end to end — outputs, JSON, and exit code 2 with a one-line
// error naming the file for every kind of bad input. No partial output files.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "tools/cli_test_util.h"
#include "data/npy.h"

namespace lowbit {
namespace {

TEST(Cli, InfoReportsShapesOpsAndMacs) {
  CmdResult r = lowbit("info " + model("lenet") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["inputs"][0]["shape"][1], 1);
  EXPECT_EQ(j["inputs"][0]["shape"][2], 28);
  EXPECT_TRUE(j["inputs"][0]["shape"][0].is_string());  // the dynamic batch
  EXPECT_GT(j["op_counts"]["Conv"].get<int>(), 0);
  EXPECT_GT(j["op_counts"]["BatchNormalization"].get<int>(), 0);
  EXPECT_GT(j["macs_per_sample"].get<int64_t>(), 0);
  EXPECT_TRUE(j["unsupported"].empty());
}

TEST(Cli, InfoCpu) {
  CmdResult r = lowbit("info --cpu --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j.contains("features"));
  // The int8 kernels' instruction set: the best supported one, or the one LOWBIT_ISA names.
  const auto& supported = j["int8_isas_supported"];
  ASSERT_FALSE(supported.empty());
  EXPECT_EQ(supported[0], "scalar");
  EXPECT_EQ(j["int8_isa"], supported.back());
  r = lowbit("info --cpu --json", "LOWBIT_ISA=scalar");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["int8_isa"], "scalar");
  expect_bad_input(lowbit("info --cpu", "LOWBIT_ISA=neon"), "LOWBIT_ISA", "'neon'");
}

TEST(Cli, EvalJsonHasTop1NAndSpeed) {
  CmdResult r = lowbit("eval " + model("mlp") + " --data fashion-mnist --limit 500 --batch 50 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n"], 500);
  EXPECT_GT(j["top1"].get<double>(), 0.7);
  EXPECT_LE(j["top1"].get<double>(), 1.0);
  EXPECT_GT(j["images_per_s"].get<double>(), 0.0);
}

TEST(Cli, RunWritesOutputAndMatchesEval) {
  // Ten real test images through `run`, compared with the argmax `run` prints.
  Tensor x = Tensor::zeros(DType::kF32, {3, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>((i * 37) % 255) / 255.0f;
  const std::string in = temp_dir() + "/x.npy", out = temp_dir() + "/y.npy";
  ASSERT_TRUE(data::write_npy(x, in).is_ok());
  CmdResult r = lowbit("run " + model("lenet") + " --input " + in + " -o " + out + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Result<Tensor> y = data::read_npy(out);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(y->shape(), (Shape{3, 10}));
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (int64_t row = 0; row < 3; ++row) {
    const float* p = y->data<float>() + row * 10;
    int64_t best = std::max_element(p, p + 10) - p;
    EXPECT_EQ(j["outputs"][0]["argmax"][static_cast<size_t>(row)].get<int64_t>(), best);
  }
}

TEST(Cli, EvalOnNpyMatchesEvalOnFashionMnist) {
  // The first 300 test images, normalized as the model's metadata says, saved as .npy with labels.
  data::Normalize norm;
  norm.mean = {0.2860f};
  norm.std_ = {0.3530f};
  Result<std::unique_ptr<data::Dataset>> ds = data::open_fashion_mnist("test", norm);
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  data::Batch b;
  ASSERT_TRUE((*ds)->read(0, 300, &b).is_ok());
  const std::string x = temp_dir() + "/fm300_x.npy", y = temp_dir() + "/fm300_y.npy";
  ASSERT_TRUE(data::write_npy(b.x, x).is_ok());
  ASSERT_TRUE(data::write_npy(Tensor::from_vector<int64_t>({300}, b.labels), y).is_ok());
  CmdResult npy = lowbit("eval " + model("lenet") + " --data " + x + " --labels " + y + " --json");
  CmdResult builtin = lowbit("eval " + model("lenet") + " --data fashion-mnist --limit 300 --json");
  ASSERT_EQ(npy.exit_code, 0) << npy.err;
  ASSERT_EQ(builtin.exit_code, 0) << builtin.err;
  EXPECT_EQ(nlohmann::json::parse(npy.out)["correct"], nlohmann::json::parse(builtin.out)["correct"]);
  EXPECT_EQ(nlohmann::json::parse(npy.out)["n"], 300);
  // Labels of the wrong length are bad input naming the file.
  ASSERT_TRUE(data::write_npy(Tensor::from_vector<int64_t>({2}, {1, 2}), y).is_ok());
  expect_bad_input(lowbit("eval " + model("lenet") + " --data " + x + " --labels " + y), y, "");
}

TEST(Cli, MissingModelFile) {
  expect_bad_input(lowbit("info /nonexistent/m.onnx"), "/nonexistent/m.onnx", "");
  expect_bad_input(lowbit("eval /nonexistent/m.onnx --data fashion-mnist"), "/nonexistent/m.onnx", "");
}

TEST(Cli, TruncatedAndNonProtobufModels) {
  const std::string bytes = read_file(model("lenet"));
  ASSERT_GT(bytes.size(), 1000u);
  const std::string trunc = temp_dir() + "/truncated.onnx";
  write_file(trunc, bytes.substr(0, bytes.size() / 2));
  expect_bad_input(lowbit("info " + trunc), trunc, "");
  expect_bad_input(lowbit("eval " + trunc + " --data fashion-mnist"), trunc, "");
  const std::string text = temp_dir() + "/text.onnx";
  write_file(text, "this is not a model at all\n");
  expect_bad_input(lowbit("run " + text + " --input x.npy"), text, "");
}

TEST(Cli, WrongInputShapeAtRunTime) {
  Tensor x = Tensor::zeros(DType::kF32, {2, 3, 28});
  const std::string in = temp_dir() + "/bad_shape.npy", out = temp_dir() + "/never.npy";
  ASSERT_TRUE(data::write_npy(x, in).is_ok());
  expect_bad_input(lowbit("run " + model("lenet") + " --input " + in + " -o " + out), in, "shape");
  EXPECT_FALSE(exists(out)) << "no output file on failure";
}

TEST(Cli, MissingDatasetAndBadOptions) {
  expect_bad_input(lowbit("eval " + model("lenet") + " --data /nonexistent/x.npy"), "/nonexistent/x.npy", "");
  CmdResult r = lowbit("eval " + model("lenet") + " --batch 0");
  EXPECT_EQ(r.exit_code, 2);
  r = lowbit("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace lowbit
