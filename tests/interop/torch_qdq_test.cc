// torch_qdq_test.cc: the reference LeNet quantized by PyTorch 1.13 itself (eager-mode PTQ, fbgemm
// qconfig: per-channel int8 weights, uint8 activations) and exported by torch.onnx at opset 13 —
// the committed fixture tests/interop/fixtures/lenet_torch_qdq.onnx, made by make_torch_qdq.py,
// which the test does not run — is recognized by lowbit (every QuantizeLinear → Cast(uint8) →
// DequantizeLinear pair, every constant weight and bias DequantizeLinear, the ConstantOfShape →
// Cast zero points) and run by lowbit's sim and int engines like ONNX Runtime runs the same file
// over the full Fashion-MNIST test set: top-1 within 0.1 points, the same class on ≥ 99.9 % of the
// images, and within 0.5 points of the top-1 PyTorch measured on its own quantized model.
// Needs onnxruntime-node installed in LOWBIT_ORT_DIR by scripts/ort_setup.sh: missing, the test
// fails (it is not skipped).
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/fashion_mnist.h"
#include "data/npy.h"
#include "onnx/import.h"
#include "quant/qdq_format.h"
#include "runtime/engine.h"
#include "interop/interop_test_util.h"

namespace lowbit {
namespace {

using namespace interop_testing;  // NOLINT: the shared shell / ORT helpers of this folder

const std::string kFixture = kSource + "/tests/interop/fixtures/lenet_torch_qdq.onnx";
const std::string kFixtureJson = kSource + "/tests/interop/fixtures/lenet_torch_qdq.json";
constexpr double kMaxTorchDiff = 0.005;    // 0.5 points, vs PyTorch's own quantized model
constexpr int64_t kBatch = 500;

// Row-wise argmax of a float32 [n, classes] tensor, the first maximum winning ties.
std::vector<int64_t> argmax_rows(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DType::kF32);
  EXPECT_EQ(t.rank(), 2);
  if (t.dtype() != DType::kF32 || t.rank() != 2) return {};
  const int64_t n = t.dim(0), c = t.dim(1);
  std::vector<int64_t> am(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float* row = t.data<float>() + i * c;
    am[static_cast<size_t>(i)] = std::max_element(row, row + c) - row;
  }
  return am;
}

// The test split normalized as the FP32 reference model's metadata says (the torch export carries
// no lowbit metadata; make_torch_qdq.py calibrated with the same mean and std).
Result<std::unique_ptr<data::Dataset>> open_test_set() {
  LB_ASSIGN_OR_RETURN(ir::Graph fp32, onnx::import_model(kSource + "/models/lenet.onnx"));
  LB_ASSIGN_OR_RETURN(data::Normalize norm, data::normalize_from_metadata(fp32.metadata));
  return data::open_fashion_mnist("test", norm);
}

// The DequantizeLinear producing `v` in the plain import, with its constant integer input and
// constant scale; null when `v` is not made that way.
const ir::Node* constant_dq(const ir::Graph& g, int v) {
  if (v == ir::kNoValue || g.value(v).producer < 0) return nullptr;
  const ir::Node& d = g.nodes[static_cast<size_t>(g.value(v).producer)];
  if (d.op_type != "DequantizeLinear" || !g.is_constant(d.input(0)) || !g.is_constant(d.input(1))) return nullptr;
  return &d;
}

std::vector<float> floats(const Tensor& t) {
  std::vector<float> f(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) f[static_cast<size_t>(i)] = t.data<float>()[i];
  return f;
}

bool same_ints(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.numel() != b.numel()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a.at_i64(i) != b.at_i64(i)) return false;
  return true;
}

