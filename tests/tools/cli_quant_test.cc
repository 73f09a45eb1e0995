// cli_quant_test.cc: `lowbit quantize`, `compare` and `inspect` end to end, and their exit-2
// errors for bad recipes, data and paths (never a partial output file).
#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "data/npy.h"
#include "tools/cli_test_util.h"

namespace lowbit {
namespace {

TEST(CliQuant, QuantizeThenEval) {
  const std::string out = temp_dir() + "/lenet_int8.onnx";
  CmdResult r = lowbit("quantize " + model("lenet") + " --recipe int8 --calib fashion-mnist:train --calib-size 128 -o " + out + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["calibration_samples"], 128);
  EXPECT_GT(j["weights"].get<int>(), 0);
  EXPECT_LT(j["weight_bytes"].get<int64_t>() * 3, j["fp32_weight_bytes"].get<int64_t>());
  ASSERT_TRUE(exists(out));
  r = lowbit("eval " + out + " --limit 500 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto e = nlohmann::json::parse(r.out);
  EXPECT_EQ(e["engine"], "int");  // quantized models run on the integer runtime by default
  EXPECT_GT(e["top1"].get<double>(), 0.85);
}

TEST(CliQuant, CalibratingOnAnNpyFileEqualsCalibratingOnTheSameImages) {
  // The first 128 training images, preprocessed as the model's metadata says, without labels.
  auto ds = data::open_fashion_mnist("train", data::Normalize{255.f, {0.2860f}, {0.3530f}});
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  data::Batch b;
  ASSERT_TRUE((*ds)->read(0, 128, &b).is_ok());
  const std::string x = temp_dir() + "/calib128.npy";
  ASSERT_TRUE(data::write_npy(b.x, x).is_ok());
  const std::string a = temp_dir() + "/from_npy.onnx", c = temp_dir() + "/from_builtin.onnx";
  CmdResult r = lowbit("quantize " + model("lenet") + " --calib " + x + " -o " + a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = lowbit("quantize " + model("lenet") + " --calib fashion-mnist:train --calib-size 128 -o " + c);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(a), read_file(c));
}

TEST(CliQuant, BadRecipesAreExit2NamingTheProblem) {
  const std::string out = temp_dir() + "/never.onnx";
  expect_bad_input(lowbit("quantize " + model("lenet") + " --recipe int7 -o " + out), "int7", "");
  const std::string bad = temp_dir() + "/bad_recipe.json";
  write_file(bad, R"({"base": "int8", "weight": {"granularity": "per-row"}})");
  expect_bad_input(lowbit("quantize " + model("lenet") + " --recipe " + bad + " -o " + out), "weight.granularity", "per-tensor");
  write_file(bad, R"({"weight": {"bitz": 4}})");
  expect_bad_input(lowbit("quantize " + model("lenet") + " --recipe " + bad + " -o " + out), "bitz", "bits");
  EXPECT_FALSE(exists(out));
}

TEST(CliQuant, BadDataAndPathsAreExit2WithoutOutput) {
  const std::string out = temp_dir() + "/never.onnx";
  expect_bad_input(lowbit("quantize " + model("lenet") + " --calib /nonexistent/calib.npy -o " + out), "/nonexistent/calib.npy", "");
  expect_bad_input(lowbit("quantize /nonexistent/m.onnx -o " + out), "/nonexistent/m.onnx", "");
  EXPECT_FALSE(exists(out));
  const std::string copy = temp_dir() + "/lenet_copy.onnx";
  write_file(copy, read_file(model("lenet")));
  expect_bad_input(lowbit("quantize " + copy + " --calib-size 8 -o " + copy), copy, "overwrite");
  EXPECT_EQ(read_file(copy), read_file(model("lenet")));
}

TEST(CliQuant, CompareTabulatesEveryRecipe) {
  CmdResult r = lowbit("compare " + model("lenet") +
                       " --recipes int8,w4a8 --weight-observers minmax --calib-size 128 --limit 300 --sqnr-samples 32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 5u);  // fp32, then each recipe followed by its observer variant
  EXPECT_EQ(rows[0]["recipe"], "fp32");
  EXPECT_EQ(rows[1]["recipe"], "int8");
  EXPECT_EQ(rows[2]["recipe"], "int8 w:minmax");
  EXPECT_EQ(rows[3]["recipe"], "w4a8");
  EXPECT_EQ(rows[4]["recipe"], "w4a8 w:minmax");
  EXPECT_EQ(rows[3]["observers"], "mse/minmax");
  EXPECT_EQ(rows[4]["observers"], "minmax/minmax");
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_NEAR(rows[i]["delta"].get<double>(), rows[i]["top1"].get<double>() - rows[0]["top1"].get<double>(), 1e-12);
    EXPECT_LT(rows[i]["weight_bytes"].get<int64_t>(), rows[0]["weight_bytes"].get<int64_t>());
    EXPECT_TRUE(rows[i]["worst_sqnr_db"].is_number());
  }
  // 4-bit weights take about half the bytes of 8-bit ones.
  EXPECT_LT(rows[3]["weight_bytes"].get<int64_t>(), rows[1]["weight_bytes"].get<int64_t>() * 6 / 10);
  expect_bad_input(lowbit("compare " + model("lenet") + " --recipes int8 --act-observers bogus"), "bogus", "minmax");
}

TEST(CliQuant, InspectListsLayersWorstFirst) {
  const std::string q = temp_dir() + "/mobilenet_w4a8.onnx";
  ASSERT_EQ(lowbit("quantize " + model("mobilenet") + " --recipe w4a8 --calib-size 64 -o " + q).exit_code, 0);
  CmdResult r = lowbit("inspect " + q + " --samples 32 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_GT(rows.size(), 10u);
  for (size_t i = 1; i < rows.size(); ++i)
    EXPECT_LE(rows[i - 1]["sqnr_db"].get<double>(), rows[i]["sqnr_db"].get<double>());
  expect_bad_input(lowbit("inspect " + model("mobilenet") + " --samples 8"), "mobilenet.onnx", "not a quantized model");
}

}  // namespace
}  // namespace lowbit
