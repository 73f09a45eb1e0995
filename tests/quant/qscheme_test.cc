// qscheme_test.cc: QScheme ranges, validation, names and slot layouts; QParams from clipping
// ranges for every signed / unsigned × symmetric / asymmetric combination (hand-computed);
// the tensor-level quantize / dequantize / fake-quant.
#include "quant/qscheme.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace lowbit::quant {
namespace {

QScheme scheme(int bits, bool is_signed, bool symmetric = false, bool narrow = false) {
  QScheme s;
  s.bits = bits;
  s.is_signed = is_signed;
  s.symmetric = symmetric;
  s.narrow = narrow;
  return s;
}

QScheme per_channel(QScheme s, int axis) {
  s.granularity = Granularity::kPerChannel;
  s.axis = axis;
  return s;
}

TEST(QSchemeTest, Ranges) {
  struct Case {
    QScheme s;
    int32_t qmin, qmax;
  };
  const Case cases[] = {
      {scheme(8, true), -128, 127},          {scheme(8, true, true, true), -127, 127},
      {scheme(8, false), 0, 255},            {scheme(8, false, false, true), 0, 254},
      {scheme(4, false), 0, 15},             {scheme(4, true), -8, 7},
      {scheme(4, true, true, true), -7, 7},  {scheme(2, true, true, true), -1, 1},
      {scheme(2, true), -2, 1},              {scheme(2, false), 0, 3},
      {scheme(16, false), 0, 65535},         {scheme(16, true), -32768, 32767},
      {scheme(16, true, false, true), -32767, 32767},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.s.qmin(), c.qmin) << describe(c.s);
    EXPECT_EQ(c.s.qmax(), c.qmax) << describe(c.s);
    EXPECT_EQ(c.s.range().qmin, c.qmin);
    EXPECT_EQ(c.s.range().qmax, c.qmax);
  }
}

TEST(QSchemeTest, Validate) {
  EXPECT_TRUE(validate(scheme(8, false)).is_ok());
  EXPECT_TRUE(validate(scheme(2, true)).is_ok());
  EXPECT_TRUE(validate(scheme(16, true)).is_ok());
  EXPECT_TRUE(validate(scheme(8, false, /*symmetric=*/true)).is_ok());  // symmetric unsigned is allowed
  for (int bits : {0, 1, 17, 32, -3}) {
    const Status st = validate(scheme(bits, true));
    ASSERT_FALSE(st.is_ok()) << bits;
    EXPECT_NE(st.message().find("bits"), std::string::npos) << st.message();
  }
  QScheme g = scheme(8, true);
  g.granularity = Granularity::kPerGroup;
  g.group = 0;
  EXPECT_NE(validate(g).message().find("group"), std::string::npos);
  g.group = 1;
  EXPECT_TRUE(validate(g).is_ok());
  QScheme b = scheme(4, true);
  b.granularity = Granularity::kPerBlock;
  b.block = 0;
  EXPECT_NE(validate(b).message().find("block"), std::string::npos);
  b.block = -5;
  EXPECT_FALSE(validate(b).is_ok());
  b.block = 32;
  EXPECT_TRUE(validate(b).is_ok());
  QScheme r = scheme(8, true);
  r.rounding = static_cast<Rounding>(9);
  EXPECT_NE(validate(r).message().find("rounding"), std::string::npos);
  QScheme k = scheme(8, true);
  k.granularity = static_cast<Granularity>(7);
  EXPECT_FALSE(validate(k).is_ok());
}

TEST(QSchemeTest, Names) {
  EXPECT_EQ(describe(per_channel(scheme(8, true, true, true), 0)), "s8 sym narrow per-channel(axis 0)");
  QScheme b = scheme(4, false);
  b.granularity = Granularity::kPerBlock;
  b.block = 32;
  EXPECT_EQ(describe(b), "u4 asym per-block(32)");
  EXPECT_EQ(granularity_name(b), "per-block(32)");
  b.axis = 1;
  EXPECT_EQ(describe(b), "u4 asym per-block(32, axis 1)");
  QScheme g = scheme(8, true);
  g.granularity = Granularity::kPerGroup;
  g.group = 32;
  EXPECT_EQ(granularity_name(g), "per-group(32)");
  EXPECT_EQ(describe(scheme(8, false)), "u8 asym per-tensor");
  EXPECT_EQ(granularity_name(scheme(8, false)), "per-tensor");
  EXPECT_EQ(granularity_name(per_channel(scheme(8, false), 1)), "per-channel");
  QScheme st = scheme(8, true, true);
  st.rounding = Rounding::kStochastic;
  st.seed = 7;
  EXPECT_EQ(describe(st), "s8 sym per-tensor stochastic(seed 7)");
  st.rounding = Rounding::kFloor;
  EXPECT_EQ(describe(st), "s8 sym per-tensor floor");
}