// lowbit's QuantizedModel holds what the file holds, read independently from lowbit's plain
// import (before any pattern is recognized): each Conv / Gemm weight the same int8 per-channel
// (axis 0) integers and scales with zero points 0, each bias the same int32 values, each
// activation a static uint8 per-tensor quantizer whose (scale, zero point) is one of the file's
// QuantizeLinear pairs and every such pair used; and no quantization op left in the FP32 graph.
void check_recognized() {
  Result<ir::Graph> raw = onnx::import_model(kFixture);
  ASSERT_TRUE(raw.is_ok()) << raw.status().message();
  std::vector<const ir::Node*> raw_layers;
  std::set<std::pair<float, int64_t>> raw_act_params;
  for (const ir::Node& n : raw->nodes) {
    if (n.op_type == "Conv" || n.op_type == "Gemm") raw_layers.push_back(&n);
    if (n.op_type != "QuantizeLinear") continue;
    ASSERT_TRUE(raw->is_constant(n.input(1)) && raw->is_constant(n.input(2))) << "QuantizeLinear " << n.name;
    const Tensor& s = *raw->value(n.input(1)).constant;
    const Tensor& z = *raw->value(n.input(2)).constant;
    ASSERT_EQ(s.numel(), 1) << n.name;
    ASSERT_EQ(z.dtype(), DType::kU8) << "torch's activations are quint8: " << n.name;
    raw_act_params.emplace(s.data<float>()[0], z.at_i64(0));
  }
  ASSERT_EQ(raw_layers.size(), 4u) << "LeNet has 2 Conv and 2 Gemm";

  Result<quant::QuantizedModel> m = quant::load_quantized_model(kFixture);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  std::map<std::string, int> ops;
  std::vector<const ir::Node*> layers;
  for (const ir::Node& n : m->graph.nodes) {
    ++ops[n.op_type];
    if (n.op_type == "Conv" || n.op_type == "Gemm") layers.push_back(&n);
    EXPECT_TRUE(n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear" && n.op_type != "Cast" &&
                n.op_type != "ConstantOfShape")
        << "node '" << n.name << "' (" << n.op_type << ") was not recognized as part of a QDQ pattern";
  }
  std::string op_list;
  for (const auto& [op, count] : ops) op_list += (op_list.empty() ? "" : ", ") + op + " " + std::to_string(count);
  std::printf("  lowbit graph: %s; %zu weights, %zu biases, %zu activations quantized\n", op_list.c_str(),
              m->weights.size(), m->biases.size(), m->activations.size());
  ASSERT_EQ(layers.size(), raw_layers.size());

  for (size_t i = 0; i < layers.size(); ++i) {
    const ir::Node& layer = *layers[i];
    const ir::Node& raw_layer = *raw_layers[i];
    ASSERT_EQ(layer.op_type, raw_layer.op_type);
    // Weight: the file's int8 per-channel DequantizeLinear.
    const ir::Node* wdq = constant_dq(*raw, raw_layer.input(1));
    ASSERT_NE(wdq, nullptr) << raw_layer.name << ": weight not from a constant DequantizeLinear";
    const Tensor& raw_wq = *raw->value(wdq->input(0)).constant;
    const std::string wname = m->graph.value(layer.input(1)).name;
    const auto w = m->weights.find(wname);
    ASSERT_NE(w, m->weights.end()) << layer.name << ": weight '" << wname << "' is not quantized";
    EXPECT_EQ(w->second.scheme.bits, 8) << wname;
    EXPECT_TRUE(w->second.scheme.is_signed) << wname;
    EXPECT_EQ(w->second.scheme.granularity, quant::Granularity::kPerChannel) << wname;
    EXPECT_EQ(w->second.scheme.axis, 0) << wname;  // Conv, and Gemm with transB = 1
    EXPECT_TRUE(same_ints(w->second.q, raw_wq)) << wname << ": integers differ from the file's";
    EXPECT_EQ(w->second.params.scale, floats(*raw->value(wdq->input(1)).constant)) << wname;
    ASSERT_EQ(static_cast<int64_t>(w->second.params.zero_point.size()), raw_wq.dim(0)) << wname;
    for (int32_t z : w->second.params.zero_point) EXPECT_EQ(z, 0) << wname << ": torch's weights are symmetric";
    // Bias: the file's int32 DequantizeLinear (scale s_x · s_w, zero point ConstantOfShape → Cast).
    const ir::Node* bdq = constant_dq(*raw, raw_layer.input(2));
    ASSERT_NE(bdq, nullptr) << raw_layer.name << ": bias not from a constant DequantizeLinear";
    const std::string bname = m->graph.value(layer.input(2)).name;
    const auto b = m->biases.find(bname);
    ASSERT_NE(b, m->biases.end()) << layer.name << ": bias '" << bname << "' is not int32";
    EXPECT_TRUE(same_ints(b->second.q, *raw->value(bdq->input(0)).constant)) << bname;
    const std::vector<float> raw_bs = floats(*raw->value(bdq->input(1)).constant);
    ASSERT_EQ(b->second.scale.size(), raw_bs.size()) << bname;
    for (size_t k = 0; k < raw_bs.size(); ++k)
      EXPECT_NEAR(b->second.scale[k], raw_bs[k], 1e-6 * raw_bs[k]) << bname << " channel " << k;
    // The layer's input is quantized.
    EXPECT_EQ(m->activations.count(m->graph.value(layer.input(0)).name), 1u) << layer.name << ": input not quantized";
  }

  std::set<std::pair<float, int64_t>> used;
  for (const auto& [name, a] : m->activations) {
    EXPECT_FALSE(a.dynamic) << name;
    EXPECT_EQ(a.scheme.bits, 8) << name;
    EXPECT_FALSE(a.scheme.is_signed) << name;
    EXPECT_EQ(a.scheme.granularity, quant::Granularity::kPerTensor) << name;
    ASSERT_EQ(a.params.scale.size(), 1u) << name;
    ASSERT_EQ(a.params.zero_point.size(), 1u) << name;
    const std::pair<float, int64_t> p{a.params.scale[0], a.params.zero_point[0]};
    EXPECT_EQ(raw_act_params.count(p), 1u) << name << ": scale " << p.first << " zero point " << p.second
                                           << " is not one of the file's QuantizeLinear";
    used.insert(p);
  }
  EXPECT_EQ(used, raw_act_params) << "some QuantizeLinear of the file quantizes nothing in lowbit's model";
  const std::string input = m->graph.value(m->graph.inputs.at(0)).name;
  EXPECT_EQ(m->activations.count(input), 1u) << "graph input '" << input << "' is not quantized";
}

