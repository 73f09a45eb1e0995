// import.cc: ModelProto -> ir::Graph (see import.h for what is kept, converted and checked).
#include "onnx/import.h"

#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <onnx/onnx_pb.h>

#include "onnx/file_io.h"
#include "onnx/proto_io.h"
#include "onnx/tensor_proto.h"

namespace lowbit::onnx {
namespace {

using ::onnx::AttributeProto;
using AttrResult = Result<std::optional<ir::AttrValue>>;

bool is_default_domain(std::string_view d) { return d.empty() || d == "ai.onnx"; }

// The kind an attribute holds when the writer left `type` unset (very old exporters).
int attribute_type(const AttributeProto& a) {
  if (a.type() != AttributeProto::UNDEFINED) return a.type();
  if (a.has_f()) return AttributeProto::FLOAT;
  if (a.has_i()) return AttributeProto::INT;
  if (a.has_s()) return AttributeProto::STRING;
  if (a.has_t()) return AttributeProto::TENSOR;
  if (a.has_g()) return AttributeProto::GRAPH;
  if (a.has_sparse_tensor()) return AttributeProto::SPARSE_TENSOR;
  if (a.has_tp()) return AttributeProto::TYPE_PROTO;
  if (a.floats_size()) return AttributeProto::FLOATS;
  if (a.ints_size()) return AttributeProto::INTS;
  if (a.strings_size()) return AttributeProto::STRINGS;
  if (a.tensors_size()) return AttributeProto::TENSORS;
  if (a.graphs_size()) return AttributeProto::GRAPHS;
  if (a.sparse_tensors_size()) return AttributeProto::SPARSE_TENSORS;
  if (a.type_protos_size()) return AttributeProto::TYPE_PROTOS;
  return AttributeProto::UNDEFINED;
}

std::string attribute_type_name(int t) {
  if (AttributeProto::AttributeType_IsValid(t))
    return AttributeProto::AttributeType_Name(static_cast<AttributeProto::AttributeType>(t));
  return fmt::format("unknown kind {}", t);
}

std::string_view type_kind_name(const ::onnx::TypeProto& t) {
  switch (t.value_case()) {
    case ::onnx::TypeProto::kTensorType: return "a tensor";
    case ::onnx::TypeProto::kSequenceType: return "a sequence";
    case ::onnx::TypeProto::kMapType: return "a map";
    case ::onnx::TypeProto::kOptionalType: return "an optional";
    case ::onnx::TypeProto::kSparseTensorType: return "a sparse tensor";
    default: return "a non-tensor value";
  }
}

class Importer {
 public:
  Importer(const ::onnx::ModelProto& model, const std::string& file, const std::string& base_dir, ImportNotes* notes)
      : model_(model), gp_(model.graph()), file_(file), base_dir_(base_dir), notes_(notes) {}

  Result<ir::Graph> run() {
    LB_TRY(read_opsets());
    g_.name = gp_.name();
    g_.producer_name = model_.producer_name();
    for (const ::onnx::StringStringEntryProto& p : model_.metadata_props()) g_.metadata[p.key()] = p.value();
    LB_TRY(read_initializers());
    LB_TRY(read_inputs());
    LB_TRY(read_nodes());
    LB_TRY(read_outputs());
    LB_TRY(read_value_info());
    LB_TRY(one_line(g_.topo_sort().with_context(file_)));  // topo_sort quotes raw names
    return std::move(g_);
  }

 private:
  template <typename... Args>
  Status err(fmt::format_string<Args...> f, Args&&... args) const {
    return Status::error(file_ + ": " + fmt::format(f, std::forward<Args>(args)...));
  }

