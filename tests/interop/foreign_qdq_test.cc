// foreign_qdq_test.cc: a QDQ model quantized "by another tool" — tests/interop/make_foreign_qdq.py,
// ONNX Runtime's quantize_static style (int8 symmetric activations, per-channel int8 weights, int32
// biases, one DequantizeLinear per reader, no lowbit metadata) — is imported by lowbit, and
// `lowbit eval` / `lowbit run` (engines sim and int) reach ONNX Runtime's top-1 on the same file
// over the full Fashion-MNIST test set within 0.1 points, predicting the same class on ≥ 99.9 %
// of the images. Needs /usr/bin/python3 with numpy and onnx, and onnxruntime-node installed in
// LOWBIT_ORT_DIR by scripts/ort_setup.sh: missing tools fail the test (they are not skipped).
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "data/npy.h"
#include "onnx/import.h"
#include "quant/qdq_format.h"
#include "interop/interop_test_util.h"

namespace lowbit {
namespace {

using namespace interop_testing;  // NOLINT: the shared shell / ORT helpers of this folder

const std::string kPython = "/usr/bin/python3";

std::string lowbit_cli(const std::string& args) { return quote(LOWBIT_CLI_PATH) + " " + args; }

// The Python side must be there: a missing package fails with the Debian package to install.
void require_python(const lowbit::testing::TempDir& tmp) {
  ASSERT_TRUE(std::filesystem::exists(kPython))
      << kPython << " not found: install the Debian package python3 (with python3-numpy and python3-onnx)";
  const Shell np = shell(quote(kPython) + " -c 'import numpy'", tmp);
  ASSERT_EQ(np.code, 0) << "python3 cannot import numpy: install the Debian package python3-numpy (" << np.err << ")";
  const Shell ox = shell(quote(kPython) + " -c 'import onnx, onnx.checker, onnx.shape_inference'", tmp);
  ASSERT_EQ(ox.code, 0) << "python3 cannot import onnx: install the Debian package python3-onnx (" << ox.err << ")";
}

// Row-wise argmax of a float32 [n, classes] .npy, the first maximum winning ties.
std::vector<int64_t> argmax_rows(const std::string& path) {
  Result<Tensor> t = data::read_npy(path);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  if (!t.is_ok()) return {};
  EXPECT_EQ(t->dtype(), DType::kF32) << path;
  EXPECT_EQ(t->rank(), 2) << path;
  if (t->dtype() != DType::kF32 || t->rank() != 2) return {};
  const int64_t n = t->dim(0), c = t->dim(1);
  std::vector<int64_t> am(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = t->data<float>() + i * c;
    am[static_cast<size_t>(i)] = std::max_element(row, row + c) - row;
  }
  return am;
}

// The test split as the models see it: one float32 .npy of all images (for ORT and `lowbit eval`),
// the same images in chunks (for `lowbit run`, which holds a whole file in memory at once), and the
// labels; normalized as the FP32 reference model's metadata says.
struct TestSet {
  data::Normalize norm;
  std::string x, y;
  std::vector<std::string> chunks;
  std::vector<int64_t> labels;
};

constexpr int64_t kRunChunk = 2500;

TestSet write_test_set(const std::string& fp32_model, const lowbit::testing::TempDir& tmp) {
  TestSet t;
  Result<ir::Graph> g = onnx::import_model(fp32_model);
  EXPECT_TRUE(g.is_ok()) << g.status().message();
  if (!g.is_ok()) return t;
  Result<data::Normalize> n = data::normalize_from_metadata(g->metadata);
  EXPECT_TRUE(n.is_ok()) << n.status().message();
  if (!n.is_ok()) return t;
  Result<std::unique_ptr<data::Dataset>> test = data::open_fashion_mnist("test", *n);
  EXPECT_TRUE(test.is_ok()) << test.status().message();
  if (!test.is_ok()) return t;
  EXPECT_EQ((*test)->size(), kTestImages);
  data::Batch all;
  Status st = (*test)->read(0, kTestImages, &all);
  EXPECT_TRUE(st.is_ok()) << st.message();
  if (!st.is_ok()) return t;
  t.x = tmp.path("test_x.npy");
  t.y = tmp.path("test_y.npy");
  EXPECT_TRUE(data::write_npy(all.x, t.x).is_ok());
  EXPECT_TRUE(data::write_npy(Tensor::from_vector<int64_t>({static_cast<int64_t>(all.labels.size())}, all.labels), t.y).is_ok());
  for (int64_t begin = 0; begin < kTestImages; begin += kRunChunk) {
    data::Batch b;
    st = (*test)->read(begin, kRunChunk, &b);
    EXPECT_TRUE(st.is_ok()) << st.message();
    if (!st.is_ok()) return t;
    t.chunks.push_back(tmp.path("test_x_" + std::to_string(begin) + ".npy"));
    EXPECT_TRUE(data::write_npy(b.x, t.chunks.back()).is_ok());
  }
  t.norm = *n;
  t.labels = std::move(all.labels);
  return t;
}

// The file holds what the script promises (counted on lowbit's plain import, before any pattern
// is recognized), and load_quantized_model recognizes every pair: each QuantizeLinear an int8
// symmetric per-tensor activation, each int8 DequantizeLinear a symmetric per-channel weight, each
// int32 one a bias, and no quantization op left in the FP32 graph.
void check_recognized(const std::string& path) {
  Result<ir::Graph> raw = onnx::import_model(path);
  ASSERT_TRUE(raw.is_ok()) << raw.status().message();
  EXPECT_EQ(raw->metadata.count(std::string(quant::kQuantMetadataKey)), 0u) << "the foreign model must not carry lowbit metadata";
  const std::vector<std::vector<int>> readers = raw->consumers();
  size_t q_nodes = 0, weight_dqs = 0, bias_dqs = 0, act_dqs = 0;
  for (const ir::Node& n : raw->nodes) {
    if (n.op_type == "QuantizeLinear") ++q_nodes;
    if (n.op_type != "DequantizeLinear") continue;
    const ir::Value& in = raw->value(n.input(0));
    if (in.constant) {
      ++(in.constant->dtype() == DType::kI32 ? bias_dqs : weight_dqs);
      continue;
    }
    ++act_dqs;  // ORT's layout: a DequantizeLinear for each reader (a node or the graph output)
    const int out = n.outputs[0];
    const size_t uses = readers[static_cast<size_t>(out)].size() +
                        static_cast<size_t>(std::count(raw->outputs.begin(), raw->outputs.end(), out));
    EXPECT_EQ(uses, 1u) << "DequantizeLinear '" << n.name << "' has " << uses << " readers";
  }
  EXPECT_GT(q_nodes, 0u);
  EXPECT_GT(weight_dqs, 0u);
  EXPECT_EQ(bias_dqs, weight_dqs) << "every Conv / Gemm of the reference models has a bias after BatchNorm folding";
  EXPECT_GE(act_dqs, q_nodes);

  Result<quant::QuantizedModel> m = quant::load_quantized_model(path);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->activations.size(), q_nodes);
  EXPECT_EQ(m->weights.size(), weight_dqs);
  EXPECT_EQ(m->biases.size(), bias_dqs);
  for (const auto& [name, a] : m->activations) {
    EXPECT_FALSE(a.dynamic) << name;
    EXPECT_EQ(a.scheme.bits, 8) << name;
    EXPECT_TRUE(a.scheme.is_signed) << name;
    EXPECT_TRUE(a.scheme.symmetric) << name;
    EXPECT_EQ(a.scheme.granularity, quant::Granularity::kPerTensor) << name;
    ASSERT_EQ(a.params.scale.size(), 1u) << name;
    EXPECT_EQ(a.params.zero_point[0], 0) << name;
  }
  for (const auto& [name, w] : m->weights) {
    EXPECT_EQ(w.scheme.bits, 8) << name;
    EXPECT_TRUE(w.scheme.is_signed && w.scheme.symmetric) << name;
    EXPECT_EQ(w.scheme.granularity, quant::Granularity::kPerChannel) << name;
    EXPECT_EQ(w.scheme.axis, 0) << name;  // Conv, and Gemm with transB = 1
    EXPECT_EQ(static_cast<int64_t>(w.params.scale.size()), w.q.dim(0)) << name;
  }
  for (const ir::Node& n : m->graph.nodes)
    EXPECT_TRUE(n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear")
        << "node '" << n.name << "' (" << n.op_type << ") was not recognized as part of a QDQ pattern";
}

// `lowbit eval --json` on the test .npy: images classified correctly.
int64_t lowbit_eval(const std::string& model, const std::string& x, const std::string& y, const std::string& engine,
                    const lowbit::testing::TempDir& tmp) {
  const Shell r = shell(lowbit_cli("eval " + quote(model) + " --data " + quote(x) + " --labels " + quote(y) +
                                   " --engine " + engine + " --batch 100 --json"),
                        tmp);
  EXPECT_EQ(r.code, 0) << "lowbit eval --engine " << engine << ": " << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.contains("correct") && j.contains("n")) << r.out;
  if (!j.is_object() || !j.contains("correct") || !j.contains("n")) return -1;
  EXPECT_EQ(j["n"].get<int64_t>(), kTestImages);
  EXPECT_EQ(j["engine"], engine);
  return j["correct"].get<int64_t>();
}

// `lowbit run` on each chunk of the test set: per-image predictions, in order.
std::vector<int64_t> lowbit_run(const std::string& model, const TestSet& t, const std::string& engine,
                                const lowbit::testing::TempDir& tmp) {
  std::vector<int64_t> pred;
  for (const std::string& chunk : t.chunks) {
    const std::string out = tmp.path("lowbit_" + engine + ".npy");
    const Shell r =
        shell(lowbit_cli("run " + quote(model) + " -i " + quote(chunk) + " -o " + quote(out) + " --engine " + engine), tmp);
    EXPECT_EQ(r.code, 0) << "lowbit run --engine " << engine << " on " << chunk << ": " << r.err;
    if (r.code != 0) return {};
    const std::vector<int64_t> p = argmax_rows(out);
    EXPECT_EQ(static_cast<int64_t>(p.size()), kRunChunk) << chunk;
    pred.insert(pred.end(), p.begin(), p.end());
    std::filesystem::remove(out);
  }
  return pred;
}

// How the integer runtime runs the imported model (printed: signed activations fall back to FP32).
void print_runtime_report(const std::string& model, const lowbit::testing::TempDir& tmp) {
  const Shell r = shell(lowbit_cli("info " + quote(model) + " --json"), tmp);
  ASSERT_EQ(r.code, 0) << "lowbit info: " << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("runtime")) << "lowbit info shows no runtime section for a quantized model: " << r.out;
  const nlohmann::json& rt = j["runtime"];
  std::string first_reason;
  for (const auto& n : rt["nodes"]) {
    if (n["engine"] != "fp32") continue;
    EXPECT_FALSE(n["detail"].get<std::string>().empty()) << "node " << n["node"] << " falls back to FP32 without a reason";
    if (first_reason.empty()) first_reason = n["node"].get<std::string>() + ": " + n["detail"].get<std::string>();
  }
  std::printf("  lowbit info: %lld integer nodes, %lld FP32 nodes in the integer runtime%s%s\n",
              static_cast<long long>(rt["integer_nodes"].get<int64_t>()), static_cast<long long>(rt["fp32_nodes"].get<int64_t>()),
              first_reason.empty() ? "" : "; e.g. ", first_reason.c_str());
}