TEST(QSchemeTest, SlotLayouts) {
  auto layout = [](const QScheme& s, const Shape& shape) {
    Result<kernels::SlotLayout> r = slot_layout(s, shape);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? *r : kernels::SlotLayout{};
  };
  kernels::SlotLayout l = layout(scheme(8, false), {2, 3, 4});
  EXPECT_EQ(l.outer, 24);
  EXPECT_EQ(l.channels, 1);
  EXPECT_EQ(l.inner, 1);
  EXPECT_EQ(l.num_slots(), 1);
  EXPECT_EQ(layout(scheme(8, false), {}).numel(), 1);  // a scalar is one per-tensor slot

  l = layout(per_channel(scheme(8, true), 1), {2, 3, 4});
  EXPECT_EQ(l.outer, 2);
  EXPECT_EQ(l.channels, 3);
  EXPECT_EQ(l.inner, 4);
  EXPECT_EQ(l.num_slots(), 3);
  l = layout(per_channel(scheme(8, true), -1), {2, 3, 4});  // negative axis counts from the end
  EXPECT_EQ(l.outer, 6);
  EXPECT_EQ(l.channels, 4);
  EXPECT_EQ(l.inner, 1);

  QScheme g = per_channel(scheme(8, true), 0);
  g.granularity = Granularity::kPerGroup;
  g.group = 2;
  l = layout(g, {5, 2});
  EXPECT_EQ(l.group, 2);
  EXPECT_EQ(l.num_slots(), 3);

  QScheme b = per_channel(scheme(4, true), 0);
  b.granularity = Granularity::kPerBlock;
  b.block = 4;
  l = layout(b, {3, 2, 5});
  EXPECT_EQ(l.outer, 1);
  EXPECT_EQ(l.channels, 3);
  EXPECT_EQ(l.inner, 10);
  EXPECT_EQ(l.block, 4);
  EXPECT_EQ(l.num_blocks(), 3);
  EXPECT_EQ(l.num_slots(), 9);

  EXPECT_FALSE(slot_layout(per_channel(scheme(8, true), 3), {2, 3, 4}).is_ok());
  EXPECT_FALSE(slot_layout(per_channel(scheme(8, true), -4), {2, 3, 4}).is_ok());
  EXPECT_FALSE(slot_layout(per_channel(scheme(8, true), 0), {}).is_ok());
  EXPECT_FALSE(slot_layout(per_channel(scheme(8, true), 0), {2, -1}).is_ok());
  EXPECT_FALSE(slot_layout(scheme(8, true), {-1, 4}).is_ok());
  EXPECT_FALSE(slot_layout(scheme(1, true), {4}).is_ok());  // invalid scheme
}

void expect_qparams(const QScheme& s, float lo, float hi, float scale, int32_t zp) {
  const QParams p = qparams_from_range(s, {lo}, {hi});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_FLOAT_EQ(p.scale[0], scale) << describe(s) << " [" << lo << ", " << hi << "]";
  EXPECT_EQ(p.zero_point[0], zp) << describe(s) << " [" << lo << ", " << hi << "]";
}

TEST(QSchemeTest, QParamsAsymmetric) {
  // u8 [−1, 3]: s = 4/255, z = round(0 + 1/s) = round(63.75) = 64.
  expect_qparams(scheme(8, false), -1.0f, 3.0f, 4.0f / 255.0f, 64);
  // s8 [−1, 3]: z = round(−128 + 63.75) = −64.
  expect_qparams(scheme(8, true), -1.0f, 3.0f, 4.0f / 255.0f, -64);
  // The range is widened to hold 0: [2, 5] → [0, 5]; [−5, −2] → [−5, 0].
  expect_qparams(scheme(8, false), 2.0f, 5.0f, 5.0f / 255.0f, 0);
  expect_qparams(scheme(8, false), -5.0f, -2.0f, 5.0f / 255.0f, 255);
  expect_qparams(scheme(8, true), -5.0f, -2.0f, 5.0f / 255.0f, 127);
  // u4 [−1.5, 6]: s = 7.5/15 = 0.5, z = 3.
  expect_qparams(scheme(4, false), -1.5f, 6.0f, 0.5f, 3);
  // u4 [−2.5, 12.5]: s = 1, z = round(2.5) = 2 (ties to even).
  expect_qparams(scheme(4, false), -2.5f, 12.5f, 1.0f, 2);
  // u8 narrow [−10, 117]: s = 127/254 = 0.5, z = round(20) = 20.
  expect_qparams(scheme(8, false, false, true), -10.0f, 117.0f, 0.5f, 20);
  // s4 narrow [−1, 6]: qmin −7, s = 7/14 = 0.5, z = round(−7 + 2) = −5.
  expect_qparams(scheme(4, true, false, true), -1.0f, 6.0f, 0.5f, -5);
  // u16 [−1.5, 65533.5]: s = 65535/65535 = 1, z = round(1.5) = 2.
  expect_qparams(scheme(16, false), -1.5f, 65533.5f, 1.0f, 2);
}

