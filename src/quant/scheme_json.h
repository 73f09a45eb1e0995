// scheme_json.h: QScheme ⇄ JSON with the recipe's key names (docs/recipes.md), used for the
// "lowbit.quant" metadata a saved QuantizedModel carries.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "quant/qscheme.h"

namespace lowbit::quant {

nlohmann::json scheme_to_json(const QScheme& scheme);
// Every key required; values checked (validate()); `what` names the tensor in errors.
Result<QScheme> scheme_from_json(const nlohmann::json& j, std::string_view what);


}  // namespace lowbit::quant
