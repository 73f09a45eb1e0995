// recipe_presets.cc: the built-in recipes, written as recipe JSON and read by the same parser as
// user files (so every preset also exercises it). docs/recipes.md describes each one.
#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "quant/recipe.h"

namespace lowbit::quant {
namespace {

// name → JSON text. Derived presets name their base, so a change to int8 (for example its
// activation observer) carries over to every preset that keeps "activations as int8".
const std::array<std::pair<std::string_view, std::string_view>, 7> kPresets = {{
    {"int8", R"({
      "weight": {"bits": 8, "signed": true, "symmetric": true, "narrow": true,
                 "granularity": "per-channel", "observer": "minmax"},
      "activation": {"bits": 8, "signed": false, "symmetric": false, "narrow": false,
                     "granularity": "per-tensor", "mode": "static",
                     "observer": "minmax"
      }
    })"},
    {"int8-tensor", R"({"base": "int8", "weight": {"granularity": "per-tensor"}})"},
    {"int8-dynamic", R"({"base": "int8", "activation": {"mode": "dynamic", "granularity": "per-tensor"}})"},
    {"w4a8", R"({"base": "int8", "weight": {"bits": 4, "observer": "mse"}})"},
    // Blocks of 32 consecutive weights along the reduction inside each output channel: the
    // "group size 32" of 4-bit LLM quantizers (per-group here means groups of channels).
    {"w4a8-g32", R"({"base": "w4a8", "weight": {"granularity": "per-block", "block": 32}})"},
    {"w4a4", R"({"base": "w4a8", "activation": {"bits": 4, "signed": false, "symmetric": false,
                                               "granularity": "per-tensor", "observer": "mse"}})"},
    // Symmetric narrow 2-bit: the levels −1, 0, 1 (ternary weights on a uniform grid).
    {"w2a8", R"({"base": "int8", "weight": {"bits": 2, "observer": "mse"}})"},
}};

}  // namespace

std::vector<std::string_view> preset_names() {
  std::vector<std::string_view> names;
  for (const auto& [name, text] : kPresets) names.push_back(name);
  return names;
}

std::string_view preset_text(std::string_view name) {
  for (const auto& [n, text] : kPresets)
    if (n == name) return text;
  return {};
}

}  // namespace lowbit::quant
