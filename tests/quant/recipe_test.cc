// recipe_test.cc: recipes — presets, base chains and merging, per-node overrides, the fp32 list,
// every error class, and the canonical round trip parse_recipe(r.json) == r.
#include "quant/recipe.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace lowbit::quant {
namespace {

using nlohmann::json;
using lowbit::testing::TempDir;


Recipe must_load(const std::string& name) {
  Result<Recipe> r = load_recipe(name);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : Recipe{};
}

Recipe must_parse(const std::string& text, const std::string& source = "test.json") {
  Result<Recipe> r = parse_recipe(json::parse(text), source);
  EXPECT_TRUE(r.is_ok()) << text << "\n" << r.status().message();
  return r.is_ok() ? *r : Recipe{};
}

// The error message of parsing `text`, or "" (with a test failure) if it parsed.
std::string parse_error(const std::string& text, const std::string& source = "foo.json") {
  Result<Recipe> r = parse_recipe(json::parse(text), source);
  EXPECT_FALSE(r.is_ok()) << "expected an error for " << text;
  return r.is_ok() ? "" : r.status().message();
}

#define EXPECT_HAS(haystack, needle)                                          \
  do {                                                                        \
    const std::string h_ = (haystack);                                        \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << needle << "' not in: " << h_; \
  } while (0)

// ---- Presets ------------------------------------------------------------------------------

TEST(RecipePresets, NamesInDocumentedOrder) {
  const std::vector<std::string_view> expected = {"int8", "int8-tensor", "int8-dynamic", "w4a8",
                                                  "w4a8-g32", "w4a4", "w2a8"};
  EXPECT_EQ(preset_names(), expected);
  for (std::string_view n : preset_names()) EXPECT_FALSE(preset_text(n).empty()) << n;
  EXPECT_TRUE(preset_text("int9").empty());
}

TEST(RecipePresets, Int8) {
  const Recipe r = must_load("int8");
  EXPECT_EQ(r.name, "int8");
  const LayerQuant& d = r.defaults;
  EXPECT_FALSE(d.fp32);
  EXPECT_EQ(d.weight.scheme.bits, 8);
  EXPECT_TRUE(d.weight.scheme.is_signed);
  EXPECT_TRUE(d.weight.scheme.symmetric);
  EXPECT_TRUE(d.weight.scheme.narrow);
  EXPECT_EQ(d.weight.scheme.granularity, Granularity::kPerChannel);
  EXPECT_TRUE(d.weight.auto_axis);
  EXPECT_EQ(d.weight.observer.kind, ObserverKind::kMinMax);
  EXPECT_EQ(d.weight.scheme.rounding, Rounding::kHalfEven);
  // Narrow s8: [−127, 127]; u8: [0, 255].
  EXPECT_EQ(d.weight.scheme.qmin(), -127);
  EXPECT_EQ(d.weight.scheme.qmax(), 127);
  EXPECT_EQ(d.activation.scheme.bits, 8);
  EXPECT_FALSE(d.activation.scheme.is_signed);
  EXPECT_FALSE(d.activation.scheme.symmetric);
  EXPECT_FALSE(d.activation.scheme.narrow);
  EXPECT_EQ(d.activation.scheme.granularity, Granularity::kPerTensor);
  EXPECT_EQ(d.activation.scheme.qmin(), 0);
  EXPECT_EQ(d.activation.scheme.qmax(), 255);
  EXPECT_EQ(d.mode, ActivationMode::kStatic);
  EXPECT_TRUE(r.fp32.empty());
  EXPECT_TRUE(r.overrides.empty());
  // An empty recipe is the DESIGN.md default, which int8 spells out.
  EXPECT_EQ(must_parse("{}").defaults, d);
}

TEST(RecipePresets, Int8Tensor) {
  const Recipe r = must_load("int8-tensor");
  const Recipe base = must_load("int8");
  EXPECT_EQ(r.defaults.weight.scheme.granularity, Granularity::kPerTensor);
  EXPECT_EQ(r.defaults.weight.scheme.bits, 8);
  EXPECT_TRUE(r.defaults.weight.scheme.narrow);
  EXPECT_EQ(r.defaults.activation, base.defaults.activation);
  EXPECT_EQ(r.defaults.mode, ActivationMode::kStatic);
}

TEST(RecipePresets, Int8Dynamic) {
  const Recipe r = must_load("int8-dynamic");
  const Recipe base = must_load("int8");
  EXPECT_EQ(r.defaults.mode, ActivationMode::kDynamic);
  EXPECT_EQ(r.defaults.activation.scheme.granularity, Granularity::kPerTensor);
  EXPECT_EQ(r.defaults.activation.scheme.bits, 8);
  EXPECT_FALSE(r.defaults.activation.scheme.is_signed);
  EXPECT_EQ(r.defaults.weight, base.defaults.weight);
  EXPECT_EQ(r.json["activation"]["mode"], "dynamic");
}

TEST(RecipePresets, W4A8) {
  const Recipe r = must_load("w4a8");
  const Recipe base = must_load("int8");
  const QScheme& w = r.defaults.weight.scheme;
  EXPECT_EQ(w.bits, 4);
  EXPECT_TRUE(w.is_signed && w.symmetric && w.narrow);
  EXPECT_EQ(w.granularity, Granularity::kPerChannel);
  EXPECT_EQ(w.qmin(), -7);  // narrow s4: [−(2^3 − 1), 2^3 − 1]
  EXPECT_EQ(w.qmax(), 7);
  EXPECT_EQ(r.defaults.weight.observer.kind, ObserverKind::kMse);
  EXPECT_EQ(r.defaults.activation, base.defaults.activation);
  EXPECT_EQ(r.defaults.mode, ActivationMode::kStatic);
}

TEST(RecipePresets, W4A8G32) {
  const Recipe r = must_load("w4a8-g32");
  const QScheme& w = r.defaults.weight.scheme;
  EXPECT_EQ(w.bits, 4);
  EXPECT_EQ(w.granularity, Granularity::kPerBlock);
  EXPECT_EQ(w.block, 32);
  EXPECT_EQ(w.group, 0);
  EXPECT_TRUE(r.defaults.weight.auto_axis);
  EXPECT_EQ(r.defaults.weight.observer.kind, ObserverKind::kMse);
  EXPECT_EQ(r.defaults.activation, must_load("int8").defaults.activation);
}

TEST(RecipePresets, W4A4) {
  const Recipe r = must_load("w4a4");
  EXPECT_EQ(r.defaults.weight, must_load("w4a8").defaults.weight);
  const QScheme& a = r.defaults.activation.scheme;
  EXPECT_EQ(a.bits, 4);
  EXPECT_FALSE(a.is_signed);
  EXPECT_FALSE(a.symmetric);
  EXPECT_EQ(a.granularity, Granularity::kPerTensor);
  EXPECT_EQ(a.qmin(), 0);
  EXPECT_EQ(a.qmax(), 15);
  EXPECT_EQ(r.defaults.activation.observer.kind, ObserverKind::kMse);
  EXPECT_EQ(r.defaults.mode, ActivationMode::kStatic);
}

TEST(RecipePresets, W2A8) {
  const Recipe r = must_load("w2a8");
  const QScheme& w = r.defaults.weight.scheme;
  EXPECT_EQ(w.bits, 2);
  EXPECT_TRUE(w.is_signed && w.symmetric && w.narrow);
  EXPECT_EQ(w.granularity, Granularity::kPerChannel);
  EXPECT_EQ(w.qmin(), -1);  // levels −1, 0, 1
  EXPECT_EQ(w.qmax(), 1);
  EXPECT_EQ(r.defaults.weight.observer.kind, ObserverKind::kMse);
  EXPECT_EQ(r.defaults.activation, must_load("int8").defaults.activation);
}

TEST(RecipePresets, RoundTripEveryPreset) {
  for (std::string_view n : preset_names()) {
    const Recipe r = must_load(std::string(n));
    EXPECT_FALSE(r.json.contains("base")) << n;
    EXPECT_EQ(r.json["activation"].count("mode"), 1u) << n;
    for (const char* sec : {"weight", "activation"})
      for (const char* key : {"bits", "signed", "symmetric", "narrow", "granularity", "axis", "group", "block",
                              "observer", "percentile", "momentum", "bins", "rounding", "seed"})
        EXPECT_TRUE(r.json[sec].contains(key)) << n << " " << sec << "." << key;
    Result<Recipe> again = parse_recipe(r.json, r.name);
    ASSERT_TRUE(again.is_ok()) << n << ": " << again.status().message();
    EXPECT_EQ(*again, r) << n;
    EXPECT_EQ(again->json, r.json) << n;
    // Through text too, as it is saved next to a model.
    Result<Recipe> from_text = parse_recipe(json::parse(r.json.dump()), r.name);
    ASSERT_TRUE(from_text.is_ok());
    EXPECT_EQ(*from_text, r) << n;
  }
}

TEST(RecipePresets, UnknownNameListsPresets) {
  Result<Recipe> r = load_recipe("int9");
  ASSERT_FALSE(r.is_ok());
  EXPECT_HAS(r.status().message(), "recipe int9");
  EXPECT_HAS(r.status().message(), "not a preset: int8, int8-tensor");
}

// ---- Base and merging ---------------------------------------------------------------------

TEST(RecipeBase, OverrideOnlyBits) {
  TempDir tmp;
  const std::string path = tmp.write("w4.json", R"({"base": "int8", "weight": {"bits": 4}})");
  const Recipe r = must_load(path);
  LayerQuant expected = must_load("int8").defaults;
  expected.weight.scheme.bits = 4;
  EXPECT_EQ(r.defaults, expected);
  EXPECT_EQ(r.name, path);
  EXPECT_EQ(r.json["weight"]["bits"], 4);
  EXPECT_EQ(r.json["weight"]["granularity"], "per-channel");
}

TEST(RecipeBase, ChainThroughFilesRelativeToEachFile) {
  TempDir tmp;
  // top.json → sub/mid.json → sub/leaf.json (relative to sub/) → preset w4a8.
  tmp.write("sub/leaf.json", R"({"base": "w4a8", "activation": {"observer": "percentile", "percentile": 99.9}})");
  tmp.write("sub/mid.json", R"({"base": "leaf.json", "weight": {"granularity": "per-group", "group": 8}})");
  const std::string top = tmp.write("top.json", R"({"base": "sub/mid.json", "weight": {"rounding": "floor"}})");
  const Recipe r = must_load(top);
  LayerQuant expected = must_load("w4a8").defaults;
  expected.activation.observer.kind = ObserverKind::kPercentile;
  expected.activation.observer.percentile = 99.9;
  expected.weight.scheme.granularity = Granularity::kPerGroup;
  expected.weight.scheme.group = 8;
  expected.weight.scheme.rounding = Rounding::kFloor;
  EXPECT_EQ(r.defaults, expected);
  Result<Recipe> again = parse_recipe(r.json, r.name);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*again, r);
}