// `lowbit info --json`: how many nodes the integer runtime runs in integers and in FP32.
void print_runtime_report(const lowbit::testing::TempDir& tmp) {
  const Shell r = shell(quote(LOWBIT_CLI_PATH) + " info " + quote(kFixture) + " --json", tmp);
  ASSERT_EQ(r.code, 0) << "lowbit info: " << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("runtime")) << "lowbit info shows no runtime section: " << r.out;
  const nlohmann::json& rt = j["runtime"];
  std::string fp32;
  for (const auto& n : rt["nodes"])
    if (n["engine"] == "fp32") fp32 += "\n    " + n["node"].get<std::string>() + ": " + n["detail"].get<std::string>();
  std::printf("  lowbit info: %lld integer nodes, %lld FP32 nodes in the integer runtime%s\n",
              static_cast<long long>(rt["integer_nodes"].get<int64_t>()),
              static_cast<long long>(rt["fp32_nodes"].get<int64_t>()), fp32.c_str());
}

// Predictions of ONNX Runtime (tools/ort/ort_run.js) on the fixture, from one .npy of the test set.
std::vector<int64_t> ort_predictions(const data::Dataset& test, const lowbit::testing::TempDir& tmp) {
  require_ort(tmp);
  if (::testing::Test::HasFatalFailure()) return {};
  data::Batch all;
  const Status st = test.read(0, kTestImages, &all);
  EXPECT_TRUE(st.is_ok()) << st.message();
  if (!st.is_ok()) return {};
  const std::string x = tmp.path("test_x.npy"), y = tmp.path("ort.npy");
  EXPECT_TRUE(data::write_npy(all.x, x).is_ok());
  const std::string script = quote(kSource + "/tools/ort/ort_run.js");
  const Shell r = shell("env LOWBIT_ORT_DIR=" + quote(LOWBIT_ORT_DIR) + " node " + script + " " + quote(kFixture) + " " +
                            quote(x) + " " + quote(y) + " --batch 250 --threads 2",
                        tmp);
  EXPECT_EQ(r.code, 0) << "ort_run.js failed (run scripts/ort_setup.sh BUILD if node or onnxruntime-node is missing): "
                       << r.err;
  if (r.code != 0) return {};
  Result<Tensor> out = data::read_npy(y);
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.is_ok() ? argmax_rows(*out) : std::vector<int64_t>{};
}

