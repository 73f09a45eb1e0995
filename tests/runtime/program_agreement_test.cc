// program_agreement_test.cc: the integer Program against the simulation it must reproduce
// (DESIGN.md, "Integer-only execution"), on every reference model under int8 and int8-tensor,
// over the whole Fashion-MNIST test set: outputs within 1 LSB of the output scale per element,
// predictions equal on ≥ 99.9 % of images, top-1 within 0.1 points.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <tuple>

#include "exec/evaluate.h"
#include "quant/simulate.h"
#include "runtime/compile.h"
#include "quant/quant_test_util.h"

namespace lowbit::runtime {
namespace {

using quant::testing::fmnist;
using quant::testing::quantize_reference;

struct Agreement {
  int64_t images = 0, same_prediction = 0, int_correct = 0, sim_correct = 0;
  int64_t elements = 0, equal = 0, off_by_one = 0, worse = 0;
};

// Runs both on the first `limit` test images (≤ 0: all) and counts agreement; `lsb` is the
// output's quantization step.
Agreement compare(const Program& program, const exec::Session& sim, float lsb, int64_t limit) {
  auto test = fmnist("test");
  Agreement a;
  const Status st = data::for_each_batch(*test, limit, 500, [&](const data::Batch& b, int64_t, int64_t) -> Status {
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> yi, program.run({b.x}));
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> ys, sim.run({b.x}));
    const Tensor& ti = yi[0];
    const Tensor& ts = ys[0];
    if (ti.shape() != ts.shape()) return Status::errorf("shapes {} vs {}", shape_str(ti.shape()), shape_str(ts.shape()));
    const int64_t n = ti.dim(0), classes = ti.dim(1);
    for (int64_t i = 0; i < ti.numel(); ++i) {
      const double steps = std::fabs(static_cast<double>(ti.data<float>()[i]) - ts.data<float>()[i]) / lsb;
      ++a.elements;
      if (steps < 0.01) ++a.equal;
      else if (steps < 1.01) ++a.off_by_one;
      else ++a.worse;
    }
    for (int64_t r = 0; r < n; ++r) {
      const int64_t pi = exec::argmax(ti.data<float>() + r * classes, classes);
      const int64_t ps = exec::argmax(ts.data<float>() + r * classes, classes);
      const int64_t label = b.labels[static_cast<size_t>(r)];
      a.same_prediction += pi == ps;
      a.int_correct += pi == label;
      a.sim_correct += ps == label;
    }
    a.images += n;
    return Status::ok();
  });
  EXPECT_TRUE(st.is_ok()) << st.message();
  return a;
}

class ReferenceModelAgreement : public ::testing::TestWithParam<std::tuple<const char*, const char*>> {};

TEST_P(ReferenceModelAgreement, ProgramMatchesSimulationOnTheTestSet) {
  const auto [model_name, recipe] = GetParam();
  const quant::QuantizedModel m = quantize_reference(model_name, recipe, 1000);
  auto program = compile(m);
  ASSERT_TRUE(program.is_ok()) << program.status().message();
  // Every node of the reference models runs on integers under these recipes, except shape
  // ops on the FP32 input before it is quantized (mlp's leading Flatten).
  for (const NodeReport& r : program->report())
    EXPECT_TRUE(r.integer || (r.op_type == "Flatten" && r.detail == "input 'input' is not quantized"))
        << r.node << ": " << r.detail;
  auto sim = quant::make_simulation(m);
  ASSERT_TRUE(sim.is_ok()) << sim.status().message();
  const ir::Graph& g = m.graph;
  const auto out = m.activations.find(g.value(g.outputs[0]).name);
  ASSERT_NE(out, m.activations.end()) << "the logits are quantized under " << recipe;
  const float lsb = out->second.params.scale[0];

  const Agreement a = compare(*program, sim->session, lsb, 0);
  ASSERT_EQ(a.images, 10000);
  std::printf("%s %s: %lld elements equal, %lld off by 1 LSB, %lld worse; predictions agree on %lld/%lld; "
              "top-1 int %.2f%% sim %.2f%%\n",
              model_name, recipe, static_cast<long long>(a.equal), static_cast<long long>(a.off_by_one),
              static_cast<long long>(a.worse), static_cast<long long>(a.same_prediction),
              static_cast<long long>(a.images), 100.0 * static_cast<double>(a.int_correct) / 10000.0,
              100.0 * static_cast<double>(a.sim_correct) / 10000.0);
  EXPECT_EQ(a.worse, 0) << "elements more than 1 LSB apart";
  EXPECT_GE(a.same_prediction, 9990);
  EXPECT_LE(std::llabs(a.int_correct - a.sim_correct), 10);  // 0.1 points of 10000
}

INSTANTIATE_TEST_SUITE_P(Models, ReferenceModelAgreement,
                         ::testing::Combine(::testing::Values("lenet", "resnet8", "mobilenet", "mlp"),
                                            ::testing::Values("int8", "int8-tensor")),
                         [](const auto& info) {
                           std::string s = std::string(std::get<0>(info.param)) + "_" + std::get<1>(info.param);
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

// The scalar kernels give the same program output bit for bit (the GEMM variants are
// bit-exact with each other; this checks the compiled path end to end).
TEST(ProgramIsa, ScalarAndBestIsaAgreeExactly) {
  const quant::QuantizedModel m = quantize_reference("resnet8", "int8", 256);
  auto best = compile(m);
  auto scalar = compile(m, CompileOptions{kernels::Isa::kScalar});
  ASSERT_TRUE(best.is_ok() && scalar.is_ok());
  auto test = fmnist("test");
  data::Batch b;
  ASSERT_TRUE(test->read(0, 300, &b).is_ok());
  auto yb = best->run({b.x});
  auto ys = scalar->run({b.x});
  ASSERT_TRUE(yb.is_ok() && ys.is_ok());
  ASSERT_EQ((*yb)[0].numel(), (*ys)[0].numel());
  for (int64_t i = 0; i < (*yb)[0].numel(); ++i) ASSERT_EQ((*yb)[0].data<float>()[i], (*ys)[0].data<float>()[i]) << i;
}

}  // namespace
}  // namespace lowbit::runtime
