// recipe_section.cc: keys, value checks, defaults and TensorQuant building for the "weight" and
// "activation" sections of a recipe.
#include "quant/recipe_section.h"

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include <fmt/format.h>

namespace lowbit::quant::recipe_detail {
namespace {

using nlohmann::json;

enum class KeyType : uint8_t {
  kInt,     // integer in [lo, hi]
  kOptInt,  // integer in [lo, hi], or null (not set)
  kBool,
  kReal,    // number in (lo, hi] or [lo, hi) as the flags say
  kChoice,  // one of a list of strings
  kAxis,    // "auto" or an integer in [lo, hi]
  kSeed,    // integer in [0, 2^64 − 1]
};

struct Key {
  std::string_view name;
  KeyType type;
  double lo = 0, hi = 0;
  bool lo_open = false, hi_open = false;  // kReal: excluded end points
};

// Ranks above 32 do not occur in practice; the op's rank is checked again by slot_layout().
constexpr int kMaxAxis = 32;
// Channels per group / elements per block: far above any real tensor dim, far below overflow.
constexpr double kMaxGroup = double(int64_t{1} << 30);
// Histogram bins per slot; per-channel histograms of this size still fit memory comfortably.
constexpr int kMinBins = 16, kMaxBins = 65536;

// In the order documented and listed in "allowed:" messages.
const std::array<Key, 15> kKeys = {{
    {"bits", KeyType::kInt, 2, 16},
    {"signed", KeyType::kBool},
    {"symmetric", KeyType::kBool},
    {"narrow", KeyType::kBool},
    {"granularity", KeyType::kChoice},
    {"axis", KeyType::kAxis, -kMaxAxis, kMaxAxis - 1},
    {"group", KeyType::kOptInt, 1, kMaxGroup},
    {"block", KeyType::kOptInt, 1, kMaxGroup},
    {"observer", KeyType::kChoice},
    {"percentile", KeyType::kReal, 50, 100, true, false},
    {"momentum", KeyType::kReal, 0, 1, false, true},
    {"bins", KeyType::kInt, kMinBins, kMaxBins},
    {"rounding", KeyType::kChoice},
    {"seed", KeyType::kSeed},
    {"mode", KeyType::kChoice},  // activation only
}};

const std::vector<std::string_view> kWeightGranularities = {"per-tensor", "per-channel", "per-group", "per-block"};
const std::vector<std::string_view> kActivationGranularities = {"per-tensor", "per-channel", "per-group", "per-block",
                                                                "per-row"};
const std::vector<std::string_view> kRoundings = {"half-even", "half-away", "floor", "stochastic"};
const std::vector<std::string_view> kModes = {"static", "dynamic"};

const std::vector<std::string_view>& observer_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (int k = 0; k <= static_cast<int>(ObserverKind::kAciqGauss); ++k) v.push_back(observer_name(static_cast<ObserverKind>(k)));
    return v;
  }();
  return names;
}

const std::vector<std::string_view>& choices(std::string_view key, Section s) {
  if (key == "granularity") return s == Section::kWeight ? kWeightGranularities : kActivationGranularities;
  if (key == "observer") return observer_names();
  if (key == "rounding") return kRoundings;
  return kModes;
}

bool section_has(Section s, std::string_view key) { return key != "mode" || s == Section::kActivation; }

std::string allowed_keys(Section s) {
  std::string out;
  for (const Key& k : kKeys) {
    if (!section_has(s, k.name)) continue;
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

std::string join(const std::vector<std::string_view>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

// Integral bounds print as integers (1073741824, not 1.07374e+09).
std::string fmt_num(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:g}", v);
}

std::string range_text(const Key& k) {
  return fmt::format("{}{}, {}{}", k.lo_open ? "(" : "[", fmt_num(k.lo), fmt_num(k.hi), k.hi_open ? ")" : "]");
}

// Integer value of `v` if it is a JSON integer inside [lo, hi].
bool int_in(const json& v, double lo, double hi, int64_t& out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) return false;
    out = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    out = v.get<int64_t>();
  } else {
    return false;
  }
  return static_cast<double>(out) >= lo && static_cast<double>(out) <= hi;
}

