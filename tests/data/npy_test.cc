// npy_test.cc: .npy round trips for every dtype, byte-exact agreement with numpy's format, hostile headers.
#include "data/npy.h"

#include <cstring>
#include <filesystem>

#include "data/data_test_util.h"

namespace lowbit::data {
namespace {

using testing::contains;
using testing::TempDir;

// What numpy 1.24 writes for np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<i4')): the
// 10-byte preamble (magic, version 1.0, header length 118 = 0x76), the dict, spaces up to byte
// 127, '\n', then the little-endian data.
std::string numpy_i4_2x3() {
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
  header += std::string(117 - header.size(), ' ');
  header += '\n';
  std::string b = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + header;
  for (int v = 1; v <= 6; ++v) {
    b += static_cast<char>(v);
    b += std::string(3, '\0');
  }
  return b;
}

std::string npy_v1(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string b = "\x93NUMPY";
  b += '\x01';
  b += '\x00';
  b += static_cast<char>(header.size() & 0xff);
  b += static_cast<char>(header.size() >> 8);
  return b + header + data;
}

// T is the storage type (uint8_t for kBool, since std::vector<bool> has no data()).
template <typename T>
void expect_round_trip(const TempDir& dir, DType dtype, Shape shape, const std::vector<T>& values) {
  Tensor t = Tensor::zeros(dtype, shape);
  ASSERT_EQ(t.nbytes(), values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(t.raw(), values.data(), t.nbytes());
  const std::string p = dir.file("rt.npy");
  ASSERT_TRUE(write_npy(t, p).is_ok());
  Result<Tensor> back = read_npy(p);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->dtype(), dtype);
  EXPECT_EQ(back->shape(), shape);
  ASSERT_EQ(back->nbytes(), values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    T v;
    std::memcpy(&v, static_cast<const uint8_t*>(back->raw()) + i * sizeof(T), sizeof(T));
    EXPECT_EQ(std::memcmp(&v, &values[i], sizeof(T)), 0) << dtype_name(dtype) << " element " << i;
  }
  // The header is padded so the data starts on a 64-byte boundary.
  const std::vector<uint8_t> bytes = testing::read_bytes(p);
  EXPECT_EQ((bytes.size() - t.nbytes()) % 64, 0u);
}

TEST(DataNpy, RoundTripsEveryDtype) {
  TempDir dir;
  expect_round_trip<float>(dir, DType::kF32, {2, 3}, {0.5f, -1.25f, 3e38f, -0.0f, 1e-40f, 7.0f});
  expect_round_trip<int8_t>(dir, DType::kI8, {4}, {-128, -1, 0, 127});
  expect_round_trip<uint8_t>(dir, DType::kU8, {2, 2}, {0, 1, 128, 255});
  expect_round_trip<int32_t>(dir, DType::kI32, {3}, {INT32_MIN, -7, INT32_MAX});
  expect_round_trip<int64_t>(dir, DType::kI64, {1, 3}, {INT64_MIN, 42, INT64_MAX});
  expect_round_trip<uint8_t>(dir, DType::kBool, {3}, {1, 0, 1});
  expect_round_trip<float>(dir, DType::kF32, {}, {2.5f});
  expect_round_trip<uint8_t>(dir, DType::kU8, {0, 3}, {});
  expect_round_trip<float>(dir, DType::kF32, {2, 1, 1, 1, 2}, {1, 2, 3, 4});
}

TEST(DataNpy, ReadsNumpyBytesAndWritesTheSameBytes) {
  TempDir dir;
  const std::string expected = numpy_i4_2x3();
  ASSERT_EQ(expected.size(), 128u + 24u);
  testing::write_bytes(dir.file("np.npy"), expected);
  Result<Tensor> t = read_npy(dir.file("np.npy"));
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  ASSERT_EQ(t->dtype(), DType::kI32);
  ASSERT_EQ(t->shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t->data<int32_t>()[i], i + 1);
  // Our writer produces numpy's exact bytes.
  ASSERT_TRUE(write_npy(*t, dir.file("ours.npy")).is_ok());
  const std::vector<uint8_t> ours = testing::read_bytes(dir.file("ours.npy"));
  EXPECT_EQ(std::string(ours.begin(), ours.end()), expected);
}

TEST(DataNpy, ConvertsF8AndBigEndianAndReadsV2V3) {
  TempDir dir;
  {  // <f8 [2]: 0.1 and -2.5 -> float32
    std::string data(16, '\0');
    const double v[2] = {0.1, -2.5};
    std::memcpy(data.data(), v, 16);
    testing::write_bytes(dir.file("f8.npy"), npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data));
    Result<Tensor> t = read_npy(dir.file("f8.npy"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    ASSERT_EQ(t->dtype(), DType::kF32);
    EXPECT_EQ(t->data<float>()[0], static_cast<float>(0.1));
    EXPECT_EQ(t->data<float>()[1], -2.5f);
  }
  {  // >i4 [2] = {1, -2}; Python-2 style "2L" and double-quoted keys also parse
    const std::string data("\x00\x00\x00\x01\xff\xff\xff\xfe", 8);
    testing::write_bytes(dir.file("be.npy"), npy_v1("{\"descr\": \">i4\", \"fortran_order\": False, \"shape\": (2L,)}", data));
    Result<Tensor> t = read_npy(dir.file("be.npy"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    EXPECT_EQ(t->data<int32_t>()[0], 1);
    EXPECT_EQ(t->data<int32_t>()[1], -2);
  }
  {  // >f4 [1] = 1.5 (0x3fc00000)
    const std::string data("\x3f\xc0\x00\x00", 4);
    testing::write_bytes(dir.file("bef.npy"), npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data));
    Result<Tensor> t = read_npy(dir.file("bef.npy"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    EXPECT_EQ(t->data<float>()[0], 1.5f);
  }
  for (int version : {2, 3}) {  // 4-byte header length
    std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    while ((12 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string b = "\x93NUMPY";
    b += static_cast<char>(version);
    b += '\0';
    b += static_cast<char>(header.size());
    b += std::string(3, '\0');
    b += header + "\x07\x08\x09";
    testing::write_bytes(dir.file("v.npy"), b);
    Result<Tensor> t = read_npy(dir.file("v.npy"));
    ASSERT_TRUE(t.is_ok()) << version << ": " << t.status().message();
    EXPECT_EQ(t->data<uint8_t>()[2], 9);
  }
  {  // bool bytes other than 0/1 read as true
    testing::write_bytes(dir.file("b.npy"),
                         npy_v1("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x00\x02\x01", 3)));
    Result<Tensor> t = read_npy(dir.file("b.npy"));
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    EXPECT_EQ(t->data<bool>()[0], false);
    EXPECT_EQ(t->data<bool>()[1], true);
    EXPECT_EQ(t->data<bool>()[2], true);
  }
}

TEST(DataNpy, HostileHeadersAreErrorsNamingTheFile) {
  TempDir dir;
  const std::string ok_data(24, '\0');
  struct Case {
    std::string bytes;
    const char* expect;
  };
  std::vector<Case> cases = {
      {std::string("\x93NUMPZ\x01\x00\x10\x00", 10), "bad magic"},
      {std::string("\x93NUMPY\x04\x00\x10\x00", 10), "version 4.0"},
      {std::string("\x93NUMPY\x01\x00\xff\xff", 10) + "{'descr'", "runs past the end"},
      {std::string("\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12) + "{}", "over the"},
      {std::string("\x93NUMPY\x01", 7), "truncated"},
      {npy_v1("['descr', '<i4']", ok_data), "not a dict"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 'a'), }", ok_data), "other than integers"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2, -3), }", ok_data), "negative"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3, }", ok_data), "bad header"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': 6, }", ok_data), "not a tuple"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", ok_data),
       "out of range"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (4294967296, 4), }", ok_data), "limit"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", ok_data), "overflow"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (1000000,), }", ok_data),
       "truncated: expected 4000000 bytes of data, found 24"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", ok_data), "16 bytes of unexpected data"},
      {npy_v1("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", ok_data), "fortran_order True"},
      {npy_v1("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", ok_data), "unsupported dtype '<c8'"},
      {npy_v1("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (6,), }", ok_data), "structured"},
      {npy_v1("{'descr': '<i4', 'shape': (6,), }", ok_data), "lacks"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (6,), 'x': 1}", ok_data), "unexpected header key"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (6,)} junk", ok_data), "after the dict"},
      {npy_v1("{'descr': '<i4", ok_data), "unterminated"},
      {npy_v1(std::string(500, '(') + std::string(500, ')'), ok_data), "nested too deeply"},
      {npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", ""), "truncated"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string p = dir.file(fmt::format("h{}.npy", i));
    testing::write_bytes(p, cases[i].bytes);
    Result<Tensor> t = read_npy(p);
    ASSERT_FALSE(t.is_ok()) << "case " << i;
    EXPECT_TRUE(contains(t.status().message(), cases[i].expect)) << "case " << i << ": " << t.status().message();
    EXPECT_TRUE(contains(t.status().message(), p)) << "case " << i << ": " << t.status().message();
  }
}

TEST(DataNpy, EveryTruncationOfAValidFileIsAnError) {
  TempDir dir;
  const std::string full = numpy_i4_2x3();
  for (size_t n = 0; n < full.size(); ++n) {
    testing::write_bytes(dir.file("cut.npy"), full.substr(0, n));
    EXPECT_FALSE(read_npy(dir.file("cut.npy")).is_ok()) << n;
  }
}

TEST(DataNpy, MutatedHeadersNeverCrash) {
  TempDir dir;
  const std::string full = numpy_i4_2x3();
  const std::string interesting = "(){}[],:'\"0123456789-LTFNrue ";
  uint32_t rng = 2024;
  auto next = [&rng] { return rng = rng * 1664525u + 1013904223u, rng >> 8; };
  for (int iter = 0; iter < 300; ++iter) {
    std::string m = full;
    const int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = next() % 128;  // preamble and header
      m[at] = (next() & 1) ? interesting[next() % interesting.size()] : static_cast<char>(next() & 0xff);
    }
    testing::write_bytes(dir.file("m.npy"), m);
    Result<Tensor> t = read_npy(dir.file("m.npy"));
    if (t.is_ok()) {  // anything accepted is backed by the bytes in the file (>= 1 byte per element)
      EXPECT_LE(t->numel(), 142);
    } else {
      EXPECT_FALSE(t.status().message().empty());
    }
  }
}

