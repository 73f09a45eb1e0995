// attribute.cc: typed attribute access.
#include "ir/attribute.h"

namespace lowbit::ir {
namespace {

template <typename T>
Result<T> get_typed(const std::map<std::string, AttrValue, std::less<>>& attrs, std::string_view name,
                    std::optional<T> def, std::string_view want) {
  auto it = attrs.find(name);
  if (it == attrs.end()) {
    if (def) return *def;
    return Status::errorf("required attribute '{}' is missing", name);
  }
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return Status::errorf("attribute '{}' is {}, expected {}", name, attr_kind_name(it->second), want);
}

}  // namespace

std::string_view attr_kind_name(const AttrValue& v) {
  static constexpr std::string_view kNames[] = {"int", "float", "string", "tensor", "ints", "floats", "strings"};
  return kNames[v.index()];
}

Result<int64_t> Attributes::get_int(std::string_view name, std::optional<int64_t> def) const {
  return get_typed<int64_t>(attrs_, name, def, "int");
}

Result<float> Attributes::get_float(std::string_view name, std::optional<float> def) const {
  auto it = attrs_.find(name);
  if (it != attrs_.end())
    if (const int64_t* i = std::get_if<int64_t>(&it->second)) return static_cast<float>(*i);
  return get_typed<float>(attrs_, name, def, "float");
}

Result<std::string> Attributes::get_string(std::string_view name, std::optional<std::string> def) const {
  return get_typed<std::string>(attrs_, name, std::move(def), "string");
}

Result<Tensor> Attributes::get_tensor(std::string_view name) const {
  return get_typed<Tensor>(attrs_, name, std::nullopt, "tensor");
}

Result<std::vector<int64_t>> Attributes::get_ints(std::string_view name,
                                                  std::optional<std::vector<int64_t>> def) const {
  return get_typed<std::vector<int64_t>>(attrs_, name, std::move(def), "ints");
}

Result<std::vector<float>> Attributes::get_floats(std::string_view name,
                                                  std::optional<std::vector<float>> def) const {
  return get_typed<std::vector<float>>(attrs_, name, std::move(def), "floats");
}

Result<std::vector<std::string>> Attributes::get_strings(std::string_view name) const {
  return get_typed<std::vector<std::string>>(attrs_, name, std::nullopt, "strings");
}

}  // namespace lowbit::ir
