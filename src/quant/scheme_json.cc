// scheme_json.cc: QScheme ⇄ JSON for saved-model metadata.
#include "quant/scheme_json.h"

#include <string>

namespace lowbit::quant {

std::string_view rounding_name(Rounding mode) {
  switch (mode) {
    case Rounding::kHalfEven: return "half-even";
    case Rounding::kHalfAway: return "half-away";
    case Rounding::kFloor: return "floor";
    case Rounding::kStochastic: return "stochastic";
  }
  return "half-even";
}

Result<Rounding> parse_rounding(std::string_view name) {
  for (Rounding r : {Rounding::kHalfEven, Rounding::kHalfAway, Rounding::kFloor, Rounding::kStochastic})
    if (rounding_name(r) == name) return r;
  return Status::errorf("rounding '{}' is not one of half-even, half-away, floor, stochastic", name);
}

namespace {

std::string_view granularity_key(Granularity g) {
  switch (g) {
    case Granularity::kPerTensor: return "per-tensor";
    case Granularity::kPerChannel: return "per-channel";
    case Granularity::kPerGroup: return "per-group";
    case Granularity::kPerBlock: return "per-block";
  }
  return "per-tensor";
}

}  // namespace

nlohmann::json scheme_to_json(const QScheme& s) {
  return nlohmann::json{{"bits", s.bits},       {"signed", s.is_signed},
                        {"symmetric", s.symmetric}, {"narrow", s.narrow},
                        {"granularity", granularity_key(s.granularity)},
                        {"axis", s.axis},       {"group", s.group},
                        {"block", s.block},     {"rounding", rounding_name(s.rounding)},
                        {"seed", s.seed}};
}

Result<QScheme> scheme_from_json(const nlohmann::json& j, std::string_view what) {
  if (!j.is_object()) return Status::errorf("{}: scheme is not a JSON object", what);
  QScheme s;
  try {
    s.bits = j.at("bits").get<int>();
    s.is_signed = j.at("signed").get<bool>();
    s.symmetric = j.at("symmetric").get<bool>();
    s.narrow = j.at("narrow").get<bool>();
    const std::string g = j.at("granularity").get<std::string>();
    bool found = false;
    for (Granularity k : {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup, Granularity::kPerBlock})
      if (granularity_key(k) == g) {
        s.granularity = k;
        found = true;
      }
    if (!found) return Status::errorf("{}: granularity '{}' is unknown", what, g);
    s.axis = j.at("axis").get<int>();
    s.group = j.at("group").get<int64_t>();
    s.block = j.at("block").get<int64_t>();
    auto r = parse_rounding(j.at("rounding").get<std::string>());
    if (!r.is_ok()) return Status::errorf("{}: {}", what, r.status().message());
    s.rounding = *r;
    s.seed = j.at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::errorf("{}: bad scheme: {}", what, e.what());
  }
  if (Status st = validate(s); !st.is_ok()) return Status::errorf("{}: {}", what, st.message());
  return s;
}

}  // namespace lowbit::quant