TEST(QSchemeTest, QParamsSymmetric) {
  // a = max(|lo|, |hi|) = 2.
  expect_qparams(scheme(8, true, true), -2.0f, 1.0f, 2.0f / 127.0f, 0);
  expect_qparams(scheme(8, true, true, true), -2.0f, 1.0f, 2.0f / 127.0f, 0);
  expect_qparams(scheme(8, true, true), -1.0f, 2.0f, 2.0f / 127.0f, 0);
  // Unsigned: z = (0 + 255 + 1)/2 = 128, s = a / (255 − 128).
  expect_qparams(scheme(8, false, true), -2.0f, 1.0f, 2.0f / 127.0f, 128);
  // Unsigned narrow: qmax 254, z = 255/2 = 127, s = a / 127.
  expect_qparams(scheme(8, false, true, true), -2.0f, 1.0f, 2.0f / 127.0f, 127);
  // s4 narrow: s = 3.5/7 = 0.5. u4: z = 8, s = 3.5/7.
  expect_qparams(scheme(4, true, true, true), -0.5f, 3.5f, 0.5f, 0);
  expect_qparams(scheme(4, false, true), -0.5f, 3.5f, 0.5f, 8);
  // s2 narrow: qmax 1, s = a.
  expect_qparams(scheme(2, true, true, true), -0.75f, 0.25f, 0.75f, 0);
  // A constant positive range still spans [−a, a].
  expect_qparams(scheme(8, true, true), 3.0f, 3.0f, 3.0f / 127.0f, 0);
}

TEST(QSchemeTest, QParamsDegenerateRanges) {
  // Zero width: s = 1, so 0 stays exact.
  expect_qparams(scheme(8, false), 0.0f, 0.0f, 1.0f, 0);
  expect_qparams(scheme(8, true), 0.0f, 0.0f, 1.0f, -128);
  expect_qparams(scheme(8, true, true), 0.0f, 0.0f, 1.0f, 0);
  expect_qparams(scheme(8, false, true), 0.0f, 0.0f, 1.0f, 128);
  // A constant non-zero range is widened to hold 0.
  expect_qparams(scheme(8, false), 3.0f, 3.0f, 3.0f / 255.0f, 0);
  // Tiny ranges stop at kMinScale.
  expect_qparams(scheme(8, false), 0.0f, 1e-20f, kMinScale, 0);
  expect_qparams(scheme(8, true, true), -1e-20f, 0.0f, kMinScale, 0);
  // Non-finite bounds count as 0.
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  expect_qparams(scheme(8, false), -inf, 2.0f, 2.0f / 255.0f, 0);
  expect_qparams(scheme(8, false), nan, nan, 1.0f, 0);
  expect_qparams(scheme(8, true, true), -1.0f, inf, 1.0f / 127.0f, 0);
  // A width past FLT_MAX is still a finite scale.
  const QParams big = qparams_from_range(scheme(8, false), {-3e38f}, {3e38f});
  EXPECT_TRUE(std::isfinite(big.scale[0]));
  EXPECT_NEAR(big.scale[0] / (6e38 / 255.0), 1.0, 1e-6);
  // Several slots, in order.
  const QParams p = qparams_from_range(scheme(8, true, true), {-1.0f, 0.0f, -4.0f}, {1.0f, 0.0f, 2.0f});
  ASSERT_EQ(p.size(), 3u);
  EXPECT_FLOAT_EQ(p.scale[0], 1.0f / 127.0f);
  EXPECT_FLOAT_EQ(p.scale[1], 1.0f);
  EXPECT_FLOAT_EQ(p.scale[2], 4.0f / 127.0f);
  EXPECT_EQ(p.zero_point, (std::vector<int32_t>{0, 0, 0}));
}

TEST(QSchemeTest, StorageDType) {
  EXPECT_EQ(storage_dtype(scheme(8, true)), DType::kI8);
  EXPECT_EQ(storage_dtype(scheme(8, false)), DType::kU8);
  EXPECT_EQ(storage_dtype(scheme(4, true)), DType::kI8);
  EXPECT_EQ(storage_dtype(scheme(2, false)), DType::kU8);
  EXPECT_EQ(storage_dtype(scheme(12, false)), DType::kI32);
  EXPECT_EQ(storage_dtype(scheme(16, true)), DType::kI32);
}

