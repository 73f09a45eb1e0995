// pack_test.cc: sub-byte packing against hand-packed bytes, round trips for 1, 2 and 4 bits
// (signed and unsigned, odd lengths), and the errors for bad widths, values and byte counts.
#include "quant/pack.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace lowbit::quant {
namespace {

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

TEST(PackTest, HandPackedBytes) {
  // int4 signed {−1, 2, 7, −8, 3}: 0xF | 2<<4 = 0x2F; 7 | 8<<4 = 0x87; 3 → 0x03.
  Result<Tensor> p4 = pack_subbyte(Tensor::from_vector<int8_t>({5}, {-1, 2, 7, -8, 3}), 4);
  ASSERT_TRUE(p4.is_ok()) << p4.status().message();
  ASSERT_EQ(p4->dtype(), DType::kU8);
  EXPECT_EQ(p4->shape(), (Shape{3}));
  EXPECT_EQ(values<uint8_t>(*p4), (std::vector<uint8_t>{0x2F, 0x87, 0x03}));
  // int2 unsigned {1, 2, 3, 0, 3}: 1 | 2<<2 | 3<<4 | 0<<6 = 0x39; 3 → 0x03.
  Result<Tensor> p2 = pack_subbyte(Tensor::from_vector<uint8_t>({5}, {1, 2, 3, 0, 3}), 2);
  ASSERT_TRUE(p2.is_ok());
  EXPECT_EQ(values<uint8_t>(*p2), (std::vector<uint8_t>{0x39, 0x03}));
  // int2 signed {−2, −1, 1, 0}: 0b10 | 0b11<<2 | 0b01<<4 = 0x1E.
  Result<Tensor> p2s = pack_subbyte(Tensor::from_vector<int8_t>({4}, {-2, -1, 1, 0}), 2);
  ASSERT_TRUE(p2s.is_ok());
  EXPECT_EQ(values<uint8_t>(*p2s), (std::vector<uint8_t>{0x1E}));
  // binary {1,0,1,1,0,0,0,1, 1}: bits 0, 2, 3, 7 → 0x8D; then 0x01.
  Result<Tensor> p1 = pack_subbyte(Tensor::from_vector<uint8_t>({9}, {1, 0, 1, 1, 0, 0, 0, 1, 1}), 1);
  ASSERT_TRUE(p1.is_ok());
  EXPECT_EQ(values<uint8_t>(*p1), (std::vector<uint8_t>{0x8D, 0x01}));
  // signed binary {−1, 0, −1} → 0b101.
  Result<Tensor> p1s = pack_subbyte(Tensor::from_vector<int8_t>({3}, {-1, 0, -1}), 1);
  ASSERT_TRUE(p1s.is_ok());
  EXPECT_EQ(values<uint8_t>(*p1s), (std::vector<uint8_t>{0x05}));
}

TEST(PackTest, HandUnpack) {
  const Tensor packed = Tensor::from_vector<uint8_t>({3}, {0x2F, 0x87, 0x03});
  Result<Tensor> s = unpack_subbyte(packed, 4, true, {5});
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  ASSERT_EQ(s->dtype(), DType::kI8);
  EXPECT_EQ(values<int8_t>(*s), (std::vector<int8_t>{-1, 2, 7, -8, 3}));
  Result<Tensor> u = unpack_subbyte(packed, 4, false, {5});
  ASSERT_TRUE(u.is_ok());
  ASSERT_EQ(u->dtype(), DType::kU8);
  EXPECT_EQ(values<uint8_t>(*u), (std::vector<uint8_t>{15, 2, 7, 8, 3}));
  // Two bits, signed: 0xE4 = 0b11'10'01'00 → {0, 1, −2, −1}.
  Result<Tensor> s2 = unpack_subbyte(Tensor::from_vector<uint8_t>({1}, {0xE4}), 2, true, {2, 2});
  ASSERT_TRUE(s2.is_ok());
  EXPECT_EQ(s2->shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int8_t>(*s2), (std::vector<int8_t>{0, 1, -2, -1}));
}

TEST(PackTest, RoundTripOddLengths) {
  std::mt19937 rng(17);
  for (int bits : {1, 2, 4})
    for (bool is_signed : {false, true})
      for (int64_t n : {0, 1, 3, 5, 7, 9, 15, 17, 33, 255, 257}) {
        const int lo = is_signed ? -(1 << (bits - 1)) : 0;
        const int hi = is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        std::uniform_int_distribution<int> dist(lo, hi);
        std::vector<int> v(static_cast<size_t>(n));
        for (int& e : v) e = dist(rng);
        if (n > 0) {
          v[0] = lo;
          v[static_cast<size_t>(n - 1)] = hi;
        }
        Tensor q;
        if (is_signed) {
          q = Tensor::from_vector<int8_t>({n}, std::vector<int8_t>(v.begin(), v.end()));
        } else {
          q = Tensor::from_vector<uint8_t>({n}, std::vector<uint8_t>(v.begin(), v.end()));
        }
        Result<Tensor> p = pack_subbyte(q, bits);
        ASSERT_TRUE(p.is_ok()) << p.status().message();
        ASSERT_EQ(p->numel(), (n * bits + 7) / 8) << bits << " " << n;
        // Unused high bits of the last byte are 0.
        if ((n * bits) % 8 != 0) {
          const unsigned last = p->data<uint8_t>()[p->numel() - 1];
          EXPECT_EQ(last >> ((n * bits) % 8), 0u);
        }
        Result<Tensor> u = unpack_subbyte(*p, bits, is_signed, {n});
        ASSERT_TRUE(u.is_ok()) << u.status().message();
        ASSERT_EQ(u->dtype(), q.dtype());
        ASSERT_EQ(std::memcmp(u->raw(), q.raw(), static_cast<size_t>(n)), 0) << bits << " " << is_signed << " " << n;
      }
}

TEST(PackTest, Errors) {
  const Tensor u4 = Tensor::from_vector<uint8_t>({3}, {1, 2, 3});
  EXPECT_FALSE(pack_subbyte(u4, 3).is_ok());
  EXPECT_FALSE(pack_subbyte(u4, 8).is_ok());
  EXPECT_FALSE(pack_subbyte(Tensor::from_vector<uint8_t>({2}, {15, 16}), 4).is_ok());
  EXPECT_FALSE(pack_subbyte(Tensor::from_vector<int8_t>({1}, {8}), 4).is_ok());
  EXPECT_FALSE(pack_subbyte(Tensor::from_vector<int8_t>({1}, {-9}), 4).is_ok());
  EXPECT_FALSE(pack_subbyte(Tensor::from_vector<int8_t>({1}, {1}), 1).is_ok());  // signed binary is {−1, 0}
  EXPECT_FALSE(pack_subbyte(Tensor::from_vector<int32_t>({1}, {1}), 4).is_ok());

  // 5 int4 values need 3 bytes.
  const Tensor two = Tensor::from_vector<uint8_t>({2}, {0, 0});
  const Tensor four = Tensor::from_vector<uint8_t>({4}, {0, 0, 0, 0});
  const Status st = unpack_subbyte(two, 4, true, {5}).status();
  EXPECT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("3"), std::string::npos) << st.message();
  EXPECT_FALSE(unpack_subbyte(four, 4, true, {5}).is_ok());
  EXPECT_FALSE(unpack_subbyte(two, 3, true, {2}).is_ok());
  EXPECT_FALSE(unpack_subbyte(Tensor::from_vector<int8_t>({1}, {0}), 4, true, {2}).is_ok());
  EXPECT_FALSE(unpack_subbyte(two, 4, true, {-1, 4}).is_ok());
  EXPECT_TRUE(unpack_subbyte(two, 4, true, {2, 2}).is_ok());
}

}  // namespace
}  // namespace lowbit::quant
