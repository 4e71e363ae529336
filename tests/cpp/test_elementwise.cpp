// Elementwise kernels against a naive per-index reference, at odd sizes,
// broadcast both ways and on non-contiguous views.
#include <cmath>
#include <limits>

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
    case BinaryOp::floor_divide: return std::floor(x / y);
    case BinaryOp::remainder: return x - std::floor(x / y) * y;
    case BinaryOp::pow: return std::pow(x, y);
    case BinaryOp::maximum: return std::max(x, y);
    case BinaryOp::minimum: return std::min(x, y);
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
  testing::expect_close(out, expected, 1e-5, 1e-5);
}

TEST(Elementwise, BinaryOpsOddSizesAndBroadcasting) {
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div,
                      BinaryOp::floor_divide, BinaryOp::remainder, BinaryOp::pow,
                      BinaryOp::maximum, BinaryOp::minimum}) {
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

template <typename T>
Tensor from_values(const std::vector<T>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, dtype_of<T>::value);
  for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = v[i];
  return t;
}

TEST(Elementwise, IntegerFloorDivideRemainderAndPow) {
  std::vector<int64_t> a{-7, -7, 7, 7, 0, 9, -1};
  std::vector<int64_t> b{2, -2, 2, -2, 3, -4, 5};
  Tensor ta = from_values(a), tb = from_values(b);
  Tensor q = binary(BinaryOp::floor_divide, ta, tb);
  Tensor r = binary(BinaryOp::remainder, ta, tb);
  ASSERT_EQ(q.dtype(), DType::int64);
  std::vector<double> eq, er;
  for (size_t i = 0; i < a.size(); ++i) {
    double f = std::floor(double(a[i]) / double(b[i]));
    eq.push_back(f);
    er.push_back(double(a[i]) - f * double(b[i]));
  }
  testing::expect_close(q, eq, 0, 0);
  testing::expect_close(r, er, 0, 0);
  Tensor lowest = from_values<int64_t>({std::numeric_limits<int64_t>::min(), 7});
  Tensor minus_one = from_values<int64_t>({-1});
  EXPECT_EQ(binary(BinaryOp::floor_divide, lowest, minus_one).data<int64_t>()[0],
            std::numeric_limits<int64_t>::min());
  testing::expect_close(binary(BinaryOp::remainder, lowest, minus_one), {0, 0}, 0, 0);
  Tensor p = binary(BinaryOp::pow, ta, from_values<int64_t>({0, 1, 2, 3, 4, 5, 6}));
  testing::expect_close(p, {1, -7, 49, 343, 0, 59049, 1}, 0, 0);
  EXPECT_THROW(binary(BinaryOp::floor_divide, ta, from_values<int64_t>({0})), Error);
  EXPECT_THROW(binary(BinaryOp::remainder, ta, from_values<int64_t>({1, 0, 1, 1, 1, 1, 1})),
               Error);
  EXPECT_THROW(binary(BinaryOp::pow, ta, from_values<int64_t>({-1})), Error);
  EXPECT_THROW(binary(BinaryOp::pow, from_values<bool>({true}), from_values<bool>({true})), Error);
}

TEST(Elementwise, FloatFloorDivideMatchesPythonAtRoundingEdges) {
  Tensor a = from_values<double>({-7, 7, -0.5, 5.5, 1, -1, 0.3});
  Tensor b = from_values<double>({2, -2, 3, -2.5, 0.1, 0.1, 0.1});
  // Python: 1 // 0.1 == 9.0 and 0.3 // 0.1 == 2.0 (the quotient is computed exactly).
  testing::expect_close(binary(BinaryOp::floor_divide, a, b), {-4, -4, -1, -3, 9, -10, 2}, 0, 0);
  Tensor m = binary(BinaryOp::remainder, a, b);
  testing::expect_close(m, {1, -1, 2.5, -2, std::fmod(1.0, 0.1), 0.1 - std::fmod(1.0, 0.1),
                            std::fmod(0.3, 0.1)}, 1e-12, 1e-15);
}

TEST(Elementwise, MaximumMinimumPropagateNan) {
  Tensor a = from_values<float>({NAN, 1, 2});
  Tensor b = from_values<float>({0, NAN, 3});
  for (BinaryOp op : {BinaryOp::maximum, BinaryOp::minimum}) {
    Tensor out = binary(op, a, b);
    EXPECT_TRUE(std::isnan(out.data<float>()[0]));
    EXPECT_TRUE(std::isnan(out.data<float>()[1]));
  }
}

