// ort_agreement_test.cc: ONNX Runtime (onnxruntime-node, through tools/ort/ort_run.js) runs every
// reference model quantized by `lowbit quantize` and written by `lowbit export` in QDQ and in
// QOperator form, under int8, int8-tensor and int8-dynamic, on the whole Fashion-MNIST test set;
// its logits agree with lowbit's integer runtime within 1 LSB of the output scale and its
// predictions agree on ≥ 99.9 % of the images. Each test prints the agreement it measured.
//
// The reference is the integer runtime (runtime::open_engine(..., "int")) run on the file
// `lowbit quantize` wrote; ONNX Runtime runs the exported files. Both see the same batches of
// kBatch images: int8-dynamic's DynamicQuantizeLinear takes its range over the whole tensor,
// batch dimension included, so different batches would give different (and equally right)
// answers.
//
// The output LSB, the unit the difference is measured in:
//   static recipes (int8, int8-tensor): the graph output is the DequantizeLinear of a
//     quantized activation, so both runtimes can only produce s·(q − z); s, the scale of that
//     activation in the QuantizedModel, is the LSB, and the differences are whole LSBs.
//   int8-dynamic: the output is the float output of the last Gemm with no quantizer after it,
//     so there is no output scale. We use the scale DynamicQuantizeLinear would give that
//     output over the batch, s_b = (max(0, max y) − min(0, min y)) / 255 with y lowbit's
//     logits for the batch: it measures the difference in the same units as a quantized output
//     of the same range would have, i.e. relative to the batch's logit range / 255.
// A logit is "off by 0" when |d| < 0.5 LSB, "off by 1" when 0.5 ≤ |d| ≤ 1 LSB (+ kLsbEps for
// float rounding of s·(q − z)), "off by >1" above that — for static outputs this is the number
// of whole LSBs they differ by.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "exec/evaluate.h"
#include "quant/qdq_format.h"
#include "quant/quant_test_util.h"
#include "runtime/engine.h"
#include "interop/interop_test_util.h"
#include "temp_dir.h"