TEST(RecipeBase, ArraysReplaceObjectsMerge) {
  TempDir tmp;
  tmp.write("base.json", R"({"fp32": ["a", "b"], "layers": [{"match": "x", "fp32": true}],
                             "activation": {"bits": 6, "observer": "entropy"}})");
  const std::string top = tmp.write("top.json", R"({"base": "base.json", "fp32": ["c"], "activation": {"bits": 7}})");
  const Recipe r = must_load(top);
  EXPECT_EQ(r.json["fp32"], json::array({"c"}));
  ASSERT_EQ(r.overrides.size(), 1u);  // the base's layers stay: top has none
  EXPECT_EQ(r.defaults.activation.scheme.bits, 7);
  EXPECT_EQ(r.defaults.activation.observer.kind, ObserverKind::kEntropy);
  EXPECT_FALSE(r.for_node("a")->fp32);
  EXPECT_TRUE(r.for_node("c")->fp32);
  EXPECT_TRUE(r.for_node("x")->fp32);
}

TEST(RecipeBase, CycleIsAnError) {
  TempDir tmp;
  const std::string a = tmp.write("a.json", R"({"base": "b.json"})");
  tmp.write("b.json", R"({"base": "./a.json"})");
  Result<Recipe> r = load_recipe(a);
  ASSERT_FALSE(r.is_ok());
  EXPECT_HAS(r.status().message(), "base cycle");
  EXPECT_HAS(r.status().message(), "a.json -> ");
  EXPECT_HAS(r.status().message(), "b.json");

  const std::string self = tmp.write("self.json", R"({"base": "self.json"})");
  Result<Recipe> s = load_recipe(self);
  ASSERT_FALSE(s.is_ok());
  EXPECT_HAS(s.status().message(), "base cycle");
}

