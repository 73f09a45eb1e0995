// recipe_section.h: the "weight" and "activation" sections of a recipe — their keys, the check
// of each value, the defaults that complete them, and the TensorQuant they turn into.
// Internal to recipe*.cc; the format is documented in docs/recipes.md.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "quant/recipe.h"

namespace lowbit::quant::recipe_detail {

enum class Section : uint8_t { kWeight, kActivation };

// "weight", "activation".
std::string_view section_name(Section s);

// Checks every key present in `sec` (which may be partial): known key, right type, value in range.
// `path` prefixes key names in messages ("weight", "layers[2].activation").
Status check_section(const nlohmann::json& sec, Section s, const std::string& path);

// `sec` with every missing key set to its default (a canonical, complete section).
nlohmann::json complete_section(const nlohmann::json& sec, Section s);

// The TensorQuant of a complete, checked section, after the checks that involve several keys
// (per-group needs group, dynamic activations allow only per-tensor / per-row, validate(QScheme)).
// `mode` receives the activation mode (left alone for weights).
Status build_section(const nlohmann::json& sec, Section s, const std::string& path, TensorQuant& out,
                     ActivationMode& mode);

// A short rendering of a JSON value for messages (long values are cut).
std::string short_dump(const nlohmann::json& j);

}  // namespace lowbit::quant::recipe_detail