Status check_value(const Key& k, const json& v, Section s, const std::string& key_path) {
  int64_t i = 0;
  switch (k.type) {
    case KeyType::kInt:
    case KeyType::kOptInt:
      if (k.type == KeyType::kOptInt && v.is_null()) return Status::ok();
      if (int_in(v, k.lo, k.hi, i)) return Status::ok();
      return Status::errorf("{}: {} is not an integer in [{}, {}]{}", key_path, short_dump(v), fmt_num(k.lo),
                            fmt_num(k.hi), k.type == KeyType::kOptInt ? " or null" : "");
    case KeyType::kBool:
      if (v.is_boolean()) return Status::ok();
      return Status::errorf("{}: {} is not true or false", key_path, short_dump(v));
    case KeyType::kReal: {
      if (v.is_number()) {
        const double d = v.get<double>();
        const bool lo_ok = k.lo_open ? d > k.lo : d >= k.lo;
        const bool hi_ok = k.hi_open ? d < k.hi : d <= k.hi;
        if (lo_ok && hi_ok) return Status::ok();
      }
      return Status::errorf("{}: {} is not a number in {}", key_path, short_dump(v), range_text(k));
    }
    case KeyType::kChoice: {
      const auto& allowed = choices(k.name, s);
      if (v.is_string()) {
        const std::string& str = v.get_ref<const std::string&>();
        for (std::string_view a : allowed)
          if (a == str) return Status::ok();
        return Status::errorf("{}: '{}' is not one of {}", key_path, str, join(allowed));
      }
      return Status::errorf("{}: {} is not one of {}", key_path, short_dump(v), join(allowed));
    }
    case KeyType::kAxis:
      if (v.is_string() && v.get_ref<const std::string&>() == "auto") return Status::ok();
      if (int_in(v, k.lo, k.hi, i)) return Status::ok();
      return Status::errorf("{}: {} is not \"auto\" or an integer in [{}, {}]", key_path, short_dump(v), fmt_num(k.lo),
                            fmt_num(k.hi));
    case KeyType::kSeed:
      if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) return Status::ok();
      return Status::errorf("{}: {} is not an integer in [0, 2^64 - 1]", key_path, short_dump(v));
  }
  return Status::ok();
}

const json& default_section(Section s) {
  // The DESIGN.md defaults: weights s8 symmetric narrow per output channel; activations u8
  // asymmetric per tensor, static. Histogram settings are the observers' own defaults.
  static const json weight = {
      {"bits", 8},           {"signed", true},         {"symmetric", true}, {"narrow", true},
      {"granularity", "per-channel"}, {"axis", "auto"}, {"group", nullptr}, {"block", nullptr},
      {"observer", "minmax"}, {"percentile", 99.99},    {"momentum", 0.9},   {"bins", 2048},
      {"rounding", "half-even"}, {"seed", 0},
  };
  static const json activation = [] {
    json a = weight;
    a["signed"] = false;
    a["symmetric"] = false;
    a["narrow"] = false;
    a["granularity"] = "per-tensor";
    a["mode"] = "static";
    return a;
  }();
  return s == Section::kWeight ? weight : activation;
}

// The sections were checked, so every name is one of the allowed ones.
Granularity granularity_of(std::string_view g) {
  return parse_granularity(g).value_or(Granularity::kPerChannel);  // "per-row" is per-channel on axis 0
}

Rounding rounding_of(std::string_view r) { return parse_rounding(r).value_or(Rounding::kHalfEven); }

}  // namespace

std::string_view section_name(Section s) { return s == Section::kWeight ? "weight" : "activation"; }

std::string short_dump(const json& j) {
  std::string d = j.dump();
  constexpr size_t kMax = 60;
  if (d.size() > kMax) d = d.substr(0, kMax) + "...";
  return d;
}

