// dataset.cc: normalization parsing and arithmetic, range checks, and the prefetching batch loop.
#include "data/dataset.h"

#include <charconv>
#include <cmath>
#include <future>
#include <system_error>
#include <utility>

namespace lowbit::data {

Dataset::~Dataset() = default;

namespace {

std::string join_floats(const std::vector<float>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += fmt::format("{}{}", i ? ";" : "", v[i]);
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Status Normalize::validate(int64_t channels) const {
  if (!std::isfinite(input_scale) || input_scale == 0.0f)
    return Status::errorf("normalization input scale {} must be finite and non-zero", input_scale);
  for (const auto& [name, v] : {std::pair<const char*, const std::vector<float>*>{"mean", &mean}, {"std", &std_}}) {
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != channels)
      return Status::errorf("normalization {} has {} values but the data has {} channel{} (give 1 or {})", name,
                            v->size(), channels, channels == 1 ? "" : "s", channels);
    for (float x : *v) {
      if (!std::isfinite(x)) return Status::errorf("normalization {} value {} is not finite", name, x);
      if (v == &std_ && x == 0.0f) return Status::error("normalization std must not be 0");
    }
  }
  return Status::ok();
}

std::string Normalize::str() const {
  return fmt::format("scale={},mean={},std={}", input_scale, join_floats(mean), join_floats(std_));
}

Result<std::vector<float>> parse_float_list(std::string_view text, std::string_view what) {
  std::vector<float> out;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find_first_of(",;", start);
    const std::string_view tok = trim(text.substr(start, end == std::string_view::npos ? text.npos : end - start));
    double v = 0;
    const auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (tok.empty() || ec != std::errc() || ptr != tok.data() + tok.size())
      return Status::errorf("{}: '{}' is not a number", what, tok);
    // Through double to float, as Python does for torch.tensor(0.286, dtype=torch.float32).
    const float f = static_cast<float>(v);
    if (!std::isfinite(f)) return Status::errorf("{}: '{}' is not a finite float32", what, tok);
    out.push_back(f);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

Result<Normalize> normalize_from_metadata(const std::map<std::string, std::string>& metadata) {
  Normalize n;
  if (auto it = metadata.find("lowbit.input_scale"); it != metadata.end()) {
    LB_ASSIGN_OR_RETURN(std::vector<float> v, parse_float_list(it->second, "model metadata lowbit.input_scale"));
    if (v.size() != 1) return Status::errorf("model metadata lowbit.input_scale: expected one value, got {}", v.size());
    if (v[0] == 0.0f) return Status::error("model metadata lowbit.input_scale: must not be 0");
    n.input_scale = v[0];
  }
  if (auto it = metadata.find("lowbit.mean"); it != metadata.end()) {
    LB_ASSIGN_OR_RETURN(n.mean, parse_float_list(it->second, "model metadata lowbit.mean"));
  }
  if (auto it = metadata.find("lowbit.std"); it != metadata.end()) {
    LB_ASSIGN_OR_RETURN(n.std_, parse_float_list(it->second, "model metadata lowbit.std"));
    for (float s : n.std_)
      if (s == 0.0f) return Status::error("model metadata lowbit.std: must not be 0");
  }
  return n;
}

void normalize_u8(const uint8_t* in, float* out, int64_t n, int64_t channels, int64_t inner, const Normalize& norm) {
  if (norm.mean.size() == 1 && norm.std_.size() == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = norm.apply(static_cast<float>(in[i]), 0);
    return;
  }
  for (int64_t i = 0; i < n; ++i) out[i] = norm.apply(static_cast<float>(in[i]), (i / inner) % channels);
}

Result<int64_t> clip_range(int64_t size, int64_t begin, int64_t count) {
  if (begin < 0 || begin > size) return Status::errorf("batch start {} is outside the dataset of {} samples", begin, size);
  if (count < 0) return Status::errorf("batch count {} is negative", count);
  return std::min(count, size - begin);
}

Status for_each_batch(const Dataset& dataset, int64_t limit, int64_t batch,
                      const std::function<Status(const Batch&, int64_t done, int64_t total)>& fn) {
  if (batch <= 0) return Status::errorf("batch size must be positive, got {}", batch);
  const int64_t total = limit > 0 ? std::min(limit, dataset.size()) : dataset.size();
  using Read = std::pair<Status, Batch>;
  auto read_at = [&dataset, batch, total](int64_t begin) {
    Read r;
    r.first = dataset.read(begin, std::min(batch, total - begin), &r.second);
    return r;
  };
  auto start = [&](int64_t begin) {
    try {
      return std::async(std::launch::async, read_at, begin);
    } catch (const std::system_error&) {  // no thread available: read when asked
      return std::async(std::launch::deferred, read_at, begin);
    }
  };
  std::future<Read> next;
  if (total > 0) next = start(0);
  int64_t done = 0;
  while (done < total) {
    Read r = next.get();
    if (!r.first.is_ok()) return r.first;
    const int64_t n = std::min(batch, total - done);
    done += n;
    if (done < total) next = start(done);
    // Returning early leaves `next` to finish its read in ~future (it reads only shared const data).
    LB_TRY(fn(r.second, done, total));
  }
  return Status::ok();
}

}  // namespace lowbit::data
