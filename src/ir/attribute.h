// attribute.h: node attributes (the ONNX attribute kinds lowbit uses) with typed, checked access.
//
// Models are untrusted, so a getter returns an error naming the attribute when it is missing
// (and has no default) or holds another kind; ops pass that error up with the node's name.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::ir {

using AttrValue = std::variant<int64_t, float, std::string, Tensor, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>>;

// Name of the kind an AttrValue holds: "int", "float", "string", "tensor", "ints", "floats", "strings".
std::string_view attr_kind_name(const AttrValue& v);

class Attributes {
 public:
  void set(std::string name, AttrValue value) { attrs_[std::move(name)] = std::move(value); }
  bool has(std::string_view name) const { return attrs_.find(name) != attrs_.end(); }
  void erase(std::string_view name) {
    auto it = attrs_.find(name);
    if (it != attrs_.end()) attrs_.erase(it);
  }
  const std::map<std::string, AttrValue, std::less<>>& all() const { return attrs_; }

  // Each returns the attribute, or `def` when absent, or an error when absent without a
  // default or of the wrong kind. get_float accepts an int attribute (ONNX writers differ).
  Result<int64_t> get_int(std::string_view name, std::optional<int64_t> def = std::nullopt) const;
  Result<float> get_float(std::string_view name, std::optional<float> def = std::nullopt) const;
  Result<std::string> get_string(std::string_view name, std::optional<std::string> def = std::nullopt) const;
  Result<Tensor> get_tensor(std::string_view name) const;
  Result<std::vector<int64_t>> get_ints(std::string_view name,
                                        std::optional<std::vector<int64_t>> def = std::nullopt) const;
  Result<std::vector<float>> get_floats(std::string_view name,
                                        std::optional<std::vector<float>> def = std::nullopt) const;
  Result<std::vector<std::string>> get_strings(std::string_view name) const;

 private:
  std::map<std::string, AttrValue, std::less<>> attrs_;
};

}  // namespace lowbit::ir
