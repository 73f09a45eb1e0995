// aciq.cc: the aciq-laplace / aciq-gauss observers — Banner, Nahshan, Soudry, "Post-training
// 4-bit quantization of convolutional networks for rapid deployment" (ACIQ), NeurIPS 2019.
//
// Fit a distribution to the slot, clip at μ ± α with the α that minimizes the expected squared
// error of M-bit uniform quantization of that distribution. With 2^M levels over [μ − α, μ + α]
// the step is Δ = 2α/2^M and the rounding noise Δ²/12 = α²/(3·4^M) (the paper's approximation:
// noise as if all mass were inside the range); the clipping error is the mass beyond ±α:
//   Laplace(μ, b):  2·∫_α^∞ (x − α)² e^(−x/b)/(2b) dx = 2b²·e^(−α/b)
//                   E(α) = 2b²·e^(−α/b) + α²/(3·4^M)
//   Gauss(μ, σ):    2·∫_α^∞ (x − α)² φ_σ(x) dx = (α² + σ²)·erfc(α/(√2σ)) − √(2/π)·α·σ·e^(−α²/(2σ²))
//                   E(α) = that + α²/(3·4^M)
// In units of b (σ) both depend on M only; aciq_alpha() minimizes them by golden section (both
// are convex in α). Published α/b for M = 2..8: 2.83 3.89 5.03 6.20 7.41 8.64 9.89; α/σ: 1.71
// 2.15 2.55 2.94 3.29 3.61 3.92 (tests/quant/observers_test.cc checks these).
//
// The fits: μ = Σx/N and σ² = Σx²/N − μ² from the exact running sums; b = E|x − μ| from the
// histogram (bin centres, clamped to [min, max]). One-signed data (min ≥ 0, e.g. after ReLU)
// keeps lo = min and clips only hi at min(max, μ + α) — the distribution is then half of one at
// best, so this follows the paper's practice rather than re-deriving α; max ≤ 0 mirrors it.
#include <algorithm>
#include <cmath>

#include "quant/observers/clip_search.h"

namespace lowbit::quant::observers {
namespace {

// Expected squared error in units of b² (σ²) at clipping constant s = α/b (α/σ).
double expected_error(double s, int bits, bool laplace) {
  const double noise = s * s / (3.0 * std::ldexp(1.0, 2 * bits));
  if (laplace) return 2.0 * std::exp(-s) + noise;
  constexpr double kSqrt2OverPi = 0.79788456080286535588;
  return (s * s + 1.0) * std::erfc(s / std::sqrt(2.0)) - kSqrt2OverPi * s * std::exp(-s * s / 2.0) + noise;
}

}  // namespace

double aciq_alpha(int bits, bool laplace) {
  double a = 0.0, b = 64.0;  // α/b stays below 25 for 16 bits
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = expected_error(c, bits, laplace), fd = expected_error(d, bits, laplace);
  while (b - a > 1e-10) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = expected_error(c, bits, laplace);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = expected_error(d, bits, laplace);
    }
  }
  return (a + b) / 2.0;
}

ClipRange aciq_clip(const HistView& h, const QScheme& scheme, bool laplace) {
  const double n = static_cast<double>(h.count);
  const double mu = h.sum / n;
  double spread = 0;
  if (laplace) {
    for (int j = 0; j < h.bins; ++j) {
      if (h.counts[j] == 0) continue;
      const double x = std::clamp(h.bin_centre(j), static_cast<double>(h.min), static_cast<double>(h.max));
      spread += static_cast<double>(h.counts[j]) * std::fabs(x - mu);
    }
    spread /= n;
  } else {
    spread = std::sqrt(std::max(0.0, h.sumsq / n - mu * mu));
  }
  const double alpha = aciq_alpha(scheme.bits, laplace) * spread;
  double lo = mu - alpha, hi = mu + alpha;
  if (h.min >= 0) lo = h.min;
  if (h.max <= 0) hi = h.max;
  ClipRange r;
  r.lo = static_cast<float>(std::clamp(lo, static_cast<double>(h.min), static_cast<double>(h.max)));
  r.hi = static_cast<float>(std::clamp(hi, static_cast<double>(h.min), static_cast<double>(h.max)));
  return r;
}

}  // namespace lowbit::quant::observers