TEST(DataNpy, WriteIsAtomicAndLeavesNoTemporaries) {
  TempDir dir;
  const Tensor a = Tensor::from_vector<float>({2}, {1, 2});
  const Tensor b = Tensor::from_vector<float>({3}, {3, 4, 5});
  ASSERT_TRUE(write_npy(a, dir.file("x.npy")).is_ok());
  ASSERT_TRUE(write_npy(b, dir.file("x.npy")).is_ok());
  Result<Tensor> back = read_npy(dir.file("x.npy"));
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->shape(), (Shape{3}));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(e.path().filename().string(), "x.npy");
  }
  EXPECT_EQ(files, 1);
  // Into a missing folder: an error, and nothing created.
  Status st = write_npy(a, dir.file("missing/y.npy"));
  ASSERT_FALSE(st.is_ok());
  EXPECT_TRUE(contains(st.message(), dir.file("missing/y.npy"))) << st.message();
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing")));
  EXPECT_FALSE(write_npy(Tensor(), dir.file("undefined.npy")).is_ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("undefined.npy")));
}

TEST(DataNpy, ReadsGzippedNpy) {
  TempDir dir;
  const std::string full = numpy_i4_2x3();
  testing::write_gzip(dir.file("a.npy.gz"), std::vector<uint8_t>(full.begin(), full.end()));
  Result<Tensor> t = read_npy(dir.file("a.npy.gz"));
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->data<int32_t>()[5], 6);
}

}  // namespace
}  // namespace lowbit::data