TEST(RecipeBase, MissingFilesAreNamed) {
  TempDir tmp;
  const std::string missing = tmp.write("x.json", "{}") + ".nope";
  Result<Recipe> r = load_recipe(missing);
  ASSERT_FALSE(r.is_ok());
  EXPECT_HAS(r.status().message(), "recipe " + missing);
  EXPECT_HAS(r.status().message(), "cannot open");

  const std::string top = tmp.write("top.json", R"({"base": "gone.json"})");
  Result<Recipe> b = load_recipe(top);
  ASSERT_FALSE(b.is_ok());
  EXPECT_HAS(b.status().message(), "recipe " + top);
  EXPECT_HAS(b.status().message(), "gone.json");
  EXPECT_HAS(b.status().message(), "cannot open");
}

TEST(RecipeBase, ErrorInBaseNamesTheBaseFile) {
  TempDir tmp;
  const std::string bad = tmp.write("bad.json", R"({"weight": {"bits": 40}})");
  const std::string top = tmp.write("top.json", R"({"base": "bad.json"})");
  Result<Recipe> r = load_recipe(top);
  ASSERT_FALSE(r.is_ok());
  EXPECT_HAS(r.status().message(), "recipe " + bad + ": weight.bits");
}

TEST(RecipeBase, JsonSyntaxErrorNamesTheFile) {
  TempDir tmp;
  const std::string path = tmp.write("broken.json", "{\"weight\": {\"bits\": 4,}}");
  Result<Recipe> r = load_recipe(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_HAS(r.status().message(), "recipe " + path + ": invalid JSON");
  EXPECT_HAS(r.status().message(), "line 1");

  const std::string top = tmp.write("top.json", R"({"base": "broken.json"})");
  Result<Recipe> b = load_recipe(top);
  ASSERT_FALSE(b.is_ok());
  EXPECT_HAS(b.status().message(), "broken.json");
  EXPECT_HAS(b.status().message(), "invalid JSON");
}

TEST(RecipeBase, CommentsAreAllowedInFiles) {
  TempDir tmp;
  const std::string path = tmp.write("c.json", "// 4-bit weights\n{\"base\": \"int8\", /* why */ \"weight\": {\"bits\": 4}}");
  EXPECT_EQ(must_load(path).defaults.weight.scheme.bits, 4);
}

// ---- Per-node settings --------------------------------------------------------------------

TEST(RecipeNodes, OverridesByNameAndRegexLaterWins) {
  const Recipe r = must_parse(R"({
    "base": "int8",
    "layers": [
      {"match": "conv1", "weight": {"bits": 4}},
      {"regex": "layer2\\..*", "weight": {"bits": 6, "observer": "mse"}, "activation": {"bits": 7}},
      {"match": "layer2.conv", "weight": {"bits": 5}}
    ]})");
  const LayerQuant base = must_load("int8").defaults;
  ASSERT_EQ(r.overrides.size(), 3u);

  EXPECT_EQ(*r.for_node("fc"), base);  // matches nothing
  EXPECT_EQ(*r.for_node("conv10"), base);  // exact names don't match prefixes

  LayerQuant conv1 = base;
  conv1.weight.scheme.bits = 4;
  EXPECT_EQ(*r.for_node("conv1"), conv1);

  LayerQuant l2 = base;
  l2.weight.scheme.bits = 6;
  l2.weight.observer.kind = ObserverKind::kMse;
  l2.activation.scheme.bits = 7;
  EXPECT_EQ(*r.for_node("layer2.relu"), l2);
  EXPECT_EQ(*r.for_node("xlayer2.relu"), base);  // the regex must match the whole name

  // Both layers[1] and layers[2] match: layers[2] sets bits last, layers[1]'s other keys stay.
  LayerQuant l2conv = l2;
  l2conv.weight.scheme.bits = 5;
  EXPECT_EQ(*r.for_node("layer2.conv"), l2conv);
}

