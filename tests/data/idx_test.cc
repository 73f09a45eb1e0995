// idx_test.cc: IDX files written byte by byte (plain and gzip) read back exactly; broken files fail cleanly.
#include "data/idx.h"

#include <cmath>
#include <cstring>

#include "data/data_test_util.h"

namespace lowbit::data {
namespace {

using testing::contains;
using testing::TempDir;

void put_be32(std::vector<uint8_t>* b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->push_back(static_cast<uint8_t>(v >> s));
}

std::vector<uint8_t> idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(&b, d);
  return b;
}

TEST(DataIdx, ReadsPlainAndGzipU8) {
  TempDir dir;
  std::vector<uint8_t> file = idx_header(0x08, {2, 3, 4});
  for (int i = 0; i < 24; ++i) file.push_back(static_cast<uint8_t>(i * 10 + 3));
  testing::write_bytes(dir.file("a.idx"), file);
  testing::write_gzip(dir.file("a.idx.gz"), file);
  for (const char* name : {"a.idx", "a.idx.gz"}) {
    Result<Tensor> t = read_idx(dir.file(name));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    EXPECT_EQ(t->dtype(), DType::kU8);
    EXPECT_EQ(t->shape(), (Shape{2, 3, 4}));
    for (int i = 0; i < 24; ++i) EXPECT_EQ(t->data<uint8_t>()[i], i * 10 + 3) << name << " at " << i;
  }
}

TEST(DataIdx, ReadsSignedAndFloatTypesBigEndian) {
  TempDir dir;
  {  // i8
    std::vector<uint8_t> f = idx_header(0x09, {3});
    for (uint8_t v : {0x80, 0xff, 0x7f}) f.push_back(v);
    testing::write_bytes(dir.file("i8"), f);
    Result<Tensor> t = read_idx(dir.file("i8"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    ASSERT_EQ(t->dtype(), DType::kI8);
    EXPECT_EQ(t->data<int8_t>()[0], -128);
    EXPECT_EQ(t->data<int8_t>()[1], -1);
    EXPECT_EQ(t->data<int8_t>()[2], 127);
  }
  {  // i16 widens to i32
    std::vector<uint8_t> f = idx_header(0x0B, {3});
    for (uint8_t v : {0x80, 0x00, 0xff, 0xfe, 0x01, 0x02}) f.push_back(v);
    testing::write_gzip(dir.file("i16.gz"), f);
    Result<Tensor> t = read_idx(dir.file("i16.gz"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    ASSERT_EQ(t->dtype(), DType::kI32);
    EXPECT_EQ(t->data<int32_t>()[0], -32768);
    EXPECT_EQ(t->data<int32_t>()[1], -2);
    EXPECT_EQ(t->data<int32_t>()[2], 0x0102);
  }
  {  // i32
    std::vector<uint8_t> f = idx_header(0x0C, {1, 2});
    put_be32(&f, 0xfffffffbu);  // -5
    put_be32(&f, 0x01020304u);
    testing::write_bytes(dir.file("i32"), f);
    Result<Tensor> t = read_idx(dir.file("i32"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    ASSERT_EQ(t->dtype(), DType::kI32);
    EXPECT_EQ(t->shape(), (Shape{1, 2}));
    EXPECT_EQ(t->data<int32_t>()[0], -5);
    EXPECT_EQ(t->data<int32_t>()[1], 0x01020304);
  }
  {  // f32: 1.5 = 0x3fc00000, -0.25 = 0xbe800000
    std::vector<uint8_t> f = idx_header(0x0D, {2});
    put_be32(&f, 0x3fc00000u);
    put_be32(&f, 0xbe800000u);
    testing::write_bytes(dir.file("f32"), f);
    Result<Tensor> t = read_idx(dir.file("f32"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    ASSERT_EQ(t->dtype(), DType::kF32);
    EXPECT_EQ(t->data<float>()[0], 1.5f);
    EXPECT_EQ(t->data<float>()[1], -0.25f);
  }
  {  // f64 -> f32: 0.1 (0x3fb999999999999a) rounds to float(0.1); -3.0 = 0xc008000000000000
    std::vector<uint8_t> f = idx_header(0x0E, {2});
    put_be32(&f, 0x3fb99999u);
    put_be32(&f, 0x9999999au);
    put_be32(&f, 0xc0080000u);
    put_be32(&f, 0u);
    testing::write_bytes(dir.file("f64"), f);
    Result<Tensor> t = read_idx(dir.file("f64"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    ASSERT_EQ(t->dtype(), DType::kF32);
    EXPECT_EQ(t->data<float>()[0], static_cast<float>(0.1));
    EXPECT_EQ(t->data<float>()[1], -3.0f);
  }
}

TEST(DataIdx, TruncatedFilesNameTheFileAndTheShortfall) {
  TempDir dir;
  std::vector<uint8_t> f = idx_header(0x08, {4, 6});
  for (int i = 0; i < 19; ++i) f.push_back(1);  // 24 expected
  testing::write_bytes(dir.file("short.idx"), f);
  testing::write_gzip(dir.file("short.idx.gz"), f);
  for (const char* name : {"short.idx", "short.idx.gz"}) {
    Result<Tensor> t = read_idx(dir.file(name));
    ASSERT_FALSE(t.is_ok()) << name;
    EXPECT_TRUE(contains(t.status().message(), dir.file(name))) << t.status().message();
    EXPECT_TRUE(contains(t.status().message(), "truncated: expected 24 bytes of data, found 19")) << t.status().message();
  }
  // Header cut inside the dims.
  testing::write_bytes(dir.file("hdr.idx"), std::vector<uint8_t>{0, 0, 8, 3, 0, 0, 0, 2});
  Result<Tensor> h = read_idx(dir.file("hdr.idx"));
  ASSERT_FALSE(h.is_ok());
  EXPECT_TRUE(contains(h.status().message(), "truncated")) << h.status().message();
  // Empty file.
  testing::write_bytes(dir.file("empty.idx"), std::vector<uint8_t>{});
  EXPECT_FALSE(read_idx(dir.file("empty.idx")).is_ok());
}

TEST(DataIdx, CutGzipStreamAndCorruptGzipAreErrors) {
  TempDir dir;
  std::vector<uint8_t> f = idx_header(0x08, {4096});
  for (int i = 0; i < 4096; ++i) f.push_back(static_cast<uint8_t>((i * 7919) >> 3));
  testing::write_gzip(dir.file("full.gz"), f);
  std::vector<uint8_t> gz = testing::read_bytes(dir.file("full.gz"));
  ASSERT_GT(gz.size(), 40u);
  // Cut the compressed stream in half: the reader must stop at the cut and say so.
  testing::write_bytes(dir.file("cut.gz"), std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2));
  Result<Tensor> cut = read_idx(dir.file("cut.gz"));
  ASSERT_FALSE(cut.is_ok());
  EXPECT_TRUE(contains(cut.status().message(), "truncated")) << cut.status().message();
  // Drop only the 8-byte CRC/length trailer: all data is there but the stream has no proper end.
  testing::write_bytes(dir.file("notrailer.gz"), std::vector<uint8_t>(gz.begin(), gz.end() - 8));
  Result<Tensor> nt = read_idx(dir.file("notrailer.gz"));
  ASSERT_FALSE(nt.is_ok());
  EXPECT_TRUE(contains(nt.status().message(), "truncated")) << nt.status().message();
  // Corrupt the CRC: zlib's check fails.
  std::vector<uint8_t> bad = gz;
  bad[bad.size() - 6] ^= 0xff;
  testing::write_bytes(dir.file("badcrc.gz"), bad);
  Result<Tensor> crc = read_idx(dir.file("badcrc.gz"));
  ASSERT_FALSE(crc.is_ok());
  EXPECT_TRUE(contains(crc.status().message(), "corrupt gzip")) << crc.status().message();
  // Garbage after the gzip magic.
  testing::write_bytes(dir.file("garbage.gz"), std::vector<uint8_t>{0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  EXPECT_FALSE(read_idx(dir.file("garbage.gz")).is_ok());
}

TEST(DataIdx, BadMagicTypeAndDimsAreErrors) {
  TempDir dir;
  struct Case {
    std::vector<uint8_t> bytes;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {{1, 0, 8, 1, 0, 0, 0, 1, 5}, "bad magic"},
      {{0, 0, 0x0A, 1, 0, 0, 0, 1, 5}, "unknown IDX element type 0x0a"},
      {{0, 0, 8, 0}, "0 dims"},
      {{0, 0, 8, 5, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7}, "5 dims"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string p = dir.file(fmt::format("case{}", i));
    testing::write_bytes(p, cases[i].bytes);
    Result<Tensor> t = read_idx(p);
    ASSERT_FALSE(t.is_ok()) << i;
    EXPECT_TRUE(contains(t.status().message(), cases[i].expect)) << t.status().message();
    EXPECT_TRUE(contains(t.status().message(), p)) << t.status().message();
  }
}

TEST(DataIdx, HugeDimsFailBeforeAllocating) {
  TempDir dir;
  // 4 x 0xffffffff overflows int64 elements.
  std::vector<uint8_t> overflow = idx_header(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu});
  overflow.push_back(1);
  testing::write_bytes(dir.file("overflow"), overflow);
  Result<Tensor> a = read_idx(dir.file("overflow"));
  ASSERT_FALSE(a.is_ok());
  EXPECT_TRUE(contains(a.status().message(), "overflow")) << a.status().message();
  // 2^16 x 2^16 x 4 f32 = 64 GiB: over the tensor limit.
  std::vector<uint8_t> big = idx_header(0x0D, {65536, 65536, 4});
  testing::write_bytes(dir.file("big"), big);
  Result<Tensor> b = read_idx(dir.file("big"));
  ASSERT_FALSE(b.is_ok());
  EXPECT_TRUE(contains(b.status().message(), "limit")) << b.status().message();
  // 2 GiB claimed, 3 bytes present, plain and gzip: truncated, with the exact counts.
  std::vector<uint8_t> claim = idx_header(0x08, {0x80000000u});
  claim.insert(claim.end(), {1, 2, 3});
  testing::write_bytes(dir.file("claim"), claim);
  testing::write_gzip(dir.file("claim.gz"), claim);
  for (const char* name : {"claim", "claim.gz"}) {
    Result<Tensor> c = read_idx(dir.file(name));
    ASSERT_FALSE(c.is_ok());
    EXPECT_TRUE(contains(c.status().message(), "truncated: expected 2147483648 bytes of data, found 3"))
        << c.status().message();
  }
}

TEST(DataIdx, TrailingDataAndMissingFilesAreErrors) {
  TempDir dir;
  std::vector<uint8_t> f = idx_header(0x08, {2});
  f.insert(f.end(), {1, 2, 3, 4});
  testing::write_bytes(dir.file("long"), f);
  testing::write_gzip(dir.file("long.gz"), f);
  for (const char* name : {"long", "long.gz"}) {
    Result<Tensor> t = read_idx(dir.file(name));
    ASSERT_FALSE(t.is_ok());
    EXPECT_TRUE(contains(t.status().message(), "2 bytes of unexpected data")) << t.status().message();
  }
  Result<Tensor> missing = read_idx(dir.file("nope"));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_TRUE(contains(missing.status().message(), "cannot open")) << missing.status().message();
  Result<Tensor> folder = read_idx(dir.path());
  ASSERT_FALSE(folder.is_ok());
  EXPECT_TRUE(contains(folder.status().message(), "directory")) << folder.status().message();
}

TEST(DataIdx, ConcatenatedGzipMembersReadAsOneStream) {
  TempDir dir;
  std::vector<uint8_t> f = idx_header(0x08, {6});
  f.insert(f.end(), {10, 11, 12, 13, 14, 15});
  const std::vector<uint8_t> head(f.begin(), f.begin() + 9), tail(f.begin() + 9, f.end());
  testing::write_gzip(dir.file("h.gz"), head);
  testing::write_gzip(dir.file("t.gz"), tail);
  std::vector<uint8_t> both = testing::read_bytes(dir.file("h.gz"));
  const std::vector<uint8_t> t = testing::read_bytes(dir.file("t.gz"));
  both.insert(both.end(), t.begin(), t.end());
  testing::write_bytes(dir.file("both.gz"), both);
  Result<Tensor> r = read_idx(dir.file("both.gz"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->numel(), 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r->data<uint8_t>()[i], 10 + i);
}

TEST(DataIdx, MutatedHeadersNeverCrash) {
  TempDir dir;
  std::vector<uint8_t> f = idx_header(0x0C, {2, 3});
  for (int i = 0; i < 24; ++i) f.push_back(static_cast<uint8_t>(i));
  uint32_t rng = 7;
  auto next = [&rng] { return rng = rng * 1664525u + 1013904223u, rng >> 8; };
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<uint8_t> m = f;
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits; ++e) m[next() % 12] = static_cast<uint8_t>(next() & 0xff);
    const bool gz = iter % 2;
    const std::string p = dir.file(gz ? "m.gz" : "m");
    if (gz) {
      testing::write_gzip(p, m);
    } else {
      testing::write_bytes(p, m);
    }
    Result<Tensor> t = read_idx(p);
    if (t.is_ok()) {
      EXPECT_LE(t->numel(), 24);  // at least one byte of data per element
    } else {
      EXPECT_TRUE(contains(t.status().message(), p)) << t.status().message();
    }
  }
}

}  // namespace
}  // namespace lowbit::data