  Status read_opsets() {
    for (const ::onnx::OperatorSetIdProto& o : model_.opset_import()) {
      const std::string domain = is_default_domain(o.domain()) ? std::string() : o.domain();
      auto [it, inserted] = g_.opsets.emplace(domain, o.version());
      if (!inserted && it->second != o.version())
        return err("imports domain '{}' twice, with versions {} and {}", printable(domain), it->second, o.version());
    }
    auto it = g_.opsets.find("");
    if (it == g_.opsets.end()) return err("does not import the default ONNX opset (no opset_import entry for domain '')");
    const int64_t v = it->second;
    if (v < kMinOpset)
      return err("uses ONNX opset {}, older than the oldest lowbit supports ({}); convert it with onnx.version_converter",
                 v, kMinOpset);
    if (v > kMaxOpset) return err("uses ONNX opset {}, newer than the newest lowbit supports ({})", v, kMaxOpset);
    g_.opset = v;
    return Status::ok();
  }

  Status read_initializers() {
    if (gp_.sparse_initializer_size() > 0)
      return err("has sparse initializer '{}', which lowbit does not support",
                 printable(gp_.sparse_initializer(0).values().name()));
    for (int i = 0; i < gp_.initializer_size(); ++i) {
      const ::onnx::TensorProto& tp = gp_.initializer(i);
      if (tp.name().empty()) return err("initializer #{} has no name", i);
      const std::string what = fmt::format("initializer '{}'", printable(tp.name()));
      if (g_.find_value(tp.name()) >= 0) return err("{} appears twice", what);
      LB_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(tp, file_, base_dir_, what));
      const int v = g_.add_value(tp.name());
      ir::Value& val = g_.value(v);
      val.dtype = t.dtype();
      val.shape = t.shape();
      val.constant = std::move(t);
      val.is_initializer = true;
      defined_by_.emplace(v, "initializer");
    }
    return Status::ok();
  }

  Status read_inputs() {
    std::unordered_set<std::string> seen;
    for (int i = 0; i < gp_.input_size(); ++i) {
      const ::onnx::ValueInfoProto& vi = gp_.input(i);
      if (vi.name().empty()) return err("graph input #{} has no name", i);
      if (!seen.insert(vi.name()).second) return err("graph input '{}' is listed twice", printable(vi.name()));
      // An initializer may also be listed as an input (required before IR 4): it stays a constant.
      if (g_.find_value(vi.name()) >= 0) continue;
      const int v = g_.add_value(vi.name());
      LB_TRY(apply_type(vi, g_.value(v), "graph input", /*strict=*/true));
      defined_by_.emplace(v, "graph input");
      g_.inputs.push_back(v);
    }
    return Status::ok();
  }

  // Copies dtype and shape from a ValueInfoProto. strict: a non-tensor or unsupported element
  // type is an error (graph inputs must be fed); otherwise it leaves the value untyped.
  Status apply_type(const ::onnx::ValueInfoProto& vi, ir::Value& val, std::string_view role, bool strict) const {
    if (!vi.has_type() || vi.type().value_case() == ::onnx::TypeProto::VALUE_NOT_SET) return Status::ok();
    const ::onnx::TypeProto& type = vi.type();
    if (!type.has_tensor_type()) {
      if (strict)
        return err("{} '{}' is {}, not a tensor; lowbit supports tensors only", role, printable(val.name),
                   type_kind_name(type));
      return Status::ok();
    }
    const ::onnx::TypeProto::Tensor& tt = type.tensor_type();
    if (tt.elem_type() != ::onnx::TensorProto::UNDEFINED) {
      if (std::optional<DType> dt = exact_dtype_from_onnx(tt.elem_type())) {
        val.dtype = *dt;
      } else if (strict) {
        return err("{} '{}' has element type {}, which lowbit does not support", role, printable(val.name),
                   onnx_dtype_name(tt.elem_type()));
      }
    }
    if (tt.has_shape()) {
      Shape shape;
      std::vector<std::string> params;
      bool any_param = false;
      for (const ::onnx::TensorShapeProto::Dimension& d : tt.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() >= 0) {
          shape.push_back(d.dim_value());
          params.emplace_back();
        } else {  // symbolic, missing or (invalid) negative: unknown
          shape.push_back(-1);
          params.push_back(d.has_dim_param() ? d.dim_param() : std::string());
          any_param |= !params.back().empty();
        }
      }
      val.shape = std::move(shape);
      if (any_param) val.dim_params = std::move(params);
      else val.dim_params.clear();
    }
    return Status::ok();
  }