TEST(RecipeNodes, Fp32ListByNameAndRegex) {
  const Recipe r = must_parse(R"({"fp32": ["stem", "re:head\\.[0-9]+"],
                                   "layers": [{"match": "head.7", "fp32": false},
                                              {"regex": "late.*", "fp32": true}]})");
  EXPECT_TRUE(r.for_node("stem")->fp32);
  EXPECT_FALSE(r.for_node("stem2")->fp32);
  EXPECT_TRUE(r.for_node("head.12")->fp32);
  EXPECT_FALSE(r.for_node("head.x")->fp32);
  EXPECT_FALSE(r.for_node("head.7")->fp32);  // an override after the list can undo it
  EXPECT_TRUE(r.for_node("late_fc")->fp32);
  EXPECT_FALSE(r.for_node("body")->fp32);
  ASSERT_EQ(r.fp32.size(), 2u);
  EXPECT_FALSE(r.fp32[0].is_regex);
  EXPECT_TRUE(r.fp32[1].is_regex);
  EXPECT_EQ(r.fp32[1].text, "head\\.[0-9]+");
}

TEST(RecipeNodes, AxisAndPerRow) {
  const Recipe r = must_parse(R"({"weight": {"axis": 1},
                                   "activation": {"mode": "dynamic", "granularity": "per-row"}})");
  EXPECT_FALSE(r.defaults.weight.auto_axis);
  EXPECT_EQ(r.defaults.weight.scheme.axis, 1);
  EXPECT_EQ(r.defaults.mode, ActivationMode::kDynamic);
  EXPECT_EQ(r.defaults.activation.scheme.granularity, Granularity::kPerChannel);
  EXPECT_EQ(r.defaults.activation.scheme.axis, 0);
  EXPECT_FALSE(r.defaults.activation.auto_axis);
  EXPECT_EQ(r.json["activation"]["granularity"], "per-row");
  const Recipe a = must_parse(R"({"weight": {"axis": -1}, "activation": {"granularity": "per-channel"}})");
  EXPECT_EQ(a.defaults.weight.scheme.axis, -1);
  EXPECT_TRUE(a.defaults.activation.auto_axis);
  EXPECT_EQ(a.defaults.activation.scheme.axis, 1);  // auto activations: the NCHW channel axis
}