namespace lowbit {
namespace {

using interop_testing::quote;

constexpr int64_t kBatch = 100;             // images per run, on both sides
constexpr double kLsbEps = 1e-4;            // float slack on "within 1 LSB"
constexpr int64_t kMinAgreePerMille = 999;  // predictions agree on ≥ 99.9 % of the images
constexpr std::array<const char*, 3> kRecipes = {"int8", "int8-tensor", "int8-dynamic"};
constexpr std::array<const char*, 2> kForms = {"qdq", "qoperator"};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs `cmd` through the shell with stdout and stderr into `log`; ok, or an error holding
// what it printed.
Status run_command(const std::string& cmd, const std::string& log) {
  const int status = std::system((cmd + " >" + quote(log) + " 2>&1").c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return Status::errorf("`{}` exited with {}: {}", cmd, code, read_text(log));
}

std::string cli() { return LOWBIT_CLI_PATH; }

// Where onnxruntime-node must be (scripts/ort_setup.sh BUILD fills BUILD/ort); empty when it
// is there and node runs, else why not.
std::string ort_missing() {
  const std::filesystem::path dir = LOWBIT_ORT_DIR;
  if (!std::filesystem::exists(dir / "node_modules" / "onnxruntime-node" / "package.json"))
    return "onnxruntime-node is not installed in " + dir.string() + "; run scripts/ort_setup.sh " +
           dir.parent_path().string();
  if (std::system("command -v node >/dev/null 2>&1") != 0)
    return "node is not on PATH; run scripts/ort_setup.sh " + dir.parent_path().string();
  return "";
}

// The normalized Fashion-MNIST test split, in memory and as one float32 .npy that ORT reads;
// made once per test process.
struct TestSet {
  lowbit::testing::TempDir dir;
  std::unique_ptr<data::Dataset> ds;
  std::vector<int64_t> labels;
  std::string npy;
  std::string error;  // non-empty when it could not be made
};

const TestSet& test_set() {
  static const std::unique_ptr<TestSet> set = [] {
    auto s = std::make_unique<TestSet>();
    auto ds = data::open_fashion_mnist("test", quant::testing::fmnist_norm());
    if (!ds.is_ok()) {
      s->error = ds.status().message();
      return s;
    }
    s->ds = std::move(*ds);
    data::Batch all;
    if (Status st = s->ds->read(0, s->ds->size(), &all); !st.is_ok()) {
      s->error = st.message();
      return s;
    }
    s->labels = all.labels;
    s->npy = s->dir.path("fmnist_test.npy");
    if (Status st = data::write_npy(all.x, s->npy); !st.is_ok()) s->error = st.message();
    return s;
  }();
  return *set;
}

// lowbit's integer runtime on the test set, in batches of kBatch.
struct LowbitRun {
  std::vector<float> logits;  // [n, classes]
  int64_t classes = 0;
  std::vector<float> lsb;     // per image: the output LSB of its row (see the top of the file)
  bool static_lsb = false;    // the LSB is the output's scale (else the dynamic batch range)
  int64_t integer_nodes = 0, fp32_nodes = 0;
  std::vector<runtime::NodeReport> fallbacks;  // the nodes it runs in FP32, with why
};

// The scale of the static per-tensor activation the graph output is the dequantization of,
// or nothing (a dynamic or unquantized output).
std::optional<float> output_scale(const quant::QuantizedModel& m) {
  if (m.graph.outputs.empty()) return std::nullopt;
  const std::string& name = m.graph.value(m.graph.outputs[0]).name;
  const auto it = m.activations.find(name);
  if (it == m.activations.end() || it->second.dynamic) return std::nullopt;
  if (it->second.scheme.granularity != quant::Granularity::kPerTensor || it->second.params.size() != 1) return std::nullopt;
  return it->second.params.scale[0];
}

Result<LowbitRun> run_lowbit(const std::string& qmodel, const data::Dataset& ds) {
  LB_ASSIGN_OR_RETURN(quant::QuantizedModel m, quant::load_quantized_model(qmodel));
  const std::optional<float> scale = output_scale(m);
  LB_ASSIGN_OR_RETURN(runtime::Engine engine, runtime::open_engine(qmodel, "int"));
  LowbitRun r;
  r.static_lsb = scale.has_value();
  if (engine.program) {
    r.integer_nodes = engine.program->integer_nodes();
    r.fp32_nodes = engine.program->fp32_nodes();
    for (const runtime::NodeReport& n : engine.program->report())
      if (!n.integer) r.fallbacks.push_back(n);
  }
  const int64_t n = ds.size();
  for (int64_t b0 = 0; b0 < n; b0 += kBatch) {
    data::Batch batch;
    LB_TRY(ds.read(b0, kBatch, &batch));
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> out, engine.run({batch.x}));
    const int64_t rows = batch.x.dim(0);
    if (out.empty() || out[0].dtype() != DType::kF32 || out[0].rank() != 2 || out[0].dim(0) != rows)
      return Status::errorf("{}: output 0 is not f32 [batch, classes]", qmodel);
    if (r.classes == 0) r.classes = out[0].dim(1);
    if (out[0].dim(1) != r.classes) return Status::errorf("{}: output width changed between batches", qmodel);
    const float* y = out[0].data<float>();
    r.logits.insert(r.logits.end(), y, y + out[0].numel());
    float lsb = scale.value_or(0.f);
    if (!scale) {  // DynamicQuantizeLinear's scale over this batch of lowbit's logits
      float lo = 0.f, hi = 0.f;
      for (int64_t i = 0; i < out[0].numel(); ++i) {
        lo = std::min(lo, y[i]);
        hi = std::max(hi, y[i]);
      }
      lsb = (hi - lo) / 255.f;
    }
    if (!(lsb > 0.f)) lsb = std::numeric_limits<float>::min();  // all-zero batch: demand equality
    r.lsb.insert(r.lsb.end(), static_cast<size_t>(rows), lsb);
  }
  return r;
}

// ORT's first output on the test set, [n, classes].
Result<Tensor> run_ort(const std::string& model, const std::string& npy, const std::string& out) {
  const std::string script = std::string(LOWBIT_SOURCE_DIR) + "/tools/ort/ort_run.js";
  LB_TRY(run_command("env LOWBIT_ORT_DIR=" + quote(LOWBIT_ORT_DIR) + " node " + quote(script) + " " +
                         quote(model) + " " + quote(npy) + " " + quote(out) + " --batch " +
                         std::to_string(kBatch) + " --threads 1",
                     out + ".log"));
  return data::read_npy(out);
}

// One row of the table.
struct Agreement {
  double max_lsb = 0;          // max |ort − lowbit| / LSB
  int64_t off[3] = {0, 0, 0};  // logits off by 0, 1, >1 LSB
  int64_t worst = -1;          // index of the logit with max_lsb, and its two values
  float worst_ort = 0, worst_lowbit = 0;
  int64_t agree = 0, n = 0;    // predictions
  int64_t ort_correct = 0, lowbit_correct = 0;
};

Agreement measure(const LowbitRun& lb, const Tensor& ort, const std::vector<int64_t>& labels) {
  Agreement a;
  a.n = static_cast<int64_t>(labels.size());
  const float* o = ort.data<float>();
  const float* l = lb.logits.data();
  const int64_t c = lb.classes;
  for (int64_t i = 0; i < a.n * c; ++i) {
    const double d = std::fabs(static_cast<double>(o[i]) - l[i]) / lb.lsb[static_cast<size_t>(i / c)];
    ++a.off[d < 0.5 ? 0 : d <= 1 + kLsbEps ? 1 : 2];  // NaN lands in >1
    const double dd = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
    if (dd > a.max_lsb) {
      a.max_lsb = dd;
      a.worst = i;
    }
  }
  if (a.worst >= 0) {
    a.worst_ort = o[a.worst];
    a.worst_lowbit = l[a.worst];
  }
  for (int64_t k = 0; k < a.n; ++k) {
    const int64_t po = exec::argmax(o + k * c, c), pl = exec::argmax(l + k * c, c);
    a.agree += po == pl;
    a.ort_correct += po == labels[static_cast<size_t>(k)];
    a.lowbit_correct += pl == labels[static_cast<size_t>(k)];
  }
  return a;
}

void print_header() {
  std::printf("%-9s %-12s %-9s %-17s %10s %8s %6s %5s %11s %8s %8s %9s\n", "model", "recipe", "form", "lsb", "max/lsb",
              "off=0", "off=1", "off>1", "pred-agree", "top1-ort", "top1-lb", "lb-fp32");
}

void print_row(const std::string& model, const std::string& recipe, const std::string& form, const LowbitRun& lb,
               const Agreement& a) {
  char lsb[32];
  if (lb.static_lsb) {
    std::snprintf(lsb, sizeof lsb, "%.6g", lb.lsb[0]);
  } else {
    const auto [lo, hi] = std::minmax_element(lb.lsb.begin(), lb.lsb.end());
    std::snprintf(lsb, sizeof lsb, "dyn %.3g-%.3g", *lo, *hi);
  }
  char agree[24], fp32[24];
  std::snprintf(agree, sizeof agree, "%lld/%lld", static_cast<long long>(a.agree), static_cast<long long>(a.n));
  std::snprintf(fp32, sizeof fp32, "%lld/%lld", static_cast<long long>(lb.fp32_nodes),
                static_cast<long long>(lb.fp32_nodes + lb.integer_nodes));
  std::printf("%-9s %-12s %-9s %-17s %10.4f %8lld %6lld %5lld %11s %7.2f%% %7.2f%% %9s\n", model.c_str(), recipe.c_str(),
              form.c_str(), lsb, a.max_lsb, static_cast<long long>(a.off[0]), static_cast<long long>(a.off[1]),
              static_cast<long long>(a.off[2]), agree, 100.0 * static_cast<double>(a.ort_correct) / static_cast<double>(a.n),
              100.0 * static_cast<double>(a.lowbit_correct) / static_cast<double>(a.n), fp32);
  std::fflush(stdout);
}

struct Row {
  std::string recipe, form;
  LowbitRun lb;
  Agreement a;
};

// Quantizes `model` under each recipe (CLI defaults: 1000 calibration images from the training
// split), exports it in each form and runs both runtimes, appending one row per form; stops at
// the first error.
Status measure_model(const std::string& model, const TestSet& set, const std::string& dir, std::vector<Row>* rows) {
  const int64_t n = static_cast<int64_t>(set.labels.size());
  for (const char* recipe : kRecipes) {
    const std::string base = dir + "/" + model + "_" + recipe;
    const std::string q = base + ".onnx";
    LB_TRY(run_command(quote(cli()) + " quantize " + quote(quant::testing::model_path(model)) +
                           " --recipe " + recipe + " -o " + quote(q),
                       base + ".quantize.log"));
    LB_ASSIGN_OR_RETURN(LowbitRun lb, run_lowbit(q, *set.ds));
    if (static_cast<int64_t>(lb.logits.size()) != n * lb.classes)
      return Status::errorf("{}: lowbit gave {} logits for {} images", q, lb.logits.size(), n);
    for (const char* form : kForms) {
      const std::string exported = base + "_" + form + ".onnx";
      LB_TRY(run_command(quote(cli()) + " export " + quote(q) + " --format " + form + " -o " +
                             quote(exported),
                         base + "_" + form + ".export.log"));
      LB_ASSIGN_OR_RETURN(Tensor ort, run_ort(exported, set.npy, base + "_" + form + ".out.npy"));
      if (ort.dtype() != DType::kF32 || ort.shape() != Shape{n, lb.classes})
        return Status::errorf("{}: ORT's output is not f32 [{}, {}]", exported, n, lb.classes);
      rows->push_back({recipe, form, lb, measure(lb, ort, set.labels)});
    }
  }
  return Status::ok();
}

// Measures `model`, prints the table (the rows measured, even after an error) and checks them.
void check_model(const std::string& model) {
  if (const std::string why = ort_missing(); !why.empty()) FAIL() << why;
  const TestSet& set = test_set();
  ASSERT_TRUE(set.error.empty()) << set.error;
  lowbit::testing::TempDir tmp;
  std::vector<Row> rows;
  const Status measured = measure_model(model, set, tmp.dir(), &rows);

  std::printf("ONNX Runtime vs lowbit's integer runtime on %zu Fashion-MNIST test images, batches of %lld:\n",
              set.labels.size(), static_cast<long long>(kBatch));
  print_header();
  for (const Row& r : rows) print_row(model, r.recipe, r.form, r.lb, r.a);
  std::string last;
  for (const Row& r : rows) {  // what the integer runtime runs in FP32, once per recipe
    if (r.recipe == last) continue;
    last = r.recipe;
    std::printf("  %s: lowbit runs %lld of %lld nodes in FP32\n", r.recipe.c_str(), static_cast<long long>(r.lb.fp32_nodes),
                static_cast<long long>(r.lb.fp32_nodes + r.lb.integer_nodes));
    // Grouped by op type, in graph order, with the first node's reason.
    std::vector<std::pair<const runtime::NodeReport*, int>> by_op;
    for (const runtime::NodeReport& f : r.lb.fallbacks) {
      auto it = std::find_if(by_op.begin(), by_op.end(), [&](const auto& e) { return e.first->op_type == f.op_type; });
      if (it == by_op.end()) by_op.push_back({&f, 1});
      else ++it->second;
    }
    for (const auto& [f, count] : by_op)
      std::printf("    %s x%d, e.g. '%s': %s\n", f->op_type.c_str(), count, f->node.c_str(), f->detail.c_str());
  }
  std::fflush(stdout);

  for (const Row& r : rows) {
    SCOPED_TRACE(model + " " + r.recipe + " " + r.form);
    const Agreement& a = r.a;
    std::string worst;
    if (a.worst >= 0) {
      const int64_t c = r.lb.classes;
      worst = "worst at image " + std::to_string(a.worst / c) + " class " + std::to_string(a.worst % c) + ": ORT " +
              std::to_string(a.worst_ort) + ", lowbit " + std::to_string(a.worst_lowbit) + ", LSB " +
              std::to_string(r.lb.lsb[static_cast<size_t>(a.worst / c)]);
    }
    EXPECT_LE(a.max_lsb, 1 + kLsbEps) << a.off[2] << " logits differ by more than 1 LSB; max " << a.max_lsb << " LSB; "
                                      << worst;
    EXPECT_GE(a.agree * 1000, kMinAgreePerMille * a.n) << "predictions agree on " << a.agree << " of " << a.n;
  }
  EXPECT_TRUE(measured.is_ok()) << measured.message();
}

TEST(OrtAgreement, Lenet) { check_model("lenet"); }
TEST(OrtAgreement, Resnet8) { check_model("resnet8"); }
TEST(OrtAgreement, Mobilenet) { check_model("mobilenet"); }
TEST(OrtAgreement, Mlp) { check_model("mlp"); }

}  // namespace
}  // namespace lowbit