Status check_section(const json& sec, Section s, const std::string& path) {
  if (!sec.is_object()) return Status::errorf("{}: expected an object, got {}", path, short_dump(sec));
  for (const auto& [name, value] : sec.items()) {
    const Key* key = nullptr;
    for (const Key& k : kKeys)
      if (k.name == name && section_has(s, name)) key = &k;
    if (!key) return Status::errorf("unknown key '{}.{}' (allowed: {})", path, name, allowed_keys(s));
    LB_TRY(check_value(*key, value, s, path + "." + name));
  }
  return Status::ok();
}

json complete_section(const json& sec, Section s) {
  json out = default_section(s);
  for (const auto& [name, value] : sec.items()) out[name] = value;
  return out;
}

Status build_section(const json& sec, Section s, const std::string& path, TensorQuant& out, ActivationMode& mode) {
  // `sec` is complete and every value passed check_section, so the get<>() calls cannot throw.
  const std::string granularity = sec.at("granularity").get<std::string>();
  const bool dynamic = s == Section::kActivation && sec.at("mode").get<std::string>() == "dynamic";
  if (s == Section::kActivation) {
    if (dynamic && granularity != "per-tensor" && granularity != "per-row")
      return Status::errorf("{}.granularity: '{}' is not allowed with mode dynamic (allowed: per-tensor, per-row)", path,
                            granularity);
    if (!dynamic && granularity == "per-row")
      return Status::errorf("{}.granularity: 'per-row' needs mode dynamic (static allows per-tensor, per-channel, "
                            "per-group, per-block)",
                            path);
    mode = dynamic ? ActivationMode::kDynamic : ActivationMode::kStatic;
  }
  if (granularity == "per-group" && sec.at("group").is_null())
    return Status::errorf("{}.granularity: per-group needs '{}.group' (channels per group)", path, path);
  if (granularity == "per-block" && sec.at("block").is_null())
    return Status::errorf("{}.granularity: per-block needs '{}.block' (elements per block)", path, path);

  TensorQuant tq;
  QScheme& q = tq.scheme;
  q.bits = sec.at("bits").get<int>();
  q.is_signed = sec.at("signed").get<bool>();
  q.symmetric = sec.at("symmetric").get<bool>();
  q.narrow = sec.at("narrow").get<bool>();
  q.granularity = granularity_of(granularity);
  const json& axis = sec.at("axis");
  if (granularity == "per-row") {
    // Dynamic per-row: one range per row of the [rows, features] input, i.e. per channel on axis 0.
    tq.auto_axis = false;
    q.axis = 0;
  } else if (axis.is_string()) {  // "auto"
    tq.auto_axis = true;
    q.axis = s == Section::kWeight ? 0 : 1;
  } else {
    tq.auto_axis = false;
    q.axis = axis.get<int>();
  }
  // group / block only mean something for their granularity; a leftover from a base is ignored.
  if (q.granularity == Granularity::kPerGroup) q.group = sec.at("group").get<int64_t>();
  if (q.granularity == Granularity::kPerBlock) q.block = sec.at("block").get<int64_t>();
  q.rounding = rounding_of(sec.at("rounding").get<std::string>());
  q.seed = sec.at("seed").is_number_unsigned() ? sec.at("seed").get<uint64_t>()
                                                : static_cast<uint64_t>(sec.at("seed").get<int64_t>());
  LB_TRY(validate(q).with_context(path));

  ObserverConfig& o = tq.observer;
  Result<ObserverKind> kind = parse_observer_kind(sec.at("observer").get<std::string>());
  if (!kind) return kind.status().with_context(path + ".observer");
  o.kind = *kind;
  o.percentile = sec.at("percentile").get<double>();
  o.momentum = sec.at("momentum").get<double>();
  o.bins = sec.at("bins").get<int>();
  out = tq;
  return Status::ok();
}

}  // namespace lowbit::quant::recipe_detail
