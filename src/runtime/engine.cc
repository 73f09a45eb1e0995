// engine.cc: opening a model file as an fp32, sim or int engine.
#include "runtime/engine.h"

#include "exec/model.h"
#include "onnx/import.h"
#include "quant/qdq_format.h"
#include "quant/simulate.h"
#include "runtime/compile.h"

namespace lowbit::runtime {

Result<Engine> open_engine(const std::string& path, std::string_view engine) {
  if (!engine.empty() && engine != "int" && engine != "sim" && engine != "fp32")
    return Status::errorf("unknown engine '{}' (expected one of {})", engine, kEngineNames);
  LB_ASSIGN_OR_RETURN(ir::Graph imported, onnx::import_model(path));
  const bool quantized = quant::has_quant_ops(imported);
  const std::string kind = engine.empty() ? (quantized ? "int" : "fp32") : std::string(engine);
  Engine e;
  e.kind = kind;
  e.quantized = quantized;
  if (kind == "fp32") {
    if (quantized)
      return Status::errorf("{}: is a quantized model; run it with --engine int or sim", path);
    LB_ASSIGN_OR_RETURN(ir::Graph g, exec::load_model(path));
    LB_ASSIGN_OR_RETURN(exec::Session s, exec::Session::create(std::move(g)));
    auto session = std::make_shared<exec::Session>(std::move(s));
    e.graph_ = std::shared_ptr<const ir::Graph>(session, &session->graph());
    e.run = [session](const std::vector<Tensor>& in) { return session->run(in); };
    return e;
  }
  if (!quantized)
    return Status::errorf("{}: is not a quantized model; --engine {} needs one (make it with lowbit quantize)", path, kind);
  LB_ASSIGN_OR_RETURN(quant::QuantizedModel model, quant::load_quantized_model(path));
  if (kind == "sim") {
    Result<quant::Simulation> sim = quant::make_simulation(model);
    if (!sim.is_ok()) return sim.status().with_context(path);
    auto s = std::make_shared<quant::Simulation>(std::move(sim).value());
    e.graph_ = std::shared_ptr<const ir::Graph>(s, &s->session.graph());
    e.run = [s](const std::vector<Tensor>& in) { return s->session.run(in); };
    return e;
  }
  Result<Program> compiled = compile(model);
  if (!compiled.is_ok()) return compiled.status().with_context(path);
  auto p = std::make_shared<const Program>(std::move(compiled).value());
  e.program = p;
  e.graph_ = std::shared_ptr<const ir::Graph>(p, &p->graph());
  e.run = [p](const std::vector<Tensor>& in) { return p->run(in); };
  return e;
}

}  // namespace lowbit::runtime
