// axes.cc: axis normalization shared by the tensor ops.
#include "ops/axes.h"

#include <algorithm>

namespace lowbit::ops {

Result<int64_t> normalize_axis(int64_t axis, int64_t rank, std::string_view what) {
  if (rank <= 0 || axis < -rank || axis >= rank)
    return Status::errorf("{} {} is out of range for a tensor of rank {}", what, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, std::string_view what) {
  std::vector<int64_t> out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    if (rank <= 0 || a < -rank || a >= rank)
      return Status::errorf("{} value {} is out of range for a tensor of rank {}", what, a, rank);
    const int64_t n = a < 0 ? a + rank : a;
    if (std::find(out.begin(), out.end(), n) != out.end())
      return Status::errorf("{} lists axis {} more than once", what, n);
    out.push_back(n);
  }
  return out;
}

Result<int64_t> normalize_split_point(int64_t axis, int64_t rank, std::string_view what) {
  if (axis < -rank || axis > rank)
    return Status::errorf("{} {} is out of range [{}, {}] for a tensor of rank {}", what, axis, -rank, rank, rank);
  return axis < 0 ? axis + rank : axis;
}

}  // namespace lowbit::ops
