// matmul_plan.cc: MatMul's output and broadcast batch shapes (matmul_plan.h).
#include "ops/matmul_plan.h"

#include <algorithm>

namespace lowbit::ops {

Result<MatMulPlan> plan_matmul(const Shape& sa, const Shape& sb) {
  if (sa.empty() || sb.empty())
    return Status::errorf("inputs must have rank >= 1, got A {} and B {}", shape_str(sa), shape_str(sb));
  Shape a = sa, b = sb;
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulPlan p;
  p.m = a[a.size() - 2];
  p.k = a.back();
  const int64_t kb = b[b.size() - 2];
  p.n = b.back();
  if (p.k >= 0 && kb >= 0 && p.k != kb)
    return Status::errorf("A {} and B {} do not chain: inner dims {} and {}", shape_str(sa), shape_str(sb), p.k, kb);
  if (p.k < 0) p.k = kb;
  const size_t ra = a.size() - 2, rb = b.size() - 2, r = std::max(ra, rb);
  p.a_batch.assign(r - ra, 1);
  p.a_batch.insert(p.a_batch.end(), a.begin(), a.begin() + static_cast<std::ptrdiff_t>(ra));
  p.b_batch.assign(r - rb, 1);
  p.b_batch.insert(p.b_batch.end(), b.begin(), b.begin() + static_cast<std::ptrdiff_t>(rb));
  for (size_t i = 0; i < r; ++i) {
    const int64_t x = p.a_batch[i], y = p.b_batch[i];
    int64_t d;
    if (x == 1) {
      d = y;
    } else if (y == 1) {
      d = x;
    } else if (x < 0 || y < 0) {
      d = std::max(x, y);  // the known one, if any (the unknown must be 1 or equal)
    } else if (x == y) {
      d = x;
    } else {
      return Status::errorf("batch dims of A {} and B {} do not broadcast", shape_str(sa), shape_str(sb));
    }
    p.batch.push_back(d);
  }
  p.out = p.batch;
  if (!a_vec) p.out.push_back(p.m);
  if (!b_vec) p.out.push_back(p.n);
  return p;
}

}  // namespace lowbit::ops
