// broadcast.cc: broadcast shape rules.
#include "ops/broadcast.h"

#include <algorithm>

namespace lowbit::ops {

Result<Shape> broadcast_shape(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return Status::errorf("shapes {} and {} do not broadcast", shape_str(a), shape_str(b));
    }
  }
  return out;
}

Result<Shape> broadcast_shape_partial(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da < 0 || db < 0) {
      out[i] = da < 0 ? db : da;  // the known one (> 1, so the unknown one must be 1 or equal), else unknown
    } else if (da == db) {
      out[i] = da;
    } else {
      return Status::errorf("shapes {} and {} do not broadcast", shape_str(a), shape_str(b));
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  LB_CHECK(in.size() <= out.size(), "broadcast_strides: input rank exceeds output rank");
  std::vector<int64_t> strides(out.size(), 0);
  int64_t s = 1;
  for (size_t i = in.size(); i-- > 0;) {
    const size_t o = i + (out.size() - in.size());
    LB_CHECK(in[i] == out[o] || in[i] == 1, "broadcast_strides: shape does not broadcast");
    strides[o] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return strides;
}

}  // namespace lowbit::ops