void check_foreign_model(const std::string& name) {
  lowbit::testing::TempDir tmp;
  ASSERT_NO_FATAL_FAILURE(require_python(tmp));
  ASSERT_NO_FATAL_FAILURE(require_ort(tmp));
  const std::string fp32 = kSource + "/models/" + name + ".onnx";
  const std::string model = tmp.path(name + "_foreign_qdq.onnx");

  const TestSet t = write_test_set(fp32, tmp);
  ASSERT_EQ(static_cast<int64_t>(t.labels.size()), kTestImages);
  ASSERT_EQ(t.norm.mean.size(), 1u);
  ASSERT_EQ(t.norm.std_.size(), 1u);

  // The foreign tool, with the same normalization for its calibration images.
  const std::string script = quote(kSource + "/tests/interop/make_foreign_qdq.py");
  const std::string norm_args =
      fmt::format(" --input-scale {} --mean {} --std {}", t.norm.input_scale, t.norm.mean[0], t.norm.std_[0]);
  const Shell made = shell(quote(kPython) + " " + script + " " + quote(fp32) + " " + quote(data::kFashionMnistRoot) + " " +
                               quote(model) + " --calib 256" + norm_args,
                           tmp);
  ASSERT_EQ(made.code, 0) << "make_foreign_qdq.py failed: " << made.err << made.out;
  ASSERT_NO_FATAL_FAILURE(check_recognized(model));

  // ONNX Runtime on the same file and inputs.
  const std::string ort_out = tmp.path("ort.npy");
  const Shell ort = shell("env LOWBIT_ORT_DIR=" + quote(LOWBIT_ORT_DIR) + " node " + quote(kSource + "/tools/ort/ort_run.js") +
                              " " + quote(model) + " " + quote(t.x) + " " + quote(ort_out) + " --batch 256 --threads 2",
                          tmp);
  ASSERT_EQ(ort.code, 0) << "ort_run.js failed (run scripts/ort_setup.sh BUILD if onnxruntime-node is missing): " << ort.err;
  const std::vector<int64_t> ort_pred = argmax_rows(ort_out);
  ASSERT_EQ(static_cast<int64_t>(ort_pred.size()), kTestImages);
  const int64_t ort_correct = count_equal(ort_pred, t.labels);

  std::printf("%s, foreign QDQ (%s):\n", name.c_str(), made.out.substr(0, made.out.find('\n')).c_str());
  ASSERT_NO_FATAL_FAILURE(print_runtime_report(model, tmp));
  std::printf("  ONNX Runtime     top-1 %6.2f%% (%lld/%lld)\n", 100.0 * static_cast<double>(ort_correct) / kTestImages,
              static_cast<long long>(ort_correct), static_cast<long long>(kTestImages));
  // `lowbit eval` once, on the engine a user gets by default (int); `lowbit run` on both.
  const int64_t eval_correct = lowbit_eval(model, t.x, t.y, "int", tmp);
  EXPECT_LE(std::llabs(eval_correct - ort_correct), kMaxTop1Diff)
      << "lowbit eval: " << eval_correct << " correct vs ONNX Runtime's " << ort_correct;
  std::printf("  lowbit eval (int) top-1 %6.2f%% (%lld)\n", 100.0 * static_cast<double>(eval_correct) / kTestImages,
              static_cast<long long>(eval_correct));
  for (const std::string engine : {"sim", "int"}) {
    const std::vector<int64_t> pred = lowbit_run(model, t, engine, tmp);
    ASSERT_EQ(static_cast<int64_t>(pred.size()), kTestImages) << "lowbit run --engine " << engine;
    const int64_t run_correct = count_equal(pred, t.labels);
    const int64_t agree = count_equal(pred, ort_pred);
    std::printf("  lowbit %-3s run top-1 %6.2f%% (%lld); agrees with ORT on %lld/%lld (%.2f%%)\n", engine.c_str(),
                100.0 * static_cast<double>(run_correct) / kTestImages, static_cast<long long>(run_correct),
                static_cast<long long>(agree), static_cast<long long>(kTestImages),
                100.0 * static_cast<double>(agree) / kTestImages);
    EXPECT_LE(std::llabs(run_correct - ort_correct), kMaxTop1Diff)
        << "lowbit run --engine " << engine << ": " << run_correct << " correct vs ONNX Runtime's " << ort_correct;
    EXPECT_GE(agree, kMinAgreement) << "lowbit --engine " << engine << " and ONNX Runtime disagree on "
                                    << kTestImages - agree << " images";
  }
  std::fflush(stdout);
}

TEST(ForeignQdq, Resnet8MatchesOnnxRuntime) { check_foreign_model("resnet8"); }
TEST(ForeignQdq, LenetMatchesOnnxRuntime) { check_foreign_model("lenet"); }
TEST(ForeignQdq, MobilenetMatchesOnnxRuntime) { check_foreign_model("mobilenet"); }
TEST(ForeignQdq, MlpMatchesOnnxRuntime) { check_foreign_model("mlp"); }

}  // namespace
}  // namespace lowbit