TEST(RecipeNodes, AllKeysReachTheSettings) {
  const Recipe r = must_parse(R"({"weight": {"bits": 3, "signed": false, "symmetric": false, "narrow": false,
                                             "granularity": "per-group", "axis": 2, "group": 4,
                                             "observer": "moving-average", "percentile": 99.5, "momentum": 0.5,
                                             "bins": 512, "rounding": "stochastic", "seed": 18446744073709551615}})");
  const TensorQuant& w = r.defaults.weight;
  EXPECT_EQ(w.scheme.bits, 3);
  EXPECT_FALSE(w.scheme.is_signed || w.scheme.symmetric || w.scheme.narrow);
  EXPECT_EQ(w.scheme.granularity, Granularity::kPerGroup);
  EXPECT_EQ(w.scheme.axis, 2);
  EXPECT_EQ(w.scheme.group, 4);
  EXPECT_EQ(w.scheme.block, 0);
  EXPECT_EQ(w.observer.kind, ObserverKind::kMovingAverage);
  EXPECT_EQ(w.observer.percentile, 99.5);
  EXPECT_EQ(w.observer.momentum, 0.5);
  EXPECT_EQ(w.observer.bins, 512);
  EXPECT_EQ(w.scheme.rounding, Rounding::kStochastic);
  EXPECT_EQ(w.scheme.seed, 18446744073709551615ull);
}

TEST(RecipeNodes, CombinedOverridesCanConflict) {
  // Each override is fine alone; together they ask for dynamic per-channel activations.
  const Recipe r = must_parse(R"({"layers": [{"regex": "fc.*", "activation": {"mode": "dynamic"}},
                                             {"match": "fc2", "activation": {"granularity": "per-channel"}}]})");
  EXPECT_TRUE(r.for_node("fc1").is_ok());
  Result<LayerQuant> bad = r.for_node("fc2");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_HAS(bad.status().message(), "node 'fc2' (layers[0], layers[1])");
  EXPECT_HAS(bad.status().message(), "activation.granularity");
}

TEST(RecipeNodes, RoundTripWithLayers) {
  const Recipe r = must_parse(R"({"base": "w4a8-g32", "fp32": ["stem", "re:head.*"],
    "layers": [{"match": "conv1", "weight": {"bits": 8, "granularity": "per-channel"}, "fp32": false},
               {"regex": "fc.*", "activation": {"mode": "dynamic", "granularity": "per-row"}}]})");
  EXPECT_FALSE(r.json.contains("base"));
  Result<Recipe> again = parse_recipe(r.json, r.name);
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*again, r);
  EXPECT_EQ(again->json, r.json);
  for (const char* node : {"conv1", "fc3", "stem", "head1", "other"}) EXPECT_EQ(*again->for_node(node), *r.for_node(node)) << node;
}

// ---- Errors -------------------------------------------------------------------------------

