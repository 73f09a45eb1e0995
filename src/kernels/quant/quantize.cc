// quantize.cc: the uniform affine quantize / dequantize / fake-quant loops behind quantize.h.
//
// Structure: the walkers below split [begin, end) of the [outer, channels, inner] view into
// pieces whose (scale, zero point) the element loops can read without index arithmetic —
// runs of one slot (for_each_run), or whole rows with a per-element parameter row when the
// channel axis is the last one (for_each_row, inner = 1, where runs would be one element
// long). Only a few divisions happen per outer row, none per element. The element loops
// are templated on the rounding mode and are branch-free, so GCC vectorizes them.
#include "kernels/quant/quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace lowbit::kernels {
namespace {

// 2^23: every float of at least this magnitude is an integer, and adding it to a smaller
// non-negative float rounds that float to an integer (the ulp in [2^23, 2^24) is 1).
constexpr float kTwo23 = 8388608.0f;

// c ? a : b. kBlend does it as a bit blend: a plain ?: between float arithmetic lets GCC
// sink the arithmetic into a branch, and under -ftrapping-math (the default) it will not
// turn that branch back into a vector select. Scalar loops use the plain ?:, which is
// cheaper there.
template <bool kBlend, typename F>
inline F pick(bool c, F a, F b) {
  if constexpr (kBlend) {
    using U = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
    const U m = U{0} - static_cast<U>(c);
    return std::bit_cast<F>((std::bit_cast<U>(a) & m) | (std::bit_cast<U>(b) & ~m));
  } else {
    return c ? a : b;
  }
}

// Ties to even: (a + 2^23) − 2^23 rounds a ≥ 0 with the current (default: nearest-even)
// mode; the build has no -ffast-math, so the compiler keeps both operations.
template <bool kBlend>
inline float round_half_even(float v) {
  const float a = std::fabs(v);
  const float r = (a + kTwo23) - kTwo23;
  return std::copysign(pick<kBlend>(a < kTwo23, r, a), v);
}

// Ties away from zero: truncate |v|, add 1 when the dropped fraction is ≥ 1/2 (a − t is exact).
template <bool kBlend>
inline float round_half_away(float v) {
  const float a = std::fabs(v);
  const bool small = a < kTwo23;
  const float ac = pick<kBlend>(small, a, 0.0f);  // keeps the int conversion in range
  const float t = static_cast<float>(static_cast<int32_t>(ac));
  const float r = pick<kBlend>(ac - t >= 0.5f, t + 1.0f, t);
  return std::copysign(pick<kBlend>(small, r, a), v);
}

template <bool kBlend>
inline float round_floor(float v) {
  const bool small = std::fabs(v) < kTwo23;
  const float vc = pick<kBlend>(small, v, 0.0f);
  const float t = static_cast<float>(static_cast<int32_t>(vc));  // toward zero
  return pick<kBlend>(small, pick<kBlend>(t > vc, t - 1.0f, t), v);
}

// floor(v + u) in double: exact, since |v| < 2^23 and u has 24 fraction bits.
inline float round_stochastic(float v, float u) {
  const bool small = std::fabs(v) < kTwo23;
  const double w = static_cast<double>(small ? v : 0.0f) + static_cast<double>(u);
  int64_t k = static_cast<int64_t>(w);
  k -= static_cast<double>(k) > w ? 1 : 0;
  return small ? static_cast<float>(k) : v;
}

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

inline uint64_t mix64(uint64_t z) {  // splitmix64's finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// splitmix64 is a counter-based generator: output i = mix(state0 + (i + 1)·γ). The seed
// is hashed into state0 so that nearby seeds give unrelated streams.
inline uint64_t seed_state(uint64_t seed) { return mix64(seed ^ 0x6C62B5F4A1D3E9C7ull); }
inline float u_at(uint64_t state, int64_t index) {
  const uint64_t z = mix64(state + (static_cast<uint64_t>(index) + 1) * kGolden);
  return static_cast<float>(z >> 40) * 0x1p-24f;
}

template <Rounding M, bool kBlend>
inline float round_mode(float v, uint64_t state, int64_t index) {
  if constexpr (M == Rounding::kHalfEven) return round_half_even<kBlend>(v);
  if constexpr (M == Rounding::kHalfAway) return round_half_away<kBlend>(v);
  if constexpr (M == Rounding::kFloor) return round_floor<kBlend>(v);
  if constexpr (M == Rounding::kStochastic) return round_stochastic(v, u_at(state, index));
}

// Bounds of the float path: with |qmin|, |qmax|, |z| ≤ 2^23, r + z (clamped) and q − z are
// integers below 2^24 in magnitude, so float holds them exactly.
constexpr int64_t kFloatExact = int64_t{1} << 23;
inline bool float_exact(int64_t v) { return v >= -kFloatExact && v <= kFloatExact; }

// Parameters of a piece: one slot's (s, z) for every element, or one pair per element.
struct OneSlot {
  float s;
  int32_t z;
  float scale(int64_t) const { return s; }
  int32_t zero(int64_t) const { return z; }
};
struct PerElement {
  const float* s;
  const int32_t* z;
  float scale(int64_t k) const { return s[k]; }
  int32_t zero(int64_t k) const { return z[k]; }
};

// True when the channel axis is innermost and there is more than one slot: then runs of one
// slot are one element long, and for_each_row serves better.
bool use_rows(const SlotLayout& l) {
  return l.inner == 1 && l.channels > 1 && (l.block > 0 || l.channels > std::max<int64_t>(l.group, 1));
}

// Calls fn(first, count, slot) for the maximal runs of flat indices in [begin, end) that
// share a slot, in order.
template <typename Fn>
void for_each_run(const SlotLayout& l, int64_t begin, int64_t end, Fn&& fn) {
  if (begin >= end) return;
  if (l.block <= 0 && l.channels <= std::max<int64_t>(l.group, 1)) {  // one slot: per-tensor
    fn(begin, end - begin, int64_t{0});
    return;
  }
  const int64_t C = l.channels, I = l.inner, CI = C * I;
  int64_t o = begin / CI;
  int64_t c = (begin - o * CI) / I;
  int64_t i = begin - o * CI - c * I;
  int64_t f = begin;
  if (l.block <= 0) {
    const int64_t G = std::max<int64_t>(l.group, 1);
    int64_t slot = c / G, cg = c - slot * G;
    while (f < end) {
      const int64_t n = std::min(I - i, end - f);
      fn(f, n, slot);
      f += n;
      i = 0;
      if (++c == C) {
        c = 0;
        cg = 0;
        slot = 0;
      } else if (++cg == G) {
        cg = 0;
        ++slot;
      }
    }
    return;
  }
  // Per-block: the element (o, c, i) sits at p = o·I + i inside channel c. (blk0, off0) is
  // p / B and p % B for i = 0 of the current o, the start of every segment but the first.
  const int64_t B = l.block, nb = l.num_blocks();
  int64_t blk0 = (o * I) / B, off0 = o * I - blk0 * B;
  while (f < end) {
    int64_t blk = blk0, off = off0;
    if (i != 0) {
      const int64_t p = o * I + i;
      blk = p / B;
      off = p - blk * B;
    }
    const int64_t seg_end = f + std::min(I - i, end - f);
    const int64_t base = c * nb;
    while (f < seg_end) {
      const int64_t n = std::min(B - off, seg_end - f);
      fn(f, n, base + blk);
      f += n;
      ++blk;
      off = 0;
    }
    i = 0;
    if (++c == C) {
      c = 0;
      ++o;
      off0 += I;
      if (off0 >= B) {
        blk0 += off0 / B;
        off0 %= B;
      }
    }
  }
}

// For inner = 1: calls fn(first, count, s, z, zmax) for pieces of one outer row, where s[k]
// and z[k] belong to element first + k and zmax is the largest |z| in the row. The row of
// parameters is rebuilt only when it changes (per-block: every `block` rows).
template <typename Fn>
void for_each_row(const SlotLayout& l, const float* scale, const int32_t* zp, int64_t begin, int64_t end, Fn&& fn) {
  if (begin >= end) return;
  const int64_t C = l.channels, B = l.block, nb = l.num_blocks(), G = std::max<int64_t>(l.group, 1);
  std::vector<float> rs(static_cast<size_t>(C));
  std::vector<int32_t> rz(static_cast<size_t>(C));
  int64_t key = -1, zmax = 0;
  for (int64_t f = begin; f < end;) {
    const int64_t o = f / C, c0 = f - o * C, n = std::min(C - c0, end - f);
    const int64_t k = B > 0 ? o / B : 0;
    if (k != key) {
      key = k;
      zmax = 0;
      for (int64_t c = 0, slot = 0, cg = 0; c < C; ++c) {
        const int64_t sl = B > 0 ? c * nb + k : slot;
        rs[static_cast<size_t>(c)] = scale[sl];
        rz[static_cast<size_t>(c)] = zp[sl];
        zmax = std::max<int64_t>(zmax, std::abs(static_cast<int64_t>(zp[sl])));
        if (++cg == G) {
          cg = 0;
          ++slot;
        }
      }
    }
    fn(f, n, rs.data() + c0, rz.data() + c0, zmax);
    f += n;
  }
}

// Quantizes x[first, first + n). kFake writes s·(q − z) as float instead of q. NaN
// quotients become 0 before rounding; clamping in float (or double when values can exceed
// 2^23, e.g. int32 ranges) is exact, and the clamped value converts to int exactly.
template <Rounding M, bool kWide, typename Out, bool kFake, typename P>
void quant_run(const float* x, int64_t first, int64_t n, P p, QuantRange range, uint64_t state, Out* out) {
  using Acc = std::conditional_t<kWide, double, float>;
  constexpr bool kBlend = !kWide && M != Rounding::kStochastic;  // the loops that vectorize
  const Acc lo = static_cast<Acc>(range.qmin), hi = static_cast<Acc>(range.qmax);
  const float* xs = x + first;
  Out* os = out + first;
  for (int64_t k = 0; k < n; ++k) {
    const float s = p.scale(k);
    const Acc zf = static_cast<Acc>(p.zero(k));
    float v = xs[k] / s;
    v = pick<kBlend>(v == v, v, 0.0f);
    Acc t = static_cast<Acc>(round_mode<M, kBlend>(v, state, first + k)) + zf;
    t = pick<kBlend>(t < lo, lo, t);
    t = pick<kBlend>(t > hi, hi, t);
    if constexpr (kFake) {
      os[k] = static_cast<float>(t - zf) * s;
    } else {
      os[k] = static_cast<Out>(static_cast<int32_t>(t));
    }
  }
}

template <Rounding M, typename Out, bool kFake>
void quant_pieces(const float* x, const SlotLayout& l, const float* scale, const int32_t* zp, QuantRange range,
                  uint64_t state, int64_t begin, int64_t end, Out* out) {
  const bool range_exact = float_exact(range.qmin) && float_exact(range.qmax);
  auto run = [&](int64_t first, int64_t n, auto p, int64_t zmax) {
    if (range_exact && float_exact(zmax)) {
      quant_run<M, false, Out, kFake>(x, first, n, p, range, state, out);
    } else {
      quant_run<M, true, Out, kFake>(x, first, n, p, range, state, out);
    }
  };
  if (use_rows(l)) {
    for_each_row(l, scale, zp, begin, end, [&](int64_t first, int64_t n, const float* s, const int32_t* z, int64_t zmax) {
      run(first, n, PerElement{s, z}, zmax);
    });
  } else {
    for_each_run(l, begin, end, [&](int64_t first, int64_t n, int64_t slot) {
      run(first, n, OneSlot{scale[slot], zp[slot]}, std::abs(static_cast<int64_t>(zp[slot])));
    });
  }
}

template <bool kFake, typename Out>
void quant_dispatch(const float* x, const SlotLayout& l, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, Out* out) {
  const uint64_t state = seed_state(seed);
  switch (mode) {
    case Rounding::kHalfEven:
      quant_pieces<Rounding::kHalfEven, Out, kFake>(x, l, scale, zp, range, state, begin, end, out);
      break;
    case Rounding::kHalfAway:
      quant_pieces<Rounding::kHalfAway, Out, kFake>(x, l, scale, zp, range, state, begin, end, out);
      break;
    case Rounding::kFloor:
      quant_pieces<Rounding::kFloor, Out, kFake>(x, l, scale, zp, range, state, begin, end, out);
      break;
    case Rounding::kStochastic:
      quant_pieces<Rounding::kStochastic, Out, kFake>(x, l, scale, zp, range, state, begin, end, out);
      break;
  }
}

// out = s · (q − z), with q − z exact and then rounded once to float: in int32 for one-byte
// q when |z| < 2^30 (no overflow), else in double (exact for i32 q; i64 q beyond 2^53 is
// rounded first).
template <typename In, typename P>
void dequant_run(const In* q, int64_t first, int64_t n, P p, int64_t zmax, float* out) {
  const In* qs = q + first;
  float* os = out + first;
  if (sizeof(In) == 1 && zmax < (int64_t{1} << 30)) {
    for (int64_t k = 0; k < n; ++k) os[k] = static_cast<float>(static_cast<int32_t>(qs[k]) - p.zero(k)) * p.scale(k);
  } else {
    for (int64_t k = 0; k < n; ++k)
      os[k] = static_cast<float>(static_cast<double>(qs[k]) - static_cast<double>(p.zero(k))) * p.scale(k);
  }
}

template <typename In>
void dequant_dispatch(const In* q, const SlotLayout& l, const float* scale, const int32_t* zp, int64_t begin,
                      int64_t end, float* out) {
  if (use_rows(l)) {
    for_each_row(l, scale, zp, begin, end, [&](int64_t first, int64_t n, const float* s, const int32_t* z, int64_t zmax) {
      dequant_run(q, first, n, PerElement{s, z}, zmax, out);
    });
  } else {
    for_each_run(l, begin, end, [&](int64_t first, int64_t n, int64_t slot) {
      dequant_run(q, first, n, OneSlot{scale[slot], zp[slot]}, std::abs(static_cast<int64_t>(zp[slot])), out);
    });
  }
}

}  // namespace

float round_value(float v, Rounding mode, float u) {
  if (std::isnan(v)) return v;
  switch (mode) {
    case Rounding::kHalfEven: return round_half_even<false>(v);
    case Rounding::kHalfAway: return round_half_away<false>(v);
    case Rounding::kFloor: return round_floor<false>(v);
    case Rounding::kStochastic: return round_stochastic(v, u);
  }
  return v;
}

float stochastic_u(uint64_t seed, int64_t index) { return u_at(seed_state(seed), index); }

int32_t quantize_value(float x, float scale, int32_t zp, QuantRange range, Rounding mode, float u) {
  float v = x / scale;
  if (std::isnan(v)) v = 0.0f;
  double t = static_cast<double>(round_value(v, mode, u)) + zp;
  t = std::clamp(t, static_cast<double>(range.qmin), static_cast<double>(range.qmax));
  return static_cast<int32_t>(t);
}

void quantize(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
              Rounding mode, uint64_t seed, int32_t* out) {
  quant_dispatch<false>(x, layout, scale, zp, range, mode, seed, 0, layout.numel(), out);
}

void dequantize(const int32_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp, float* out) {
  dequant_dispatch(q, layout, scale, zp, 0, layout.numel(), out);
}

void fake_quantize(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                   Rounding mode, uint64_t seed, float* out) {
  quant_dispatch<true>(x, layout, scale, zp, range, mode, seed, 0, layout.numel(), out);
}

void quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, int32_t* out) {
  quant_dispatch<false>(x, layout, scale, zp, range, mode, seed, begin, end, out);
}
void quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, int8_t* out) {
  quant_dispatch<false>(x, layout, scale, zp, range, mode, seed, begin, end, out);
}
void quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, uint8_t* out) {
  quant_dispatch<false>(x, layout, scale, zp, range, mode, seed, begin, end, out);
}

void dequantize_range(const int32_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out) {
  dequant_dispatch(q, layout, scale, zp, begin, end, out);
}
void dequantize_range(const int8_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out) {
  dequant_dispatch(q, layout, scale, zp, begin, end, out);
}
void dequantize_range(const uint8_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out) {
  dequant_dispatch(q, layout, scale, zp, begin, end, out);
}
void dequantize_range(const int64_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out) {
  dequant_dispatch(q, layout, scale, zp, begin, end, out);
}

void fake_quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp,
                         QuantRange range, Rounding mode, uint64_t seed, int64_t begin, int64_t end, float* out) {
  quant_dispatch<true>(x, layout, scale, zp, range, mode, seed, begin, end, out);
}

}  // namespace lowbit::kernels
