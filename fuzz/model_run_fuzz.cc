// model_run_fuzz.cc: libFuzzer target for everything after import — constant folding, shape
// inference and execution of every op on a hostile model.
//
// What imports is prepared (exec::prepare_graph); what prepares is run once on zero inputs whose
// unknown dims are 1 (when the inputs are small). Errors are fine; a crash, a sanitizer report,
// a hang or an allocation past the RSS limit is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "exec/model.h"
#include "exec/session.h"
#include "onnx/import.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Keep single allocations well under libFuzzer's RSS limit: a too-big tensor must be an error.
  setenv("LOWBIT_MAX_TENSOR_BYTES", "268435456", 1);
  setenv("LOWBIT_THREADS", "1", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lowbit;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<ir::Graph> g = onnx::import_model_from_bytes(bytes, "fuzz.onnx", "");
  if (!g.is_ok()) return 0;
  if (!exec::prepare_graph(*g).is_ok()) return 0;
  std::vector<Tensor> inputs;
  for (int i : g->inputs) {
    const ir::Value& v = g->value(i);
    if (!v.dtype || !v.shape) return 0;
    Shape s = *v.shape;
    int64_t n = 1;
    for (int64_t& d : s) {
      if (d < 0) d = 1;
      if (d > 4096 || (n *= d) > (int64_t{1} << 20)) return 0;
    }
    Result<Tensor> t = Tensor::make(*v.dtype, s);
    if (!t.is_ok()) return 0;
    inputs.push_back(std::move(t).value());
  }
  Result<exec::Session> session = exec::Session::create(std::move(g).value());
  if (!session.is_ok()) return 0;
  (void)session->run(inputs);
  return 0;
}