// Predictions of lowbit's engine `engine` ("sim" or "int") on the fixture, `kBatch` images a run.
std::vector<int64_t> lowbit_predictions(const data::Dataset& test, const std::string& engine) {
  Result<runtime::Engine> e = runtime::open_engine(kFixture, engine);
  EXPECT_TRUE(e.is_ok()) << e.status().message();
  if (!e.is_ok()) return {};
  EXPECT_TRUE(e->quantized) << "lowbit reads the torch export as an FP32 model";
  std::vector<int64_t> pred;
  const auto run_batch = [&](const data::Batch& b, int64_t, int64_t) -> Status {
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> out, e->run({b.x}));
    if (out.empty()) return Status::errorf("engine {} returned no output", engine);
    const std::vector<int64_t> p = argmax_rows(out[0]);
    if (static_cast<int64_t>(p.size()) != b.x.dim(0))
      return Status::errorf("engine {}: {} rows for {} images", engine, p.size(), b.x.dim(0));
    pred.insert(pred.end(), p.begin(), p.end());
    return Status::ok();
  };
  const Status st = data::for_each_batch(test, kTestImages, kBatch, run_batch);
  EXPECT_TRUE(st.is_ok()) << "lowbit --engine " << engine << ": " << st.message();
  return pred;
}

double top1(int64_t correct) { return 100.0 * static_cast<double>(correct) / kTestImages; }

TEST(TorchQdq, LenetMatchesOnnxRuntimeAndTorch) {
  lowbit::testing::TempDir tmp;
  ASSERT_TRUE(std::filesystem::exists(kFixture)) << kFixture << " is missing: regenerate it with "
                                                 << "/usr/bin/python3 tests/interop/make_torch_qdq.py " << kFixture
                                                 << " --json " << kFixtureJson;
  std::ifstream jf(kFixtureJson);
  const nlohmann::json made = nlohmann::json::parse(jf, nullptr, false);
  ASSERT_TRUE(made.is_object() && made.contains("torch_top1") && made["torch_top1"].is_number()) << kFixtureJson;
  const double torch_top1 = made["torch_top1"].get<double>();

  std::printf("lenet, quantized and exported by torch %s (tests/interop/fixtures/lenet_torch_qdq.onnx):\n",
              made.value("torch", std::string("?")).c_str());
  ASSERT_NO_FATAL_FAILURE(check_recognized());
  ASSERT_NO_FATAL_FAILURE(print_runtime_report(tmp));

  Result<std::unique_ptr<data::Dataset>> test = open_test_set();
  ASSERT_TRUE(test.is_ok()) << test.status().message();
  ASSERT_EQ((*test)->size(), kTestImages);
  data::Batch all;
  ASSERT_TRUE((*test)->read(0, kTestImages, &all).is_ok());
  const std::vector<int64_t>& labels = all.labels;
  ASSERT_EQ(static_cast<int64_t>(labels.size()), kTestImages);

  const std::vector<int64_t> ort = ort_predictions(**test, tmp);
  ASSERT_EQ(static_cast<int64_t>(ort.size()), kTestImages);
  const int64_t ort_correct = count_equal(ort, labels);
  std::printf("  PyTorch (quantized)  top-1 %6.2f%%\n", 100.0 * torch_top1);
  std::printf("  ONNX Runtime         top-1 %6.2f%% (%lld)\n", top1(ort_correct), static_cast<long long>(ort_correct));
  for (const std::string engine : {"sim", "int"}) {
    const std::vector<int64_t> pred = lowbit_predictions(**test, engine);
    ASSERT_EQ(static_cast<int64_t>(pred.size()), kTestImages) << "lowbit --engine " << engine;
    const int64_t correct = count_equal(pred, labels);
    const int64_t agree = count_equal(pred, ort);
    std::printf("  lowbit %-3s           top-1 %6.2f%% (%lld); agrees with ORT on %lld/%lld (%.2f%%)\n", engine.c_str(),
                top1(correct), static_cast<long long>(correct), static_cast<long long>(agree),
                static_cast<long long>(kTestImages), 100.0 * static_cast<double>(agree) / kTestImages);
    EXPECT_LE(std::llabs(correct - ort_correct), kMaxTop1Diff)
        << "lowbit --engine " << engine << ": " << correct << " correct vs ONNX Runtime's " << ort_correct;
    EXPECT_GE(agree, kMinAgreement) << "lowbit --engine " << engine << " and ONNX Runtime disagree on "
                                    << kTestImages - agree << " images";
    EXPECT_LE(std::fabs(static_cast<double>(correct) / kTestImages - torch_top1), kMaxTorchDiff)
        << "lowbit --engine " << engine << " top-1 " << top1(correct) << "% vs PyTorch's " << 100.0 * torch_top1 << "%";
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace lowbit
