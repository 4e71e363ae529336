// Reductions against a naive per-index reference over several dim sets.
#include "ops/reduce.h"
#include "testing.h"

namespace ember {
namespace {

void check_sum(const Tensor& x, const Shape& dims, bool keepdim) {
  Shape rdims = reduction_dims(dims, x.dim(), "sum");
  Tensor out = sum(x, dims, keepdim);
  Shape kept_shape = reduced_shape(x.shape(), rdims, true);
  std::vector<double> expected(out.numel(), 0.0);
  testing::for_each_index(x.shape(), [&](const Shape& i) {
    int64_t flat = 0;
    for (int64_t d = 0; d < x.dim(); ++d) flat = flat * kept_shape[d] + (kept_shape[d] == 1 ? 0 : i[d]);
    expected[flat] += testing::at<float>(x, i);
  });
  EXPECT_EQ(out.shape(), reduced_shape(x.shape(), rdims, keepdim));
  testing::expect_close(out, expected, 1e-5, 1e-5);
}

TEST(Reduce, SumOverDimSetsOddSizes) {
  for (int64_t n : {1, 7, 33, 129}) {
    Tensor x = testing::random_tensor({n, 5, 3});
    for (Shape dims : {Shape{}, Shape{0}, Shape{1}, Shape{2}, Shape{0, 2}, Shape{0, 1}, Shape{-1, 1}}) {
      check_sum(x, dims, false);
      check_sum(x, dims, true);
    }
    check_sum(x.permute({2, 0, 1}), {1}, false);
  }
}

TEST(Reduce, LongRowsStayAccurate) {
  Tensor x = Tensor::full({1 << 20}, Scalar(0.1), DType::float32);
  Tensor s = sum(x);
  EXPECT_NEAR(s.item().to<double>(), 0.1f * double(1 << 20), 1.0);
}

TEST(Reduce, BadDims) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_THROW(sum(x, {2}), Error);
  EXPECT_THROW(sum(x, {1, -1}), Error);
}

}  // namespace
}  // namespace ember
