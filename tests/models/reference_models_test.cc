// reference_models_test.cc: lowbit's FP32 engine against PyTorch on the committed reference
// models — top-1 on the full Fashion-MNIST test set within 0.01 points (one image) of what
// models/train.py measured in torch (models/torch_results.json).
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "exec/model.h"
#include "exec/session.h"

namespace lowbit {
namespace {

const std::string kModels = std::string(LOWBIT_SOURCE_DIR) + "/models/";

class ReferenceModel : public ::testing::TestWithParam<std::string> {};

TEST_P(ReferenceModel, TopOneMatchesTorch) {
  const std::string name = GetParam();
  std::ifstream f(kModels + "torch_results.json");
  ASSERT_TRUE(f) << "models/torch_results.json is missing";
  const nlohmann::json torch = nlohmann::json::parse(f)[name];
  const int64_t torch_correct = torch["correct"].get<int64_t>();

  Result<ir::Graph> graph = exec::load_model(kModels + name + ".onnx");
  ASSERT_TRUE(graph.is_ok()) << graph.status().message();
  Result<data::Normalize> norm = data::normalize_from_metadata(graph->metadata);
  ASSERT_TRUE(norm.is_ok()) << norm.status().message();
  Result<exec::Session> session = exec::Session::create(std::move(graph).value());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  Result<std::unique_ptr<data::Dataset>> test = data::open_fashion_mnist("test", *norm);
  ASSERT_TRUE(test.is_ok()) << test.status().message();

  int64_t correct = 0, n = 0;
  Status st = data::for_each_batch(**test, 0, 100, [&](const data::Batch& b, int64_t, int64_t) -> Status {
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> y, session->run({b.x}));
    const float* logits = y[0].data<float>();
    for (size_t i = 0; i < b.labels.size(); ++i) {
      const float* row = logits + i * 10;
      correct += std::max_element(row, row + 10) - row == b.labels[i];
    }
    n += static_cast<int64_t>(b.labels.size());
    return Status::ok();
  });
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(n, 10000);
  std::printf("%s: lowbit %lld/10000, torch %lld/10000\n", name.c_str(), static_cast<long long>(correct),
              static_cast<long long>(torch_correct));
  EXPECT_LE(std::llabs(correct - torch_correct), 1) << "more than 0.01 points from torch";
}

INSTANTIATE_TEST_SUITE_P(Models, ReferenceModel, ::testing::Values("lenet", "resnet8", "mobilenet", "mlp"));

}  // namespace
}  // namespace lowbit