bool compare_reference(CompareOp op, double x, double y) {
  switch (op) {
    case CompareOp::eq: return x == y;
    case CompareOp::ne: return x != y;
    case CompareOp::lt: return x < y;
    case CompareOp::le: return x <= y;
    case CompareOp::gt: return x > y;
    case CompareOp::ge: return x >= y;
    case CompareOp::logical_and: return x != 0 && y != 0;
    case CompareOp::logical_or: return x != 0 || y != 0;
    case CompareOp::logical_xor: return (x != 0) != (y != 0);
  }
  return false;
}

// Small integers as float, so ties and zeros occur.
Tensor small_integers(const Shape& shape) {
  Tensor t = testing::random_tensor(shape, DType::float32, -2, 2);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::round(p[i]);
  return t;
}

TEST(ElementwiseCompare, AllOpsOddSizesBroadcastAndStrided) {
  for (CompareOp op : {CompareOp::eq, CompareOp::ne, CompareOp::lt, CompareOp::le, CompareOp::gt,
                       CompareOp::ge, CompareOp::logical_and, CompareOp::logical_or,
                       CompareOp::logical_xor}) {
    for (int64_t n : {1, 7, 33, 129}) {
      Tensor a = small_integers({n, 6});
      Tensor b = small_integers({6});
      for (const auto& pair : {std::make_pair(a, b), std::make_pair(a.slice(1, 0, 6, 2),
                                                                    b.slice(0, 1, 6, 2))}) {
        Tensor out = compare(op, pair.first, pair.second);
        ASSERT_EQ(out.dtype(), DType::bool_);
        std::vector<double> expected;
        testing::for_each_index(out.shape(), [&](const Shape& i) {
          expected.push_back(
              compare_reference(op, broadcast_at(pair.first, i), broadcast_at(pair.second, i)));
        });
        testing::expect_close(out, expected, 0, 0);
      }
    }
  }
  Tensor i = from_values<int64_t>({1, 2, 3});
  testing::expect_close(compare(CompareOp::lt, i, from_values<double>({1.5, 1.5, 3.5})),
                        {1, 0, 1}, 0, 0);
  testing::expect_close(compare(CompareOp::logical_and, i, from_values<double>({0, 0.5, 2})),
                        {0, 1, 1}, 0, 0);
  EXPECT_THROW(compare(CompareOp::eq, Tensor::zeros({2, 3}), Tensor::zeros({4})), Error);
}

TEST(ElementwiseWhere, BroadcastsAllThreeAndPromotes) {
  for (int64_t n : {1, 7, 33, 129}) {
    Tensor cond = compare(CompareOp::gt, testing::random_tensor({n, 1}), Tensor::zeros({}));
    Tensor x = testing::random_tensor({5});
    Tensor y = testing::random_tensor({n, 10}).slice(1, 0, 10, 2);
    Tensor out = where(cond, x, y);
    std::vector<double> expected;
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      bool c = at<bool>(cond, {i[0], 0});
      expected.push_back(c ? at<float>(x, {i[1]}) : at<float>(y, i));
    });
    testing::expect_close(out, expected, 0, 0);
  }
  Tensor c = from_values<bool>({true, false});
  EXPECT_EQ(where(c, from_values<int64_t>({1, 2}), from_values<double>({0, 0})).dtype(),
            DType::float64);
  EXPECT_THROW(where(from_values<float>({1, 0}), c, c), Error);
  EXPECT_THROW(where(c, Tensor::zeros({3}), Tensor::zeros({2})), Error);
}

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }

