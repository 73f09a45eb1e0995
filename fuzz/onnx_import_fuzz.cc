// onnx_import_fuzz.cc: libFuzzer target for the ONNX importer (and, on what imports, the exporter).
//
// Any input must give either an error whose message starts with the display name, or a graph;
// a graph must export, and the export must import again to the same number of nodes and values.
// Anything else (a crash, a sanitizer report, a broken invariant) aborts and is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "onnx/export.h"
#include "onnx/import.h"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "onnx_import_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // base_dir "": external data is refused, so the fuzzer never reads files.
  lowbit::Result<lowbit::ir::Graph> g = lowbit::onnx::import_model_from_bytes(bytes, "fuzz.onnx", "");
  if (!g.is_ok()) {
    const std::string& msg = g.status().message();
    if (msg.rfind("fuzz.onnx: ", 0) != 0) finding("error message without the file name", msg);
    if (msg.find('\n') != std::string::npos) finding("error message spans lines", msg);
    return 0;
  }
  lowbit::Result<std::string> exported = lowbit::onnx::export_model_to_bytes(*g);
  if (!exported.is_ok()) finding("an imported graph does not export", exported.status().message());
  lowbit::Result<lowbit::ir::Graph> back = lowbit::onnx::import_model_from_bytes(*exported, "roundtrip.onnx", "");
  if (!back.is_ok()) finding("an exported graph does not import", back.status().message());
  if (back->nodes.size() != g->nodes.size() || back->values.size() != g->values.size() ||
      back->inputs.size() != g->inputs.size() || back->outputs.size() != g->outputs.size())
    finding("round trip changed the graph", "node / value / input / output counts differ");
  return 0;
}