TEST(QSchemeTest, QuantizeTensorPerChannelAxis1) {
  // [2,3,2] with axis 1; x[i] = i; c0: s 1, z 0; c1: s 2, z 1; c2: s 4, z −1 (see quantize_test.cc).
  std::vector<float> xs(12);
  for (int i = 0; i < 12; ++i) xs[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor x = Tensor::from_vector<float>({2, 3, 2}, xs);
  const QParams p{{1.0f, 2.0f, 4.0f}, {0, 1, -1}};
  for (int axis : {1, -2}) {
    const QScheme s = per_channel(scheme(8, true), axis);
    Result<Tensor> q = quantize(x, s, p);
    ASSERT_TRUE(q.is_ok()) << q.status().message();
    ASSERT_EQ(q->dtype(), DType::kI8);
    ASSERT_EQ(q->shape(), (Shape{2, 3, 2}));
    const std::vector<int8_t> got(q->data<int8_t>(), q->data<int8_t>() + 12);
    EXPECT_EQ(got, (std::vector<int8_t>{0, 1, 2, 3, 0, 0, 6, 7, 5, 5, 1, 2}));
    // Dequantize: s · (q − z).
    Result<Tensor> y = dequantize(*q, s, p);
    ASSERT_TRUE(y.is_ok()) << y.status().message();
    const std::vector<float> want = {0, 1, 2, 4, 4, 4, 6, 7, 8, 8, 8, 12};
    EXPECT_EQ(std::vector<float>(y->data<float>(), y->data<float>() + 12), want);
    Result<Tensor> f = fake_quant(x, s, p);
    ASSERT_TRUE(f.is_ok()) << f.status().message();
    EXPECT_EQ(std::vector<float>(f->data<float>(), f->data<float>() + 12), want);
  }
}

TEST(QSchemeTest, QuantizeTensorPerBlockAndStorageTypes) {
  // [3,2,5] with axis 0, blocks of 4: q = slot when x = 0, s = 1, z = slot.
  QScheme b = per_channel(scheme(8, false), 0);
  b.granularity = Granularity::kPerBlock;
  b.block = 4;
  const QParams p{std::vector<float>(9, 1.0f), {0, 1, 2, 3, 4, 5, 6, 7, 8}};
  Result<Tensor> q = quantize(Tensor::zeros(DType::kF32, {3, 2, 5}), b, p);
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  ASSERT_EQ(q->dtype(), DType::kU8);
  EXPECT_EQ(std::vector<uint8_t>(q->data<uint8_t>(), q->data<uint8_t>() + 30),
            (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5,
                                  6, 6, 6, 6, 7, 7, 7, 7, 8, 8}));
  // s16 stores in i32.
  Result<Tensor> w = quantize(Tensor::from_vector<float>({3}, {-40000.0f, 1.5f, 40000.0f}), scheme(16, true),
                              QParams{{1.0f}, {0}});
  ASSERT_TRUE(w.is_ok());
  ASSERT_EQ(w->dtype(), DType::kI32);
  EXPECT_EQ(std::vector<int32_t>(w->data<int32_t>(), w->data<int32_t>() + 3), (std::vector<int32_t>{-32768, 2, 32767}));
  // Dequantize reads any integer dtype.
  Result<Tensor> d = dequantize(Tensor::from_vector<int64_t>({2}, {5, -3}), scheme(8, true), QParams{{0.5f}, {1}});
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(std::vector<float>(d->data<float>(), d->data<float>() + 2), (std::vector<float>{2.0f, -2.0f}));
}

