// scheme_json.cc: QScheme ⇄ JSON for saved-model metadata.
#include "quant/scheme_json.h"

#include <optional>
#include <string>

namespace lowbit::quant {

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
    const std::optional<Granularity> gr = parse_granularity(g);
    if (!gr) return Status::errorf("{}: granularity '{}' is unknown", what, g);
    s.granularity = *gr;
    s.axis = j.at("axis").get<int>();
    s.group = j.at("group").get<int64_t>();
    s.block = j.at("block").get<int64_t>();
    const std::string r = j.at("rounding").get<std::string>();
    const std::optional<Rounding> mode = parse_rounding(r);
    if (!mode) return Status::errorf("{}: rounding '{}' is unknown", what, r);
    s.rounding = *mode;
    s.seed = j.at("seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::errorf("{}: bad scheme: {}", what, e.what());
  }
  if (Status st = validate(s); !st.is_ok()) return Status::errorf("{}: {}", what, st.message());
  return s;
}

}  // namespace lowbit::quant
