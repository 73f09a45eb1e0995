// cli_runtime_test.cc: the integer runtime from the command line — `eval` / `run` with
// --engine int|sim, `bench` and its JSON, `info` on a quantized model, and their exit-2 errors.
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "data/npy.h"
#include "tools/cli_test_util.h"

namespace lowbit {
namespace {

// lenet under int8, quantized once for the tests below.
const std::string& quantized_lenet() {
  static const std::string path = [] {
    const std::string out = temp_dir() + "/runtime_lenet_int8.onnx";
    const CmdResult r = lowbit("quantize " + model("lenet") + " --recipe int8 --calib-size 128 -o " + out);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return out;
  }();
  return path;
}

TEST(CliRuntime, EvalIntAndSimAgree) {
  CmdResult r = lowbit("eval " + quantized_lenet() + " --limit 500 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto i = nlohmann::json::parse(r.out);
  r = lowbit("eval " + quantized_lenet() + " --engine sim --limit 500 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto s = nlohmann::json::parse(r.out);
  EXPECT_EQ(i["engine"], "int");
  EXPECT_EQ(s["engine"], "sim");
  EXPECT_EQ(i["n"], 500);
  EXPECT_GT(i["top1"].get<double>(), 0.85);
  EXPECT_LE(std::abs(i["correct"].get<int>() - s["correct"].get<int>()), 2);
}

TEST(CliRuntime, RunIntAndSimGiveTheSamePredictions) {
  auto ds = data::open_fashion_mnist("test", data::Normalize{255.f, {0.2860f}, {0.3530f}});
  ASSERT_TRUE(ds.is_ok());
  data::Batch b;
  ASSERT_TRUE((*ds)->read(0, 16, &b).is_ok());
  const std::string x = temp_dir() + "/runtime_x.npy";
  ASSERT_TRUE(data::write_npy(b.x, x).is_ok());
  CmdResult ri = lowbit("run " + quantized_lenet() + " -i " + x + " --json");
  CmdResult rs = lowbit("run " + quantized_lenet() + " -i " + x + " --engine sim --json");
  ASSERT_EQ(ri.exit_code, 0) << ri.err;
  ASSERT_EQ(rs.exit_code, 0) << rs.err;
  const auto ji = nlohmann::json::parse(ri.out), js = nlohmann::json::parse(rs.out);
  EXPECT_EQ(ji["engine"], "int");
  EXPECT_EQ(ji["outputs"][0]["argmax"], js["outputs"][0]["argmax"]);
  EXPECT_EQ(ji["outputs"][0]["argmax"].size(), 16u);
}

TEST(CliRuntime, BenchPrintsOneJsonObjectPerBatchSize) {
  const CmdResult r = lowbit("bench " + quantized_lenet() + " --batch 1,4 --seconds 0.05 --warmup 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> objs;
  while (std::getline(lines, line))
    if (!line.empty()) objs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(objs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(objs[i]["batch"], i == 0 ? 1 : 4);
    EXPECT_EQ(objs[i]["engine"], "int");
    EXPECT_GT(objs[i]["p50_ms"].get<double>(), 0.0);
    EXPECT_LE(objs[i]["p50_ms"].get<double>(), objs[i]["p90_ms"].get<double>());
    EXPECT_GT(objs[i]["images_per_s"].get<double>(), 0.0);
    EXPECT_GE(objs[i]["runs"].get<int>(), 3);
  }
  // The text form with the per-step profile names the integer steps.
  const CmdResult p = lowbit("bench " + quantized_lenet() + " --batch 2 --seconds 0.05 --warmup 1 --profile");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("profile"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("im2col+gemm"), std::string::npos) << p.out;
}

TEST(CliRuntime, InfoListsHowEachNodeRuns) {
  CmdResult r = lowbit("info " + quantized_lenet() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("runtime"));
  int convs = 0;
  for (const auto& n : j["runtime"]["nodes"]) {
    if (n["op"] == "Conv") {
      ++convs;
      EXPECT_EQ(n["engine"], "int") << n.dump();
    }
  }
  EXPECT_EQ(convs, 2);
  EXPECT_EQ(j["runtime"]["fp32_nodes"], 0);
  r = lowbit("info " + quantized_lenet());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nodes integer-only"), std::string::npos) << r.out;
}

TEST(CliRuntime, BadEnginesAndOptionsAreExit2) {
  CmdResult r = lowbit("eval " + model("lenet") + " --engine int --limit 10");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a quantized model"), std::string::npos) << r.err;
  r = lowbit("eval " + quantized_lenet() + " --engine fp32 --limit 10");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("quantized model"), std::string::npos) << r.err;
  r = lowbit("eval " + quantized_lenet() + " --engine fast");
  EXPECT_EQ(r.exit_code, 2);
  r = lowbit("bench " + quantized_lenet() + " --batch 0");
  EXPECT_EQ(r.exit_code, 2);
  r = lowbit("bench " + temp_dir() + "/no_such_model.onnx");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no_such_model.onnx"), std::string::npos) << r.err;
  r = lowbit("bench " + model("lenet") + " --profile --seconds 0.01");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--profile"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lowbit
