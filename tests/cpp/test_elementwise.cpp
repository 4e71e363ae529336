// Elementwise kernels against a naive per-index reference, at odd sizes,
// broadcast both ways and on non-contiguous views.
#include "ops/elementwise.h"
#include "testing.h"

namespace ember {
namespace {

using testing::at;

double reference(BinaryOp op, double x, double y) {
  switch (op) {
    case BinaryOp::add: return x + y;
    case BinaryOp::sub: return x - y;
    case BinaryOp::mul: return x * y;
    case BinaryOp::div: return x / y;
  }
  return 0;
}

// Reads a at the broadcast index of `out_index`.
double broadcast_at(const Tensor& t, const Shape& out_index) {
  Shape idx(t.dim());
  size_t lead = out_index.size() - t.dim();
  for (int64_t d = 0; d < t.dim(); ++d) idx[d] = t.size(d) == 1 ? 0 : out_index[lead + d];
  return at<float>(t, idx);
}

void check_binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = binary(op, a, b);
  std::vector<double> expected;
  testing::for_each_index(out.shape(), [&](const Shape& i) {
    expected.push_back(float(reference(op, broadcast_at(a, i), broadcast_at(b, i))));
  });
  testing::expect_close(out, expected, 1e-6, 1e-7);
}

TEST(Elementwise, BinaryOpsOddSizesAndBroadcasting) {
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
    for (int64_t n : {1, 7, 33, 129}) {
      Tensor a = testing::random_tensor({n, 5}, DType::float32, 0.5, 2);
      Tensor b = testing::random_tensor({n, 5}, DType::float32, 0.5, 2);
      check_binary(op, a, b);
      check_binary(op, a, testing::random_tensor({5}, DType::float32, 0.5, 2));
      check_binary(op, testing::random_tensor({n, 1}, DType::float32, 0.5, 2), b);
      check_binary(op, a.t(), testing::random_tensor({5, 1}, DType::float32, 0.5, 2));
      check_binary(op, a.slice(0, 0, n, 2), b.slice(0, 0, n, 2));
    }
  }
}

TEST(Elementwise, LargeTensorsSplitAcrossThreads) {
  Tensor a = testing::random_tensor({301, 1021});
  Tensor b = testing::random_tensor({1021});
  check_binary(BinaryOp::mul, a, b);
}

TEST(Elementwise, InPlaceAndPromotion) {
  Tensor a = Tensor::full({3}, Scalar(2.0), DType::float32);
  Tensor b = Tensor::full({1}, Scalar(int64_t(3)), DType::int64);
  binary_(BinaryOp::add, a, b);
  testing::expect_close(a, {5, 5, 5});
  EXPECT_EQ(binary(BinaryOp::div, b, b).dtype(), DType::float32);
  Tensor i = Tensor::full({2}, Scalar(int64_t(1)), DType::int64);
  EXPECT_THROW(binary_(BinaryOp::mul, i, a.slice(0, 0, 2)), Error);
  EXPECT_THROW(binary(BinaryOp::add, Tensor::zeros({2, 3}), Tensor::zeros({3, 2})), Error);
}

}  // namespace
}  // namespace ember
