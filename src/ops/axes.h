// axes.h: normalization and validation of axis attributes / inputs (negative axes count from the end).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lowbit::ops {

// Maps `axis` in [-rank, rank) to [0, rank); error naming `what` if out of range.
Result<int64_t> normalize_axis(int64_t axis, int64_t rank, std::string_view what = "axis");

// Normalizes each axis as above; an axis listed twice is an error. Keeps the given order.
Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank,
                                            std::string_view what = "axes");

// For Flatten-style axes where `rank` itself is allowed: maps [-rank, rank] to [0, rank].
Result<int64_t> normalize_split_point(int64_t axis, int64_t rank, std::string_view what = "axis");

}  // namespace lowbit::ops
