// cli_export_test.cc: `lowbit export` — both forms written and usable by every command that
// reads quantized models, and the exit-2 errors (inexpressible recipes, FP32 or broken inputs,
// overwriting the input) that leave no output file.
#include <nlohmann/json.hpp>

#include "tools/cli_test_util.h"

namespace lowbit {
namespace {

// lenet quantized under `recipe`, once per recipe for the tests below.
std::string quantized_lenet(const std::string& recipe) {
  const std::string out = temp_dir() + "/export_lenet_" + recipe + ".onnx";
  if (!exists(out)) {
    const CmdResult r = lowbit("quantize " + model("lenet") + " --recipe " + recipe + " --calib-size 128 -o " + out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  return out;
}

TEST(CliExport, BothFormsRunEverywhereAQuantizedModelRuns) {
  const std::string q = quantized_lenet("int8");
  CmdResult r = lowbit("eval " + q + " --limit 1000 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int correct = nlohmann::json::parse(r.out)["correct"].get<int>();
  for (const std::string form : {"qdq", "qoperator"}) {
    SCOPED_TRACE(form);
    const std::string out = temp_dir() + "/lenet_int8_" + form + ".onnx";
    r = lowbit("export " + q + " --format " + form + " -o " + out + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["format"], form);
    if (form == "qoperator") {
      EXPECT_EQ(j["ops"]["QLinearConv"], 2);
      EXPECT_EQ(j["ops"]["MatMulInteger"], 2);
    } else {
      EXPECT_FALSE(j["ops"].contains("QLinearConv"));
      EXPECT_GT(j["ops"]["QuantizeLinear"].get<int>(), 0);
    }
    // eval (int and sim), info, inspect and bench read the exported file as a quantized model.
    r = lowbit("eval " + out + " --limit 1000 --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["correct"].get<int>(), correct);
    r = lowbit("eval " + out + " --engine sim --limit 200 --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = lowbit("info " + out + " --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto info = nlohmann::json::parse(r.out);
    EXPECT_GT(info["runtime"]["integer_nodes"].get<int>(), 0);
    EXPECT_EQ(info["runtime"]["fp32_nodes"].get<int>(), 0);
    EXPECT_GT(info["macs_per_sample"].get<int64_t>(), 0);
    r = lowbit("inspect " + out + " --samples 64");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = lowbit("bench " + out + " --batch 1 --seconds 0.05 --warmup 1 --json");
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
}

TEST(CliExport, InexpressibleRecipeIsExit2WithoutOutput) {
  const std::string q = quantized_lenet("w4a8");
  const std::string out = temp_dir() + "/w4a8_export.onnx";
  CmdResult r = lowbit("export " + q + " --format qoperator -o " + out);
  expect_bad_input(r, out, "4-bit weights need INT4");
  EXPECT_NE(r.err.find("--widen-weights"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(out));
  r = lowbit("export " + q + " --format qoperator --widen-weights -o " + out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(exists(out));

  const std::string q4 = quantized_lenet("w4a4");
  const std::string out4 = temp_dir() + "/w4a4_export.onnx";
  r = lowbit("export " + q4 + " --widen-weights -o " + out4);
  expect_bad_input(r, out4, "4-bit activations");
  EXPECT_FALSE(exists(out4));
}

TEST(CliExport, BadInputsAreExit2) {
  const std::string out = temp_dir() + "/never.onnx";
  expect_bad_input(lowbit("export " + model("lenet") + " -o " + out), model("lenet"), "not a quantized model");
  expect_bad_input(lowbit("export /nonexistent/q.onnx -o " + out), "/nonexistent/q.onnx", "");
  const std::string truncated = temp_dir() + "/truncated_q.onnx";
  write_file(truncated, read_file(quantized_lenet("int8")).substr(0, 3000));
  expect_bad_input(lowbit("export " + truncated + " -o " + out), truncated, "");
  EXPECT_FALSE(exists(out));
  const std::string q = quantized_lenet("int8");
  expect_bad_input(lowbit("export " + q + " -o " + q), q, "overwrite the input");
  CmdResult r = lowbit("export " + q + " --format qlinear -o " + out);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_FALSE(exists(out));
}

}  // namespace
}  // namespace lowbit