TEST(RecipeErrors, UnknownKeys) {
  std::string e = parse_error(R"({"weight": {"bitz": 4}})");
  EXPECT_HAS(e, "recipe foo.json: unknown key 'weight.bitz' (allowed: bits, signed, symmetric, narrow, granularity");
  EXPECT_EQ(e.find("mode"), std::string::npos) << e;  // weights have no mode
  EXPECT_HAS(parse_error(R"({"activation": {"modes": "static"}})"), "unknown key 'activation.modes'");
  EXPECT_HAS(parse_error(R"({"activation": {"modes": "static"}})"), "seed, mode)");
  EXPECT_HAS(parse_error(R"({"wieght": {}})"), "unknown key 'wieght' (allowed: base, weight, activation, fp32, layers)");
  EXPECT_HAS(parse_error(R"({"layers": [{"match": "a", "wieght": {}}]})"), "unknown key 'layers[0].wieght'");
  EXPECT_HAS(parse_error(R"({"layers": [{"match": "a", "weight": {"bit": 2}}]})"), "unknown key 'layers[0].weight.bit'");
  EXPECT_HAS(parse_error(R"({"weight": {"mode": "dynamic"}})"), "unknown key 'weight.mode'");
}

TEST(RecipeErrors, WrongTypes) {
  EXPECT_HAS(parse_error(R"({"weight": {"bits": "8"}})"), "weight.bits: \"8\" is not an integer in [2, 16]");
  EXPECT_HAS(parse_error(R"({"weight": {"bits": 8.0}})"), "weight.bits: 8.0 is not an integer in [2, 16]");
  EXPECT_HAS(parse_error(R"({"weight": {"signed": 1}})"), "weight.signed: 1 is not true or false");
  EXPECT_HAS(parse_error(R"({"activation": {"granularity": 3}})"), "activation.granularity: 3 is not one of per-tensor");
  EXPECT_HAS(parse_error(R"({"weight": {"axis": "last"}})"), "weight.axis: \"last\" is not \"auto\" or an integer");
  EXPECT_HAS(parse_error(R"({"weight": {"group": "4"}})"), "weight.group: \"4\" is not an integer in [1, ");
  EXPECT_HAS(parse_error(R"({"weight": {"seed": -1}})"), "weight.seed: -1 is not an integer in [0, 2^64 - 1]");
  EXPECT_HAS(parse_error(R"({"weight": []})"), "weight: expected an object");
  EXPECT_HAS(parse_error(R"({"fp32": "stem"})"), "fp32: expected an array");
  EXPECT_HAS(parse_error(R"({"fp32": [3]})"), "fp32[0]: expected a node name");
  EXPECT_HAS(parse_error(R"({"layers": {}})"), "layers: expected an array");
  EXPECT_HAS(parse_error(R"({"layers": [{"match": 1}]})"), "layers[0].match: expected a string");
  EXPECT_HAS(parse_error(R"({"layers": [{"match": "a", "fp32": "yes"}]})"), "layers[0].fp32: \"yes\" is not true or false");
  EXPECT_HAS(parse_error(R"({"base": 8})"), "base: expected a preset name (int8, ");
  EXPECT_HAS(parse_error(R"([1, 2])"), "recipe foo.json: expected a JSON object at the top level");
}

TEST(RecipeErrors, OutOfRange) {
  EXPECT_HAS(parse_error(R"({"weight": {"bits": 1}})"), "weight.bits: 1 is not an integer in [2, 16]");
  EXPECT_HAS(parse_error(R"({"activation": {"bits": 17}})"), "activation.bits: 17 is not an integer in [2, 16]");
  EXPECT_HAS(parse_error(R"({"weight": {"bits": 18446744073709551615}})"), "weight.bits");
  EXPECT_HAS(parse_error(R"({"activation": {"percentile": 50}})"), "activation.percentile: 50 is not a number in (50, 100]");
  EXPECT_HAS(parse_error(R"({"activation": {"percentile": 100.5}})"), "(50, 100]");
  EXPECT_HAS(parse_error(R"({"activation": {"momentum": 1}})"), "activation.momentum: 1 is not a number in [0, 1)");
  EXPECT_HAS(parse_error(R"({"activation": {"bins": 8}})"), "activation.bins: 8 is not an integer in [16, 65536]");
  EXPECT_HAS(parse_error(R"({"weight": {"group": 0}})"), "weight.group: 0 is not an integer in [1, ");
  EXPECT_HAS(parse_error(R"({"weight": {"block": -32}})"), "weight.block: -32 is not an integer");
  EXPECT_HAS(parse_error(R"({"weight": {"axis": 99}})"), "weight.axis: 99 is not \"auto\" or an integer in [-32, 31]");
}