double unary_reference(UnaryOp op, double x, double alpha, double beta) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return std::fabs(x);
    case UnaryOp::sign: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::log1p: return std::log(1 + x);
    case UnaryOp::expm1: return std::exp(x) - 1;
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return 1 / std::sqrt(x);
    case UnaryOp::sin: return std::sin(x);
    case UnaryOp::cos: return std::cos(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return sigmoid_ref(x);
    case UnaryOp::reciprocal: return 1 / x;
    case UnaryOp::square: return x * x;
    case UnaryOp::floor: return std::floor(x);
    case UnaryOp::ceil: return std::ceil(x);
    case UnaryOp::round: return std::nearbyint(x);
    case UnaryOp::trunc: return std::trunc(x);
    case UnaryOp::relu: return x > 0 ? x : 0;
    case UnaryOp::silu: return x * sigmoid_ref(x);
    case UnaryOp::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case UnaryOp::gelu_tanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case UnaryOp::leaky_relu: return x > 0 ? x : alpha * x;
    case UnaryOp::elu: return x > 0 ? x : alpha * (std::exp(x) - 1);
    case UnaryOp::softplus:
      return alpha * x > beta ? x : std::log(1 + std::exp(alpha * x)) / alpha;
    case UnaryOp::logical_not: return x == 0;
    case UnaryOp::bitwise_not: return 0;
  }
  return 0;
}

// Central differences of the reference: the naive derivative.
double derivative_reference(UnaryOp op, double x, double alpha, double beta) {
  const double h = 1e-6;
  return (unary_reference(op, x + h, alpha, beta) - unary_reference(op, x - h, alpha, beta)) /
         (2 * h);
}

const UnaryOp kFloatUnaryOps[] = {
    UnaryOp::neg, UnaryOp::abs, UnaryOp::sign, UnaryOp::exp, UnaryOp::log, UnaryOp::log1p, UnaryOp::expm1,
    UnaryOp::sqrt, UnaryOp::rsqrt, UnaryOp::sin, UnaryOp::cos, UnaryOp::tanh, UnaryOp::sigmoid,
    UnaryOp::reciprocal, UnaryOp::square, UnaryOp::floor, UnaryOp::ceil, UnaryOp::round,
    UnaryOp::trunc, UnaryOp::relu, UnaryOp::silu, UnaryOp::gelu, UnaryOp::gelu_tanh,
    UnaryOp::leaky_relu, UnaryOp::elu, UnaryOp::softplus, UnaryOp::logical_not};

bool positive_domain(UnaryOp op) {
  return op == UnaryOp::log || op == UnaryOp::sqrt || op == UnaryOp::rsqrt ||
         op == UnaryOp::reciprocal;
}

TEST(Unary, EveryOpOddSizesStridedBothFloatTypes) {
  const double alpha = 0.3, beta = 2.0;
  for (UnaryOp op : kFloatUnaryOps) {
    for (DType dtype : {DType::float32, DType::float64}) {
      for (int64_t n : {1, 7, 33, 129, 131}) {
        double low = positive_domain(op) ? 0.1 : -3;
        Tensor wide = testing::random_tensor({n, 6}, dtype, low, 3);
        for (const Tensor& x : {wide, wide.slice(1, 1, 6, 2), wide.t()}) {
          Tensor out = unary(op, x, alpha, beta);
          std::vector<double> expected;
          testing::for_each_index(x.shape(), [&](const Shape& i) {
            double v = dtype == DType::float32 ? at<float>(x, i) : at<double>(x, i);
            expected.push_back(unary_reference(op, v, alpha, beta));
          });
          double tol = dtype == DType::float32 ? 1e-5 : 1e-12;
          testing::expect_close(out, expected, tol, tol);
        }
      }
    }
  }
}

TEST(Unary, IntegerInputsAndInPlace) {
  Tensor i = from_values<int64_t>({-3, 0, 4});
  EXPECT_EQ(unary(UnaryOp::exp, i).dtype(), DType::float32);
  testing::expect_close(unary(UnaryOp::abs, i), {3, 0, 4}, 0, 0);
  testing::expect_close(unary(UnaryOp::neg, i), {3, 0, -4}, 0, 0);
  EXPECT_THROW(unary(UnaryOp::neg, from_values<bool>({true})), Error);
  testing::expect_close(unary(UnaryOp::relu, i), {0, 0, 4}, 0, 0);
  testing::expect_close(unary(UnaryOp::floor, i), {-3, 0, 4}, 0, 0);
  testing::expect_close(unary(UnaryOp::bitwise_not, i), {2, -1, -5}, 0, 0);
  testing::expect_close(unary(UnaryOp::bitwise_not, from_values<bool>({true, false})), {0, 1},
                        0, 0);
  EXPECT_THROW(unary(UnaryOp::bitwise_not, from_values<float>({1})), Error);
  EXPECT_THROW(unary(UnaryOp::abs, from_values<bool>({true})), Error);
  EXPECT_THROW(unary_(UnaryOp::sqrt, i), Error);
  Tensor expanded = Tensor::zeros({1}).expand({3});
  EXPECT_THROW(unary_(UnaryOp::exp, expanded), Error);
  EXPECT_THROW(binary_(BinaryOp::add, expanded, Tensor::ones({3})), Error);
  EXPECT_THROW(clamp_(expanded, Scalar(0.5), std::nullopt), Error);
  EXPECT_THROW(unary(UnaryOp::softplus, i, 0.0, 20.0), Error);
  Tensor x = testing::random_tensor({33, 7});
  Tensor view = x.slice(0, 0, 33, 3);
  Tensor expected = unary(UnaryOp::sigmoid, view);
  unary_(UnaryOp::sigmoid, view);
  testing::expect_close(view, testing::values(expected), 0, 0);
}

