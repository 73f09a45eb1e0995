// quant_test_util.h: reference models, calibration data and quantization helpers shared by
// the src/quant tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "data/fashion_mnist.h"
#include "exec/model.h"
#include "quant/calibrate.h"
#include "quant/recipe.h"
#include "quant/simulate.h"

namespace lowbit::quant::testing {

inline std::string model_path(const std::string& name) { return std::string(LOWBIT_SOURCE_DIR) + "/models/" + name + ".onnx"; }

// The reference models' normalization (models/README.md).
inline data::Normalize fmnist_norm() { return data::Normalize{255.f, {0.2860f}, {0.3530f}}; }

inline std::unique_ptr<data::Dataset> fmnist(const std::string& split) {
  auto ds = data::open_fashion_mnist(split, fmnist_norm());
  EXPECT_TRUE(ds.is_ok()) << ds.status().message();
  return ds.is_ok() ? std::move(*ds) : nullptr;
}

// `model` quantized under preset/file `recipe`, calibrated on the first `samples` training images.
inline QuantizedModel quantize_reference(const std::string& model, const std::string& recipe, int64_t samples = 256) {
  auto g = exec::load_model(model_path(model));
  EXPECT_TRUE(g.is_ok()) << g.status().message();
  auto r = load_recipe(recipe);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  auto calib = fmnist("train");
  CalibrationOptions opts;
  opts.samples = samples;
  auto m = quantize_model(*g, *r, calib.get(), opts);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? std::move(*m) : QuantizedModel{};
}

// The simulated first output of `m` on x.
inline Tensor simulate(const QuantizedModel& m, const Tensor& x) {
  auto sim = make_simulation(m);
  EXPECT_TRUE(sim.is_ok()) << sim.status().message();
  if (!sim.is_ok()) return Tensor();
  auto y = sim->session.run({x});
  EXPECT_TRUE(y.is_ok()) << y.status().message();
  return y.is_ok() ? (*y)[0] : Tensor();
}

// Same dtype, shape and bytes.
inline bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// A fresh empty folder under the test temp dir.
inline std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/lowbit_" + name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace lowbit::quant::testing