TEST(QSchemeTest, TensorErrors) {
  const Tensor x = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const QScheme pc = per_channel(scheme(8, true), 1);
  EXPECT_FALSE(quantize(x, pc, QParams{{1.0f, 1.0f}, {0, 0}}).is_ok());        // 2 slots given, 3 needed
  EXPECT_FALSE(quantize(x, pc, QParams{{1.0f, 1.0f, 1.0f}, {0, 0}}).is_ok());  // zero points short
  EXPECT_FALSE(quantize(x, pc, QParams{{1.0f, 0.0f, 1.0f}, {0, 0, 0}}).is_ok());
  EXPECT_FALSE(quantize(x, pc, QParams{{1.0f, -1.0f, 1.0f}, {0, 0, 0}}).is_ok());
  EXPECT_FALSE(fake_quant(x, pc, QParams{{1.0f, std::nanf(""), 1.0f}, {0, 0, 0}}).is_ok());
  EXPECT_FALSE(fake_quant(x, per_channel(scheme(8, true), 2), QParams{{1.0f}, {0}}).is_ok());
  EXPECT_FALSE(quantize(Tensor::from_vector<int32_t>({1}, {1}), scheme(8, true), QParams{{1.0f}, {0}}).is_ok());
  EXPECT_FALSE(dequantize(x, scheme(8, true), QParams{{1.0f}, {0}}).is_ok());
  EXPECT_FALSE(quantize(x, scheme(20, true), QParams{{1.0f}, {0}}).is_ok());
  const Status st = quantize(x, pc, QParams{{1.0f}, {0}}).status();
  EXPECT_NE(st.message().find("3 slots"), std::string::npos) << st.message();
}

// Large tensors run split over the thread pool; the result must equal one kernel call,
// stochastic rounding included, and fake_quant must equal dequantize(quantize).
TEST(QSchemeTest, LargeTensorsMatchSingleKernelCall) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 2.0f);
  const Shape shape = {300, 1000};
  std::vector<float> xs(300000);
  for (float& v : xs) v = dist(rng);
  const Tensor x = Tensor::from_vector<float>(shape, xs);
  for (Rounding mode : {Rounding::kHalfEven, Rounding::kStochastic}) {
    QScheme s = per_channel(scheme(4, true, true, true), 1);
    s.rounding = mode;
    s.seed = 99;
    std::vector<float> lo(1000), hi(1000);
    for (size_t c = 0; c < 1000; ++c) {
      lo[c] = -1.0f - 0.01f * static_cast<float>(c % 50);
      hi[c] = 1.5f;
    }
    const QParams p = qparams_from_range(s, lo, hi);
    Result<kernels::SlotLayout> l = slot_layout(s, shape);
    ASSERT_TRUE(l.is_ok());
    std::vector<int32_t> q_ref(xs.size());
    std::vector<float> f_ref(xs.size());
    kernels::quantize(xs.data(), *l, p.scale.data(), p.zero_point.data(), s.range(), mode, s.seed, q_ref.data());
    kernels::dequantize(q_ref.data(), *l, p.scale.data(), p.zero_point.data(), f_ref.data());

    Result<Tensor> q = quantize(x, s, p);
    Result<Tensor> f = fake_quant(x, s, p);
    ASSERT_TRUE(q.is_ok() && f.is_ok());
    for (size_t i = 0; i < xs.size(); ++i) {
      ASSERT_EQ(q->data<int8_t>()[i], q_ref[i]) << i;
      ASSERT_EQ(f->data<float>()[i], f_ref[i]) << i;
    }
    Result<Tensor> d = dequantize(*q, s, p);
    ASSERT_TRUE(d.is_ok());
    EXPECT_EQ(std::memcmp(d->data<float>(), f->data<float>(), xs.size() * sizeof(float)), 0);
  }
}

TEST(QSchemeTest, FakeQuantValue) {
  const QScheme s8 = scheme(8, true);
  EXPECT_EQ(fake_quant_value(0.25f, 0.5f, 0, s8), 0.0f);   // 0.5 → 0
  EXPECT_EQ(fake_quant_value(0.75f, 0.5f, 0, s8), 1.0f);   // 1.5 → 2
  EXPECT_EQ(fake_quant_value(100.0f, 0.5f, 0, s8), 63.5f);  // saturates at 127
  EXPECT_EQ(fake_quant_value(-100.0f, 0.5f, 0, s8), -64.0f);
  EXPECT_EQ(fake_quant_value(-100.0f, 0.5f, 0, scheme(8, true, true, true)), -63.5f);
  EXPECT_EQ(fake_quant_value(-10.0f, 1.0f, 3, scheme(4, false)), -3.0f);  // q = 0
  EXPECT_EQ(fake_quant_value(20.0f, 1.0f, 3, scheme(4, false)), 12.0f);   // q = 15
  QScheme away = s8;
  away.rounding = Rounding::kHalfAway;
  EXPECT_EQ(fake_quant_value(0.25f, 0.5f, 0, away), 0.5f);
  QScheme st = s8;
  st.rounding = Rounding::kStochastic;
  EXPECT_EQ(fake_quant_value(0.15f, 0.5f, 0, st, 0.75f), 0.5f);  // floor(0.3 + 0.75) = 1
  EXPECT_EQ(fake_quant_value(0.15f, 0.5f, 0, st, 0.5f), 0.0f);   // floor(0.8) = 0
}

}  // namespace
}  // namespace lowbit::quant