TEST(Unary, LargeTensorsSplitAcrossThreads) {
  Tensor x = testing::random_tensor({301, 1021}, DType::float32, -3, 3);
  Tensor out = unary(UnaryOp::gelu, x);
  std::vector<double> expected;
  const float* p = x.data<float>();
  for (int64_t k = 0; k < x.numel(); ++k) expected.push_back(unary_reference(UnaryOp::gelu, p[k], 0, 0));
  testing::expect_close(out, expected, 1e-5, 1e-6);
}

TEST(UnaryBackward, ActivationsMatchNumericalDerivative) {
  const double alpha = 0.3, beta = 2.0;
  for (UnaryOp op : {UnaryOp::relu, UnaryOp::leaky_relu, UnaryOp::elu, UnaryOp::softplus,
                     UnaryOp::silu, UnaryOp::gelu, UnaryOp::gelu_tanh}) {
    for (int64_t n : {1, 7, 33, 129}) {
      Tensor wide = testing::random_tensor({n, 6}, DType::float64, -3, 3);
      Tensor x = wide.slice(1, 0, 6, 2);
      Tensor grad = testing::random_tensor({n, 3}, DType::float64);
      Tensor out = activation_backward(op, grad, x, alpha, beta);
      std::vector<double> expected;
      testing::for_each_index(x.shape(), [&](const Shape& i) {
        expected.push_back(at<double>(grad, i) *
                           derivative_reference(op, at<double>(x, i), alpha, beta));
      });
      testing::expect_close(out, expected, 1e-6, 1e-7);
    }
  }
  EXPECT_THROW(activation_backward(UnaryOp::exp, Tensor::zeros({2}), Tensor::zeros({2})), Error);
  EXPECT_THROW(activation_backward(UnaryOp::relu, Tensor::zeros({2}), Tensor::zeros({3})), Error);
}

TEST(Unary, ClampScalarsNanAndEmptyRange) {
  for (int64_t n : {1, 7, 33, 129}) {
    Tensor x = testing::random_tensor({n, 4}).t();
    Tensor out = clamp(x, Scalar(-0.25), Scalar(0.5));
    std::vector<double> expected;
    testing::for_each_index(x.shape(), [&](const Shape& i) {
      expected.push_back(std::min(std::max(double(at<float>(x, i)), -0.25), 0.5));
    });
    testing::expect_close(out, expected, 0, 0);
  }
  Tensor x = from_values<float>({NAN, -2, 2});
  Tensor lo = clamp(x, Scalar(0.0), std::nullopt);
  EXPECT_TRUE(std::isnan(lo.data<float>()[0]));
  testing::expect_close(lo.slice(0, 1, 3), {0, 2}, 0, 0);
  testing::expect_close(clamp(x, Scalar(1.0), Scalar(0.0)).slice(0, 1, 3), {0, 0}, 0, 0);
  Tensor i = from_values<int64_t>({-5, 5});
  EXPECT_EQ(clamp(i, Scalar(0.5), std::nullopt).dtype(), DType::float32);
  EXPECT_THROW(clamp(i, std::nullopt, std::nullopt), Error);
  EXPECT_THROW(clamp_(i, Scalar(0.5), std::nullopt), Error);
}

}  // namespace
}  // namespace ember
