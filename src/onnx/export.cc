// export.cc: ir::Graph -> ModelProto bytes -> file (see export.h).
#include <algorithm>
#include "onnx/export.h"

#include <string_view>
#include <unordered_set>
#include <variant>

#include <onnx/onnx_pb.h>

#include "onnx/file_io.h"
#include "onnx/tensor_proto.h"

namespace lowbit::onnx {
namespace {

using ::onnx::AttributeProto;

// The oldest IR version that allows the opset (onnx.helper's VERSION_TABLE), so older readers
// load the file, but at least 4: before IR 4 every initializer also had to be a graph input.
int64_t ir_version_for(int64_t opset) {
  if (opset <= 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

// dtype and shape of `val`, as far as known; unknown dims are the dim_param or an empty dim.
void fill_value_info(const ir::Value& val, ::onnx::ValueInfoProto* vi) {
  vi->set_name(val.name);
  if (!val.dtype && !val.shape) return;
  ::onnx::TypeProto::Tensor* tt = vi->mutable_type()->mutable_tensor_type();
  if (val.dtype) tt->set_elem_type(onnx_dtype(*val.dtype));
  if (!val.shape) return;
  ::onnx::TensorShapeProto* sp = tt->mutable_shape();
  for (size_t i = 0; i < val.shape->size(); ++i) {
    ::onnx::TensorShapeProto::Dimension* d = sp->add_dim();
    const int64_t dim = (*val.shape)[i];
    if (dim >= 0) d->set_dim_value(dim);
    else if (i < val.dim_params.size() && !val.dim_params[i].empty()) d->set_dim_param(val.dim_params[i]);
  }
}

// Writes one attribute value into an AttributeProto of the matching kind.
struct AttrWriter {
  AttributeProto* a;
  Status operator()(int64_t v) const {
    a->set_type(AttributeProto::INT);
    a->set_i(v);
    return Status::ok();
  }
  Status operator()(float v) const {
    a->set_type(AttributeProto::FLOAT);
    a->set_f(v);
    return Status::ok();
  }
  Status operator()(const std::string& v) const {
    a->set_type(AttributeProto::STRING);
    a->set_s(v);
    return Status::ok();
  }
  Status operator()(const Tensor& t) const {
    if (!t.defined()) return Status::errorf("attribute '{}' holds an empty tensor", a->name());
    a->set_type(AttributeProto::TENSOR);
    tensor_to_proto(t, "", a->mutable_t());
    return Status::ok();
  }
  Status operator()(const std::vector<int64_t>& v) const {
    a->set_type(AttributeProto::INTS);
    a->mutable_ints()->Add(v.begin(), v.end());
    return Status::ok();
  }
  Status operator()(const std::vector<float>& v) const {
    a->set_type(AttributeProto::FLOATS);
    a->mutable_floats()->Add(v.begin(), v.end());
    return Status::ok();
  }
  Status operator()(const std::vector<std::string>& v) const {
    a->set_type(AttributeProto::STRINGS);
    for (const std::string& s : v) a->add_strings(s);
    return Status::ok();
  }
};

Status build_model(const ir::Graph& g, ::onnx::ModelProto* m) {
  const int num_values = static_cast<int>(g.values.size());
  auto check = [&](int v, bool optional, const std::string& where) -> Status {
    if ((optional && v == ir::kNoValue) || (v >= 0 && v < num_values)) return Status::ok();
    return Status::errorf("{} refers to value index {}, out of range (the graph has {} values)", where, v, num_values);
  };
  std::vector<int> producer(g.values.size(), -1);
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const ir::Node& node = g.nodes[n];
    for (int v : node.inputs) LB_TRY(check(v, true, fmt::format("node '{}'", node.name)));
    for (int v : node.outputs) {
      LB_TRY(check(v, true, fmt::format("node '{}'", node.name)));
      if (v != ir::kNoValue) producer[static_cast<size_t>(v)] = static_cast<int>(n);
    }
  }
  for (int v : g.inputs) LB_TRY(check(v, false, "a graph input"));
  for (int v : g.outputs) LB_TRY(check(v, false, "a graph output"));
  // ONNX refers to values by name: each must have one, and only one value may use it.
  std::unordered_set<std::string_view> names;
  for (size_t v = 0; v < g.values.size(); ++v) {
    const std::string& name = g.values[v].name;
    if (name.empty()) return Status::errorf("value #{} has no name", v);
    if (!names.insert(name).second) return Status::errorf("two values are named '{}'", name);
  }

  m->set_ir_version(ir_version_for(g.opset));
  m->set_producer_name(g.producer_name.empty() ? "lowbit" : g.producer_name);
  std::map<std::string, int64_t> opsets = g.opsets;
  opsets[""] = g.opset;
  for (const ir::Node& node : g.nodes) opsets.emplace(node.domain, 1);  // a domain must be imported to be used
  for (const auto& [domain, version] : opsets) {
    ::onnx::OperatorSetIdProto* o = m->add_opset_import();
    o->set_domain(domain);
    o->set_version(version);
  }
  for (const auto& [key, value] : g.metadata) {
    ::onnx::StringStringEntryProto* p = m->add_metadata_props();
    p->set_key(key);
    p->set_value(value);
  }

  ::onnx::GraphProto* gp = m->mutable_graph();
  gp->set_name(g.name.empty() ? "lowbit" : g.name);
  std::vector<bool> is_io(g.values.size(), false);
  for (int v : g.inputs) is_io[static_cast<size_t>(v)] = true;
  for (int v : g.outputs) is_io[static_cast<size_t>(v)] = true;
  // Initializers and value_info in name order: the file then depends only on the graph's
  // contents, not on the order passes happened to create values (saved models round-trip byte for byte).
  std::vector<size_t> order(g.values.size());
  for (size_t v = 0; v < order.size(); ++v) order[v] = v;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return g.values[a].name < g.values[b].name; });
  for (size_t v : order) {
    const ir::Value& val = g.values[v];
    if (val.constant && producer[v] < 0) {  // initializers and folded constants alike
      if (!val.constant->defined()) return Status::errorf("constant value '{}' has no data", val.name);
      tensor_to_proto(*val.constant, val.name, gp->add_initializer());
    } else if (!is_io[v] && producer[v] >= 0 && val.dtype) {  // a type without elem_type is invalid ONNX
      fill_value_info(val, gp->add_value_info());
    }
  }
  for (int v : g.inputs) fill_value_info(g.value(v), gp->add_input());
  for (int v : g.outputs) fill_value_info(g.value(v), gp->add_output());