  // The value named `name`, created on first sight.
  int value_for(const std::string& name) {
    const int v = g_.find_value(name);
    return v >= 0 ? v : g_.add_value(name);
  }

  // Records that `who` ("node 'x'") writes value v; each value has one definition.
  Status claim(int v, const std::string& who) {
    auto [it, inserted] = defined_by_.emplace(v, who);
    if (inserted) return Status::ok();
    const std::string name = printable(g_.value(v).name);
    if (it->second == "initializer") return err("{} writes '{}', which is an initializer", who, name);
    if (it->second == "graph input") return err("{} writes '{}', which is a graph input", who, name);
    if (it->second == who) return err("{} writes '{}' twice", who, name);
    return err("value '{}' is produced by two nodes ({} and {})", name, it->second, who);
  }

  // Node names: the model's where unique, else "<OpType>_<index>" (made unique with a suffix).
  std::vector<std::string> node_names() const {
    std::unordered_set<std::string> reserved, assigned;
    for (const ::onnx::NodeProto& n : gp_.node())
      if (!n.name().empty()) reserved.insert(n.name());
    std::vector<std::string> names;
    names.reserve(static_cast<size_t>(gp_.node_size()));
    for (int i = 0; i < gp_.node_size(); ++i) {
      const ::onnx::NodeProto& n = gp_.node(i);
      if (!n.name().empty() && assigned.insert(n.name()).second) {
        names.push_back(n.name());
        continue;
      }
      const std::string base = fmt::format("{}_{}", n.op_type().empty() ? "node" : n.op_type(), i);
      std::string name = base;
      for (int k = 1; reserved.count(name) || assigned.count(name); ++k) name = fmt::format("{}_{}", base, k);
      assigned.insert(name);
      reserved.insert(name);
      names.push_back(std::move(name));
    }
    return names;
  }

  Status read_nodes() {
    const std::vector<std::string> names = node_names();
    for (int i = 0; i < gp_.node_size(); ++i) {
      const ::onnx::NodeProto& np = gp_.node(i);
      const std::string& name = names[static_cast<size_t>(i)];
      const std::string who = fmt::format("node '{}'", printable(name));
      if (np.op_type().empty()) return err("{} has no op_type", who);
      const bool default_domain = is_default_domain(np.domain());
      if (default_domain && np.op_type() == "Constant") {
        LB_TRY(read_constant_node(np, name));
        continue;
      }
      ir::Node node;
      node.name = name;
      node.op_type = np.op_type();
      node.domain = default_domain ? std::string() : np.domain();
      for (const std::string& in : np.input()) node.inputs.push_back(in.empty() ? ir::kNoValue : value_for(in));
      for (const std::string& out : np.output()) {
        if (out.empty()) {
          node.outputs.push_back(ir::kNoValue);
          continue;
        }
        const int v = value_for(out);
        LB_TRY(claim(v, who));
        node.outputs.push_back(v);
      }
      std::unordered_set<std::string> attr_names;
      for (const AttributeProto& a : np.attribute()) {
        if (a.name().empty()) return err("{} has an attribute with no name", who);
        if (!attr_names.insert(a.name()).second) return err("{} has attribute '{}' twice", who, printable(a.name()));
        LB_ASSIGN_OR_RETURN(std::optional<ir::AttrValue> value, convert_attribute(a, who));
        if (value) node.attrs.set(a.name(), std::move(*value));
      }
      g_.add_node(std::move(node));
    }
    return Status::ok();
  }