TEST(RecipeErrors, BadChoices) {
  EXPECT_HAS(parse_error(R"({"weight": {"granularity": "per-row"}})"),
             "recipe foo.json: weight.granularity: 'per-row' is not one of per-tensor, per-channel, per-group, per-block");
  EXPECT_HAS(parse_error(R"({"weight": {"observer": "max"}})"),
             "weight.observer: 'max' is not one of minmax, moving-average, percentile, entropy, mse, aciq-laplace, aciq-gauss");
  EXPECT_HAS(parse_error(R"({"weight": {"rounding": "up"}})"),
             "weight.rounding: 'up' is not one of half-even, half-away, floor, stochastic");
  EXPECT_HAS(parse_error(R"({"activation": {"mode": "lazy"}})"), "activation.mode: 'lazy' is not one of static, dynamic");
}

TEST(RecipeErrors, GranularityNeedsItsSize) {
  EXPECT_HAS(parse_error(R"({"weight": {"granularity": "per-group"}})"),
             "recipe foo.json: weight.granularity: per-group needs 'weight.group'");
  EXPECT_HAS(parse_error(R"({"weight": {"granularity": "per-block"}})"), "per-block needs 'weight.block'");
  EXPECT_HAS(parse_error(R"({"layers": [{"match": "a", "weight": {"granularity": "per-block"}}]})"),
             "layers[0] (on top of the defaults): weight.granularity: per-block needs 'weight.block'");
  // A null group (e.g. to drop a base's value) counts as unset.
  EXPECT_HAS(parse_error(R"({"base": "w4a8-g32", "weight": {"block": null}})"), "per-block needs 'weight.block'");
}

TEST(RecipeErrors, DynamicActivations) {
  EXPECT_HAS(parse_error(R"({"activation": {"mode": "dynamic", "granularity": "per-channel"}})"),
             "activation.granularity: 'per-channel' is not allowed with mode dynamic (allowed: per-tensor, per-row)");
  EXPECT_HAS(parse_error(R"({"base": "int8-dynamic", "activation": {"granularity": "per-block", "block": 8}})"),
             "not allowed with mode dynamic");
  EXPECT_HAS(parse_error(R"({"activation": {"granularity": "per-row"}})"), "activation.granularity: 'per-row' needs mode dynamic");
  // The observer is ignored when dynamic, so any observer is accepted.
  EXPECT_EQ(must_parse(R"({"base": "int8-dynamic", "activation": {"observer": "entropy"}})").defaults.mode,
            ActivationMode::kDynamic);
}

TEST(RecipeErrors, BadPatterns) {
  EXPECT_HAS(parse_error(R"({"fp32": ["re:conv(["]})"), "fp32[0]: regex 'conv([' does not compile");
  EXPECT_HAS(parse_error(R"({"layers": [{"regex": "a[", "weight": {"bits": 4}}]})"), "layers[0].regex: regex 'a[' does not compile");
  EXPECT_HAS(parse_error(R"({"fp32": ["re:"]})"), "fp32[0]: empty regex");
  EXPECT_HAS(parse_error(R"({"fp32": [""]})"), "fp32[0]: empty node name");
  EXPECT_HAS(parse_error(R"({"layers": [{"weight": {"bits": 4}}]})"), "layers[0]: needs exactly one of 'match'");
  EXPECT_HAS(parse_error(R"({"layers": [{"match": "a", "regex": "a"}]})"), "layers[0]: needs exactly one of 'match'");
}

TEST(RecipeErrors, BaseNotFoundIsRelativeToTheSource) {
  TempDir tmp;
  tmp.write("dir/w4.json", R"({"base": "int8", "weight": {"bits": 4}})");
  // parse_recipe resolves a file base against the source's folder.
  const std::string source = (std::filesystem::path(tmp.write("dir/x.json", "{}")).parent_path() / "in_memory.json").string();
  Result<Recipe> ok = parse_recipe(json::parse(R"({"base": "w4.json"})"), source);
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  EXPECT_EQ(ok->defaults.weight.scheme.bits, 4);
  EXPECT_HAS(parse_error(R"({"base": "w4.json"})", "elsewhere/in_memory.json"), "elsewhere/w4.json");
}

}  // namespace
}  // namespace lowbit::quant
