// calibration_memory.cc: time and peak memory of calibrating a model with one activation
// observer — `calibration_memory MODEL OBSERVER SAMPLES` prints one table row. Run once per
// configuration (scripts/bench.sh does): peak RSS is per process, so comparing 256 with 8192
// samples in fresh processes shows whether calibration memory grows with the data.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "data/fashion_mnist.h"
#include "exec/model.h"
#include "quant/calibrate.h"
#include "quant/recipe.h"

using namespace lowbit;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: calibration_memory MODEL OBSERVER SAMPLES\n");
    return 2;
  }
  const std::string model = argv[1], observer = argv[2];
  const int64_t samples = std::stoll(argv[3]);
  auto graph = exec::load_model(model);
  if (!graph.is_ok()) {
    std::fprintf(stderr, "%s\n", graph.status().message().c_str());
    return 2;
  }
  nlohmann::json j = {{"base", "int8"}, {"activation", {{"observer", observer}}}};
  auto recipe = quant::parse_recipe(j, "int8 a:" + observer);
  auto norm = data::normalize_from_metadata(graph->metadata);
  auto train = data::open_fashion_mnist("train", *norm);
  if (!recipe.is_ok() || !train.is_ok()) {
    std::fprintf(stderr, "%s\n", (recipe.is_ok() ? train.status() : recipe.status()).message().c_str());
    return 2;
  }
  quant::CalibrationOptions opts;
  opts.samples = samples;
  const auto t0 = std::chrono::steady_clock::now();
  auto m = quant::quantize_model(*graph, *recipe, train->get(), opts);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!m.is_ok()) {
    std::fprintf(stderr, "%s\n", m.status().message().c_str());
    return 1;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("%-16s %8lld %9.2f %14.1f\n", observer.c_str(), static_cast<long long>(samples), seconds,
              static_cast<double>(ru.ru_maxrss) / 1024.0);
  return 0;
}