  // nullopt: a kind lowbit cannot hold (subgraphs, sparse tensors, type protos), noted and dropped.
  AttrResult convert_attribute(const AttributeProto& a, const std::string& who) {
    using V = ir::AttrValue;
    using Opt = std::optional<V>;
    const int type = attribute_type(a);
    switch (type) {
      case AttributeProto::FLOAT: return Opt(V(std::in_place_type<float>, a.f()));
      case AttributeProto::INT: return Opt(V(std::in_place_type<int64_t>, a.i()));
      case AttributeProto::STRING: return Opt(V(std::in_place_type<std::string>, a.s()));
      case AttributeProto::TENSOR: {
        LB_ASSIGN_OR_RETURN(Tensor t, tensor_from_proto(a.t(), file_, base_dir_,
                                                        fmt::format("tensor attribute '{}' of {}", printable(a.name()), who)));
        return Opt(V(std::move(t)));
      }
      case AttributeProto::FLOATS:
        return Opt(V(std::in_place_type<std::vector<float>>, a.floats().begin(), a.floats().end()));
      case AttributeProto::INTS:
        return Opt(V(std::in_place_type<std::vector<int64_t>>, a.ints().begin(), a.ints().end()));
      case AttributeProto::STRINGS:
        return Opt(V(std::in_place_type<std::vector<std::string>>, a.strings().begin(), a.strings().end()));
      case AttributeProto::GRAPH:
      case AttributeProto::GRAPHS:
      case AttributeProto::TENSORS:
      case AttributeProto::SPARSE_TENSOR:
      case AttributeProto::SPARSE_TENSORS:
      case AttributeProto::TYPE_PROTO:
      case AttributeProto::TYPE_PROTOS:
        if (notes_)
          notes_->dropped_attributes.push_back(
              fmt::format("{} attribute '{}' ({})", who, printable(a.name()), attribute_type_name(type)));
        return Opt();
      case AttributeProto::UNDEFINED:
        return err("{} attribute '{}' has no type and no value", who, printable(a.name()));
      default:
        return err("{} attribute '{}' has {}", who, printable(a.name()), attribute_type_name(type));
    }
  }

  // A 1-D tensor holding a repeated attribute field (checked against the tensor size limit).
  template <typename T, typename Field>
  Result<Tensor> list_tensor(const Field& values, const std::string& who) const {
    Result<Tensor> t = Tensor::make(DTypeOf<T>::value, {static_cast<int64_t>(values.size())});
    if (!t) return err("{}: {}", who, t.status().message());
    if (!values.empty()) std::memcpy(t->raw(), values.data(), static_cast<size_t>(values.size()) * sizeof(T));
    return t;
  }

  // A Constant node becomes a constant value: its one attribute is the value.
  Status read_constant_node(const ::onnx::NodeProto& np, const std::string& name) {
    const std::string who = fmt::format("Constant node '{}'", printable(name));
    if (np.input_size() != 0) return err("{} has {} inputs; it takes none", who, np.input_size());
    if (np.output_size() != 1 || np.output(0).empty()) return err("{} must have exactly one named output", who);
    if (np.attribute_size() != 1)
      return err("{} has {} attributes; it needs exactly one of value, value_float, value_floats, value_int, value_ints",
                 who, np.attribute_size());
    const AttributeProto& a = np.attribute(0);
    auto expect = [&](AttributeProto::AttributeType want) -> Status {
      if (attribute_type(a) == want) return Status::ok();
      return err("{} attribute '{}' is {}, expected {}", who, printable(a.name()), attribute_type_name(attribute_type(a)),
                 attribute_type_name(want));
    };
    Tensor t;
    if (a.name() == "value") {
      LB_TRY(expect(AttributeProto::TENSOR));
      LB_ASSIGN_OR_RETURN(t, tensor_from_proto(a.t(), file_, base_dir_, fmt::format("value of {}", who)));
    } else if (a.name() == "value_float") {
      LB_TRY(expect(AttributeProto::FLOAT));
      t = Tensor::scalar<float>(a.f());
    } else if (a.name() == "value_int") {
      LB_TRY(expect(AttributeProto::INT));
      t = Tensor::scalar<int64_t>(a.i());
    } else if (a.name() == "value_floats") {
      LB_TRY(expect(AttributeProto::FLOATS));
      LB_ASSIGN_OR_RETURN(t, list_tensor<float>(a.floats(), who));
    } else if (a.name() == "value_ints") {
      LB_TRY(expect(AttributeProto::INTS));
      LB_ASSIGN_OR_RETURN(t, list_tensor<int64_t>(a.ints(), who));
    } else if (a.name() == "value_string" || a.name() == "value_strings" || a.name() == "sparse_value") {
      return err("{} holds {}, which lowbit does not support", who, a.name());
    } else {
      return err("{} has unknown attribute '{}'", who, printable(a.name()));
    }
    const int v = value_for(np.output(0));
    LB_TRY(claim(v, who));
    ir::Value& val = g_.value(v);
    val.dtype = t.dtype();
    val.shape = t.shape();
    val.constant = std::move(t);
    val.is_initializer = false;
    return Status::ok();
  }

