// tensor_pb_test.cc: standalone TensorProto .pb files (ONNX test data format) — read, write, errors.
#include "onnx/tensor_pb.h"

#include <cstring>

#include <gtest/gtest.h>

#include "onnx_test_util.h"

namespace lowbit::onnx {
namespace {

using namespace lowbit::onnx::testing;

void save_tensor(const TensorProto& t, const std::string& path) {
  std::string s;
  ASSERT_TRUE(t.SerializeToString(&s));
  write_bytes(path, s);
}

TEST(OnnxTensorPb, ReadsTypedFloatData) {
  TempDir tmp;
  const std::string path = tmp.path("input_0.pb");
  save_tensor(float_tensor("x", {1, 2, 2}, {0.5f, 1.5f, -2.0f, 8.0f}), path);
  Result<NamedTensor> r = read_named_tensor_pb(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->name, "x");
  EXPECT_EQ(r->tensor.shape(), (Shape{1, 2, 2}));
  const float* d = r->tensor.data<float>();
  EXPECT_EQ(std::vector<float>(d, d + 4), (std::vector<float>{0.5f, 1.5f, -2.0f, 8.0f}));
}

TEST(OnnxTensorPb, WriteThenReadIsBitExact) {
  TempDir tmp;
  Tensor i64 = Tensor::from_vector<int64_t>({2, 2}, {INT64_MIN, -1, 0, INT64_MAX});
  Tensor u8 = Tensor::from_vector<uint8_t>({3}, {0, 128, 255});
  Tensor f = Tensor::from_vector<float>({}, {-0.0f});  // a scalar
  for (const auto& [name, t] : std::vector<std::pair<std::string, Tensor>>{{"a", i64}, {"b", u8}, {"c", f}}) {
    const std::string path = tmp.path(name + ".pb");
    ASSERT_TRUE(write_tensor_pb(t, name, path).is_ok());
    Result<NamedTensor> r = read_named_tensor_pb(path);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    EXPECT_EQ(r->name, name);
    EXPECT_EQ(r->tensor.dtype(), t.dtype());
    EXPECT_EQ(r->tensor.shape(), t.shape());
    ASSERT_EQ(r->tensor.nbytes(), t.nbytes());
    EXPECT_EQ(std::memcmp(r->tensor.raw(), t.raw(), t.nbytes()), 0);
  }
}

TEST(OnnxTensorPb, ExternalDataBesideThePbFile) {
  TempDir tmp;
  const std::vector<int32_t> v = {7, -8, 9};
  write_bytes(tmp.path("x.bin"), std::string(reinterpret_cast<const char*>(v.data()), 12));
  TensorProto t;
  t.set_data_type(TensorProto::INT32);
  t.add_dims(3);
  t.set_data_location(TensorProto::EXTERNAL);
  ::onnx::StringStringEntryProto* e = t.add_external_data();
  e->set_key("location");
  e->set_value("x.bin");
  save_tensor(t, tmp.path("x.pb"));
  Result<Tensor> r = read_tensor_pb(tmp.path("x.pb"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(std::vector<int32_t>(r->data<int32_t>(), r->data<int32_t>() + 3), v);
}

TEST(OnnxTensorPb, Errors) {
  TempDir tmp;
  const std::string missing = tmp.path("missing.pb");
  Result<Tensor> r1 = read_tensor_pb(missing);
  ASSERT_FALSE(r1.is_ok());
  EXPECT_EQ(r1.status().message(), missing + ": no such file");

  const std::string empty = tmp.path("empty.pb");
  write_bytes(empty, "");
  Result<Tensor> r2 = read_tensor_pb(empty);
  ASSERT_FALSE(r2.is_ok());
  EXPECT_EQ(r2.status().message(), empty + ": is empty (0 bytes), not a valid ONNX TensorProto file");

  const std::string text = tmp.path("text.pb");
  write_bytes(text, "\x0a\xff\xff not a tensor");
  Result<Tensor> r3 = read_tensor_pb(text);
  ASSERT_FALSE(r3.is_ok());
  EXPECT_EQ(r3.status().message(), text + ": is not a valid ONNX TensorProto file (protobuf parse failed)");

  const std::string short_data = tmp.path("short.pb");
  save_tensor(float_tensor("x", {3}, {1.0f}), short_data);
  Result<Tensor> r4 = read_tensor_pb(short_data);
  ASSERT_FALSE(r4.is_ok());
  EXPECT_EQ(r4.status().message(), short_data + ": tensor 'x' has 1 values in float_data, too few for dims [3] (3 elements)");

  Status s = write_tensor_pb(Tensor(), "t", tmp.path("undefined.pb"));
  EXPECT_FALSE(s.is_ok());
}

}  // namespace
}  // namespace lowbit::onnx
