// blas_env_test.cc: the OpenBLAS core type chosen for each CPU feature set.
#include "kernels/fp32/blas_env.h"

#include <string>

#include <gtest/gtest.h>

namespace lowbit::kernels {
namespace {

TEST(BlasEnv, PreferredCoretypeFollowsFeatures) {
  CpuFeatures none;
  EXPECT_EQ(preferred_openblas_coretype(none), nullptr);
  CpuFeatures avx2 = none;
  avx2.avx = avx2.avx2 = avx2.fma = true;
  EXPECT_EQ(std::string(preferred_openblas_coretype(avx2)), "Haswell");
  CpuFeatures avx2_no_fma = avx2;
  avx2_no_fma.fma = false;
  EXPECT_EQ(preferred_openblas_coretype(avx2_no_fma), nullptr);
  CpuFeatures skx = avx2;
  skx.avx512f = skx.avx512bw = skx.avx512vl = skx.avx512dq = true;
  EXPECT_EQ(std::string(preferred_openblas_coretype(skx)), "SkylakeX");
  CpuFeatures knl = avx2;  // AVX-512F without BW/VL (Knights Landing) gets the AVX2 kernels
  knl.avx512f = true;
  EXPECT_EQ(std::string(preferred_openblas_coretype(knl)), "Haswell");
}

}  // namespace
}  // namespace lowbit::kernels