  for (const ir::Node& node : g.nodes) {
    ::onnx::NodeProto* np = gp->add_node();
    np->set_name(node.name);
    np->set_op_type(node.op_type);
    if (!node.domain.empty()) np->set_domain(node.domain);
    for (int v : node.inputs) np->add_input(v == ir::kNoValue ? std::string() : g.value(v).name);
    for (int v : node.outputs) np->add_output(v == ir::kNoValue ? std::string() : g.value(v).name);
    for (const auto& [name, value] : node.attrs.all()) {
      AttributeProto* a = np->add_attribute();
      a->set_name(name);
      LB_TRY(std::visit(AttrWriter{a}, value).with_context(fmt::format("node '{}'", node.name)));
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::string> export_model_to_bytes(const ir::Graph& graph) {
  ::onnx::ModelProto model;
  LB_TRY(build_model(graph, &model));
  const size_t size = model.ByteSizeLong();
  if (size > kMaxProtobufBytes)
    return Status::errorf("the model is {} bytes, over the 2 GiB protobuf limit (lowbit does not write external data)",
                          size);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Status::error("protobuf serialization failed");
  return bytes;
}

Status export_model(const ir::Graph& graph, const std::string& path) {
  Result<std::string> bytes = export_model_to_bytes(graph);
  if (!bytes) return bytes.status().with_context(path);
  return write_file_atomic(path, *bytes);
}

}  // namespace lowbit::onnx
