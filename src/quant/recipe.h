// recipe.h: quantization recipes — JSON that says what to quantize and how (bits, granularity,
// observer, rounding for weights and activations; FP32 nodes; per-layer overrides), the
// built-in presets, and the per-node settings a recipe resolves to. Format: docs/recipes.md.
//
// A recipe resolves in three steps: its "base" chain is deep-merged (the file's own keys win),
// every missing key of "weight" / "activation" is filled with its default, and the result is
// checked. The resolved JSON (`Recipe::json`) is canonical: parse_recipe(r.json) gives r back,
// so it is what gets saved next to a quantized model.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "quant/observer.h"
#include "quant/qscheme.h"

namespace lowbit::quant {

enum class ActivationMode : uint8_t { kStatic, kDynamic };

// "static", "dynamic".
std::string_view activation_mode_name(ActivationMode mode);

// How one kind of tensor (weights or activations) is quantized.
struct TensorQuant {
  QScheme scheme;
  ObserverConfig observer;
  // Weights: the per-channel axis is the op's output-channel axis (Conv 0, Gemm per transB,
  // MatMul last); scheme.axis then holds 0 for weights and 1 (NCHW channels) for activations,
  // and the consumer substitutes the op's axis. False when the recipe sets "axis".
  bool auto_axis = true;
  bool operator==(const TensorQuant&) const = default;
};

// The settings for one node.
struct LayerQuant {
  bool fp32 = false;  // kept in FP32 (no quantization of its weights, inputs or outputs)
  TensorQuant weight;
  TensorQuant activation;
  ActivationMode mode = ActivationMode::kStatic;  // dynamic: activation ranges computed per input at run time
  bool operator==(const LayerQuant&) const = default;
};

// A node-name pattern: an exact name, or an ECMAScript regex that must match the whole name.
struct NamePattern {
  std::string text;  // the name, or the regex source (without "re:")
  bool is_regex = false;
  std::regex regex;  // compiled `text` when is_regex

  // Whether `name` matches; an error only if the regex engine gives up (complexity limit).
  Result<bool> matches(std::string_view name) const;
  bool operator==(const NamePattern& o) const { return text == o.text && is_regex == o.is_regex; }
};

// One entry of "layers": the keys it sets are applied on top of the defaults for matching nodes.
struct LayerOverride {
  NamePattern pattern;
  nlohmann::json weight = nlohmann::json::object();      // only the keys the override sets
  nlohmann::json activation = nlohmann::json::object();  // idem ("mode" included)
  std::optional<bool> fp32;
  bool operator==(const LayerOverride&) const = default;
};

struct Recipe {
  std::string name;     // preset name or file path
  nlohmann::json json;  // the fully resolved recipe (base merged in) — what gets saved with a model
  LayerQuant defaults;
  std::vector<NamePattern> fp32;         // the "fp32" list
  std::vector<LayerOverride> overrides;  // "layers", in file order; later ones win

  // The settings for the node named `node_name`: the defaults; FP32 if the "fp32" list names
  // it; then every matching override in order. An error if the overrides that match combine
  // into something invalid (e.g. one sets dynamic mode, a later one per-channel activations).
  Result<LayerQuant> for_node(std::string_view node_name) const;

  bool operator==(const Recipe&) const = default;
};

// Parses a recipe given as JSON. `source` names it in errors ("recipe <source>: ...") and is the
// folder a file "base" is relative to (a source without a folder means the working directory).
Result<Recipe> parse_recipe(const nlohmann::json& j, std::string_view source);
// A preset name (see preset_names()), else the path of a JSON file (comments allowed).
Result<Recipe> load_recipe(std::string_view name_or_path);

// The built-in presets, in documentation order: int8, int8-tensor, int8-dynamic, w4a8,
// w4a8-g32, w4a4, w2a8.
std::vector<std::string_view> preset_names();
// The JSON text of a preset as written (with its "base"), or empty if there is no such preset.
std::string_view preset_text(std::string_view name);

}  // namespace lowbit::quant
