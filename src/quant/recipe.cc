// recipe.cc: reading a recipe — JSON files, "base" chains (deep merge, cycle detection), the
// checks of every key, the canonical resolved JSON, and the per-node settings (fp32 list and
// layer overrides).
#include "quant/recipe.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "quant/recipe_section.h"

namespace lowbit::quant {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using recipe_detail::Section;
using recipe_detail::short_dump;

// A base chain longer than this is almost certainly a mistake (cycles are reported separately).
constexpr size_t kMaxBaseDepth = 16;
// Recipes are hand-written; anything bigger is not a recipe.
constexpr uintmax_t kMaxRecipeBytes = uintmax_t{16} << 20;

const std::vector<std::string_view> kTopKeys = {"base", "weight", "activation", "fp32", "layers"};
const std::vector<std::string_view> kLayerKeys = {"match", "regex", "weight", "activation", "fp32"};

std::string join(const std::vector<std::string_view>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

Status check_keys(const json& obj, const std::vector<std::string_view>& allowed, const std::string& prefix) {
  for (const auto& [name, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == name;
    if (!known) return Status::errorf("unknown key '{}{}' (allowed: {})", prefix, name, join(allowed));
  }
  return Status::ok();
}

Result<NamePattern> make_pattern(const std::string& text, bool is_regex, const std::string& path) {
  NamePattern p;
  p.text = text;
  p.is_regex = is_regex;
  if (text.empty()) return Status::errorf("{}: empty {}", path, is_regex ? "regex" : "node name");
  if (is_regex) {
    try {
      p.regex = std::regex(text, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::errorf("{}: regex '{}' does not compile: {}", path, text, e.what());
    }
  }
  return p;
}

// The "fp32" list: node names, or "re:<regex>".
Result<std::vector<NamePattern>> parse_fp32_list(const json& v) {
  if (!v.is_array()) return Status::errorf("fp32: expected an array of node names or \"re:<regex>\", got {}", short_dump(v));
  std::vector<NamePattern> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string path = fmt::format("fp32[{}]", i);
    if (!v[i].is_string()) return Status::errorf("{}: expected a node name or \"re:<regex>\", got {}", path, short_dump(v[i]));
    const std::string& s = v[i].get_ref<const std::string&>();
    const bool is_regex = s.rfind("re:", 0) == 0;
    LB_ASSIGN_OR_RETURN(NamePattern p, make_pattern(is_regex ? s.substr(3) : s, is_regex, path));
    out.push_back(std::move(p));
  }
  return out;
}

// One entry of "layers" (values checked; the sections stay partial).
Result<LayerOverride> parse_layer(const json& v, size_t i) {
  const std::string path = fmt::format("layers[{}]", i);
  if (!v.is_object()) return Status::errorf("{}: expected an object, got {}", path, short_dump(v));
  LB_TRY(check_keys(v, kLayerKeys, path + "."));
  const bool has_match = v.contains("match"), has_regex = v.contains("regex");
  if (has_match == has_regex)
    return Status::errorf("{}: needs exactly one of 'match' (a node name) or 'regex' (a regex over node names)", path);
  const std::string key = has_match ? "match" : "regex";
  if (!v[key].is_string()) return Status::errorf("{}.{}: expected a string, got {}", path, key, short_dump(v[key]));
  LayerOverride o;
  LB_ASSIGN_OR_RETURN(o.pattern, make_pattern(v[key].get<std::string>(), has_regex, path + "." + key));
  if (v.contains("weight")) {
    LB_TRY(recipe_detail::check_section(v["weight"], Section::kWeight, path + ".weight"));
    o.weight = v["weight"];
  }
  if (v.contains("activation")) {
    LB_TRY(recipe_detail::check_section(v["activation"], Section::kActivation, path + ".activation"));
    o.activation = v["activation"];
  }
  if (v.contains("fp32")) {
    if (!v["fp32"].is_boolean()) return Status::errorf("{}.fp32: {} is not true or false", path, short_dump(v["fp32"]));
    o.fp32 = v["fp32"].get<bool>();
  }
  return o;
}

// Checks one recipe document on its own (before its base is merged in), so that an error in a
// base file is reported against that file.
Status check_document(const json& j) {
  if (!j.is_object()) return Status::errorf("expected a JSON object at the top level, got {}", short_dump(j));
  LB_TRY(check_keys(j, kTopKeys, ""));
  if (j.contains("base") && (!j["base"].is_string() || j["base"].get_ref<const std::string&>().empty()))
    return Status::errorf("base: expected a preset name ({}) or a recipe file path, got {}", join(preset_names()),
                          short_dump(j["base"]));
  if (j.contains("weight")) LB_TRY(recipe_detail::check_section(j["weight"], Section::kWeight, "weight"));
  if (j.contains("activation")) LB_TRY(recipe_detail::check_section(j["activation"], Section::kActivation, "activation"));
  if (j.contains("fp32")) LB_TRY(parse_fp32_list(j["fp32"]).status());
  if (j.contains("layers")) {
    const json& layers = j["layers"];
    if (!layers.is_array()) return Status::errorf("layers: expected an array of objects, got {}", short_dump(layers));
    for (size_t i = 0; i < layers.size(); ++i) LB_TRY(parse_layer(layers[i], i).status());
  }
  return Status::ok();
}

// Objects merge key by key (recursively); anything else in `from` replaces what `into` has.
void deep_merge(json& into, const json& from) {
  for (const auto& [k, v] : from.items()) {
    if (v.is_object() && into.contains(k) && into[k].is_object()) {
      deep_merge(into[k], v);
    } else {
      into[k] = v;
    }
  }
}

Result<json> parse_json_text(std::string_view text) {
  try {
    return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep "parse error at line L, column C: ...".
    if (const size_t p = what.find("] "); what.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      what = what.substr(p + 2);
    return Status::errorf("invalid JSON: {}", what);
  }
}

Result<json> read_json_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::errorf("cannot open file: {}", ec ? ec.message() : "No such file or directory");
  if (!fs::is_regular_file(st)) return Status::error("not a regular file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return Status::errorf("cannot read file: {}", ec.message());
  if (size > kMaxRecipeBytes)
    return Status::errorf("file is {} bytes, more than the {} a recipe may have", size, kMaxRecipeBytes);
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::error("cannot open file");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) return Status::error("cannot read file");
  return parse_json_text(text);
}

// Identifies a recipe for cycle detection: presets by name, files by their canonical path.
std::string file_key(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return "file:" + (ec ? path : p.string());
}

struct ChainLink {
  std::string name;  // as shown in messages
  std::string key;   // preset:<name> or file:<canonical path>
};

// `j` with its base chain merged in and "base" removed; each document checked on its own.
Result<json> resolve(const json& j, const std::string& source, std::vector<ChainLink>& chain) {
  const std::string ctx = "recipe " + source;
  LB_TRY(check_document(j).with_context(ctx));
  if (!j.contains("base")) return j;

  const std::string base = j["base"].get<std::string>();
  ChainLink link;
  json base_json;
  const bool is_preset = !preset_text(base).empty();
  if (is_preset) {
    link = {base, "preset:" + base};
  } else {
    // A file base is relative to the folder of the file that names it.
    const fs::path path = (fs::path(source).parent_path() / base).lexically_normal();
    link = {path.string(), file_key(path.string())};
  }
  for (const ChainLink& l : chain) {
    if (l.key != link.key) continue;
    std::string cycle;
    for (const ChainLink& c : chain) cycle += c.name + " -> ";
    return Status::errorf("{}: base cycle: {}{}", ctx, cycle, link.name);
  }
  if (chain.size() >= kMaxBaseDepth)
    return Status::errorf("{}: base chain deeper than {} recipes", ctx, kMaxBaseDepth);

  Result<json> loaded = is_preset ? parse_json_text(preset_text(base)) : read_json_file(link.name);
  if (!loaded) return loaded.status().with_context(fmt::format("{}: base '{}' ({})", ctx, base, link.name));
  chain.push_back(link);
  Result<json> merged = resolve(*loaded, link.name, chain);
  chain.pop_back();
  if (!merged) return merged.status();

  json own = j;
  own.erase("base");
  json out = std::move(merged).value();
  deep_merge(out, own);
  return out;
}

// Builds the settings of `sections` (complete "weight" / "activation" JSON) into `lq`.
Status build_layer(const json& weight, const json& activation, LayerQuant& lq) {
  ActivationMode unused = ActivationMode::kStatic;
  LB_TRY(recipe_detail::build_section(weight, Section::kWeight, "weight", lq.weight, unused));
  return recipe_detail::build_section(activation, Section::kActivation, "activation", lq.activation, lq.mode);
}

Result<Recipe> parse_impl(const json& j, const std::string& source, const std::string& key) {
  std::vector<ChainLink> chain = {{source, key}};
  LB_ASSIGN_OR_RETURN(json merged, resolve(j, source, chain));
  const std::string ctx = "recipe " + source;

  // The canonical form: complete top-level sections, the fp32 list, and layers that keep only
  // the keys they set (a key they leave out means "as the defaults", which must stay so).
  json canon = json::object();
  canon["weight"] = recipe_detail::complete_section(merged.value("weight", json::object()), Section::kWeight);
  canon["activation"] = recipe_detail::complete_section(merged.value("activation", json::object()), Section::kActivation);
  canon["fp32"] = merged.value("fp32", json::array());
  canon["layers"] = json::array();
  for (const json& l : merged.value("layers", json::array())) {
    json c = json::object();
    c[l.contains("match") ? "match" : "regex"] = l.contains("match") ? l["match"] : l["regex"];
    c["weight"] = l.value("weight", json::object());
    c["activation"] = l.value("activation", json::object());
    if (l.contains("fp32")) c["fp32"] = l["fp32"];
    canon["layers"].push_back(std::move(c));
  }

  Recipe r;
  r.name = source;
  LB_TRY(build_layer(canon["weight"], canon["activation"], r.defaults).with_context(ctx));
  LB_ASSIGN_OR_RETURN(r.fp32, parse_fp32_list(canon["fp32"]));
  for (size_t i = 0; i < canon["layers"].size(); ++i) {
    LB_ASSIGN_OR_RETURN(LayerOverride o, parse_layer(canon["layers"][i], i));
    // Each override must make sense on its own on top of the defaults, so mistakes show up now
    // rather than when some node happens to match.
    json w = canon["weight"], a = canon["activation"];
    w.update(o.weight);
    a.update(o.activation);
    LayerQuant probe;
    LB_TRY(build_layer(w, a, probe).with_context(fmt::format("{}: layers[{}] (on top of the defaults)", ctx, i)));
    r.overrides.push_back(std::move(o));
  }
  r.json = std::move(canon);
  return r;
}

}  // namespace

std::string_view activation_mode_name(ActivationMode mode) {
  return mode == ActivationMode::kDynamic ? "dynamic" : "static";
}

Result<bool> NamePattern::matches(std::string_view name) const {
  if (!is_regex) return text == name;
  try {
    return std::regex_match(name.begin(), name.end(), regex);
  } catch (const std::regex_error& e) {
    return Status::errorf("regex '{}' failed on '{}': {}", text, name, e.what());
  }
}

Result<LayerQuant> Recipe::for_node(std::string_view node_name) const {
  const std::string ctx = fmt::format("recipe {}: node '{}'", name, node_name);
  LayerQuant lq = defaults;
  for (const NamePattern& p : fp32) {
    Result<bool> m = p.matches(node_name);
    if (!m) return m.status().with_context(ctx);
    if (*m) {
      lq.fp32 = true;
      break;
    }
  }
  nlohmann::json w, a;  // `json` is the member here
  std::vector<std::string> used;
  for (size_t i = 0; i < overrides.size(); ++i) {
    const LayerOverride& o = overrides[i];
    Result<bool> m = o.pattern.matches(node_name);
    if (!m) return m.status().with_context(ctx);
    if (!*m) continue;
    if (used.empty()) {
      w = this->json.at("weight");
      a = this->json.at("activation");
    }
    used.push_back(fmt::format("layers[{}]", i));
    w.update(o.weight);
    a.update(o.activation);
    if (o.fp32) lq.fp32 = *o.fp32;
  }
  if (!used.empty())
    LB_TRY(build_layer(w, a, lq).with_context(fmt::format("{} ({})", ctx, fmt::join(used, ", "))));
  return lq;
}

Result<Recipe> parse_recipe(const nlohmann::json& j, std::string_view source) {
  const std::string src(source);
  return parse_impl(j, src, file_key(src));
}

Result<Recipe> load_recipe(std::string_view name_or_path) {
  const std::string name(name_or_path);
  if (const std::string_view text = preset_text(name); !text.empty()) {
    Result<json> j = parse_json_text(text);
    if (!j) return j.status().with_context("recipe " + name);
    return parse_impl(*j, name, "preset:" + name);
  }
  Result<json> j = read_json_file(name);
  if (!j) {
    std::string msg = j.status().message();
    // A bare word that is neither a file nor a preset was most likely meant as a preset.
    if (name.find('/') == std::string::npos && !name.ends_with(".json"))
      msg += fmt::format(" (and '{}' is not a preset: {})", name, join(preset_names()));
    return Status::errorf("recipe {}: {}", name, msg);
  }
  return parse_impl(*j, name, file_key(name));
}

}  // namespace lowbit::quant