  Status read_outputs() {
    if (gp_.output_size() == 0) return err("the graph has no outputs");
    std::unordered_set<std::string> seen;
    for (int i = 0; i < gp_.output_size(); ++i) {
      const ::onnx::ValueInfoProto& vi = gp_.output(i);
      if (vi.name().empty()) return err("graph output #{} has no name", i);
      if (!seen.insert(vi.name()).second) return err("graph output '{}' is listed twice", printable(vi.name()));
      const int v = value_for(vi.name());
      if (!g_.value(v).constant) LB_TRY(apply_type(vi, g_.value(v), "graph output", /*strict=*/false));
      g_.outputs.push_back(v);
    }
    return Status::ok();
  }

  // value_info: fills dtype / shape of intermediates where the value does not have them yet.
  Status read_value_info() {
    for (const ::onnx::ValueInfoProto& vi : gp_.value_info()) {
      const int v = g_.find_value(vi.name());
      if (v < 0 || g_.value(v).constant) continue;
      ir::Value scratch;
      scratch.name = vi.name();
      LB_TRY(apply_type(vi, scratch, "value_info", /*strict=*/false));
      ir::Value& val = g_.value(v);
      if (!val.dtype) val.dtype = scratch.dtype;
      if (!val.shape) {
        val.shape = std::move(scratch.shape);
        val.dim_params = std::move(scratch.dim_params);
      }
    }
    return Status::ok();
  }

  const ::onnx::ModelProto& model_;
  const ::onnx::GraphProto& gp_;
  const std::string file_;
  const std::string base_dir_;
  ImportNotes* notes_;
  ir::Graph g_;
  std::unordered_map<int, std::string> defined_by_;  // value -> "initializer", "graph input", "node 'x'"
};

}  // namespace

Result<ir::Graph> import_model_from_bytes(std::string_view bytes, const std::string& display_name,
                                          const std::string& base_dir, ImportNotes* notes) {
  ::onnx::ModelProto model;
  LB_TRY(one_line(parse_message(bytes, display_name, "ONNX model", &model)));
  if (!model.has_graph()) return one_line(Status::errorf("{}: is not an ONNX model: it has no graph", display_name));
  Result<ir::Graph> g = Importer(model, display_name, base_dir, notes).run();
  if (!g) return one_line(g.status());
  return g;
}

Result<ir::Graph> import_model(const std::string& path, ImportNotes* notes) {
  const std::string base_dir = folder_of(path);
  ::onnx::ModelProto model;
  {
    // Scoped so the file's bytes are freed before the tensors are built from the parsed proto.
    Result<std::string> bytes = read_file_capped(path, kMaxProtobufBytes);
    if (!bytes) return one_line(bytes.status());
    LB_TRY(one_line(parse_message(*bytes, path, "ONNX model", &model)));
  }
  if (!model.has_graph()) return one_line(Status::errorf("{}: is not an ONNX model: it has no graph", path));
  Result<ir::Graph> g = Importer(model, path, base_dir, notes).run();
  if (!g) return one_line(g.status());
  return g;
}

}  // namespace lowbit::onnx
