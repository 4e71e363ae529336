// Reduction, softmax and cumsum kernels (forward and backward) against naive
// per-index references, at odd sizes, over several dim sets and on
// non-contiguous views.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/parallel.h"
#include "ops/reduce.h"
#include "testing.h"

namespace ember {
namespace {

using Values = std::vector<double>;
using RowFn = std::function<double(const Values&)>;
constexpr double kInf = std::numeric_limits<double>::infinity();

// The values of x grouped by output position (row-major over the kept dims).
std::vector<Values> groups(const Tensor& x, const Shape& dims) {
  Shape rdims = reduction_dims(dims, x.dim(), "test");
  Shape kept = reduced_shape(x.shape(), rdims, true);
  int64_t outputs = 1;
  for (int64_t s : kept) outputs *= s;
  std::vector<Values> out(outputs);
  testing::for_each_index(x.shape(), [&](const Shape& i) {
    int64_t flat = 0;
    for (int64_t d = 0; d < x.dim(); ++d) flat = flat * kept[d] + (kept[d] == 1 ? 0 : i[d]);
    out[flat].push_back(testing::at<double>(x, i));
  });
  return out;
}

Values reference(const Tensor& x, const Shape& dims, const RowFn& f) {
  Values out;
  for (const Values& g : groups(x, dims)) out.push_back(f(g));
  return out;
}

double row_sum(const Values& v) {
  double s = 0;
  for (double e : v) s += e;
  return s;
}
double row_mean(const Values& v) { return row_sum(v) / double(v.size()); }
double row_var(const Values& v, double correction) {
  double m = row_mean(v), s = 0;
  for (double e : v) s += (e - m) * (e - m);
  return s / (double(v.size()) - correction);
}

// Float64 inputs of several layouts: contiguous, permuted, sliced.
std::vector<Tensor> layouts(int64_t n) {
  Tensor base = testing::random_tensor({n, 5, 3}, DType::float64);
  Tensor wide = testing::random_tensor({n, 5, 6}, DType::float64);
  return {base, testing::random_tensor({3, n, 5}, DType::float64).permute({1, 2, 0}),
          wide.slice(2, 0, 6, 2)};
}

const std::vector<Shape> kDimSets = {Shape{}, Shape{0}, Shape{1}, Shape{2}, Shape{0, 2},
                                     Shape{0, 1}, Shape{-1, 1}};

TEST(Reduce, MomentsAndProductsOddSizesAndLayouts) {
  for (int64_t n : {1, 7, 33, 129}) {
    for (const Tensor& x : layouts(n)) {
      for (const Shape& dims : kDimSets) {
        testing::expect_close(sum(x, dims), reference(x, dims, row_sum), 1e-12, 1e-12);
        testing::expect_close(mean(x, dims, true), reference(x, dims, row_mean), 1e-12, 1e-12);
        testing::expect_close(prod(x, dims), reference(x, dims, [](const Values& v) {
          double p = 1;
          for (double e : v) p *= e;
          return p;
        }), 1e-10, 1e-300);
        for (double c : {0.0, 1.0}) {
          testing::expect_close(var(x, dims, c), reference(x, dims, [c](const Values& v) {
            return row_var(v, c);
          }), 1e-10, 1e-12);
          testing::expect_close(stddev(x, dims, c), reference(x, dims, [c](const Values& v) {
            return std::sqrt(row_var(v, c));
          }), 1e-10, 1e-12);
        }
      }
    }
  }
}

TEST(Reduce, ExtremesLogsumexpAndNorms) {
  for (int64_t n : {1, 7, 33, 129}) {
    for (const Tensor& x : layouts(n)) {
      for (const Shape& dims : kDimSets) {
        auto mx = [](const Values& v) { return *std::max_element(v.begin(), v.end()); };
        auto mn = [](const Values& v) { return *std::min_element(v.begin(), v.end()); };
        testing::expect_close(amax(x, dims), reference(x, dims, mx), 0, 0);
        testing::expect_close(amin(x, dims, true), reference(x, dims, mn), 0, 0);
        testing::expect_close(logsumexp(x, dims), reference(x, dims, [](const Values& v) {
          double s = 0;
          for (double e : v) s += std::exp(e);
          return std::log(s);
        }), 1e-12, 1e-12);
        for (double p : {2.0, 1.0, 3.0, 0.0, kInf, -kInf}) {
          testing::expect_close(norm(x, p, dims), reference(x, dims, [p](const Values& v) {
            if (std::isinf(p)) {
              double best = std::fabs(v[0]);
              for (double e : v)
                best = p > 0 ? std::max(best, std::fabs(e)) : std::min(best, std::fabs(e));
              return best;
            }
            double s = 0;
            for (double e : v) s += p == 0 ? double(e != 0) : std::pow(std::fabs(e), p);
            return p == 0 ? s : std::pow(s, 1 / p);
          }), 1e-10, 1e-12);
        }
      }
    }
  }
}

TEST(Reduce, FloatRowsAccumulateWide) {
  Tensor x = Tensor::full({3, 1 << 18}, Scalar(0.1), DType::float32);
  testing::expect_close(mean(x, {1}), Values(3, 0.1), 1e-6, 0);
  testing::expect_close(var(x, {1}), Values(3, 0.0), 0, 1e-6);
  testing::expect_close(norm(x, 2, {1}), Values(3, 0.1 * 512), 1e-6, 0);
}

TEST(Reduce, MaxMinWithIndicesAndArgmax) {
  for (int64_t n : {1, 7, 33, 129}) {
    for (const Tensor& x : layouts(n)) {
      for (int64_t dim : {0, 1, 2}) {
        auto [values, indices] = max_dim(x, dim, false);
        auto [min_values, min_indices] = min_dim(x, dim, true);
        Values want_values, want_idx, want_min, want_min_idx;
        for (const Values& g : groups(x, {dim})) {
          auto hi = std::max_element(g.begin(), g.end());
          auto lo = std::min_element(g.begin(), g.end());
          want_values.push_back(*hi);
          want_idx.push_back(double(hi - g.begin()));
          want_min.push_back(*lo);
          want_min_idx.push_back(double(lo - g.begin()));
        }
        testing::expect_close(values, want_values, 0, 0);
        testing::expect_close(indices, want_idx, 0, 0);
        testing::expect_close(min_values, want_min, 0, 0);
        testing::expect_close(min_indices, want_min_idx, 0, 0);
        testing::expect_close(argmax(x, dim), want_idx, 0, 0);
      }
      Values flat = groups(x, {})[0];
      EXPECT_EQ(argmax(x).item().to<int64_t>(),
                std::max_element(flat.begin(), flat.end()) - flat.begin());
      EXPECT_EQ(argmin(x).item().to<int64_t>(),
                std::min_element(flat.begin(), flat.end()) - flat.begin());
    }
  }
}

TEST(Reduce, NanPropagatesAndIntegersWork) {
  Tensor x = Tensor::zeros({5}, DType::float32);
  x.slice(0, 2, 3).fill_(Scalar(NAN));
  EXPECT_TRUE(std::isnan(amax(x).item().to<double>()));
  EXPECT_EQ(argmax(x).item().to<int64_t>(), 2);
  EXPECT_EQ(argmin(x).item().to<int64_t>(), 2);
  Tensor ints = Tensor::full({4, 3}, Scalar(int64_t(3)), DType::int32);
  EXPECT_EQ(prod(ints).dtype(), DType::int64);
  EXPECT_EQ(prod(ints).item().to<int64_t>(), 531441);
  EXPECT_EQ(amax(ints).item().to<int64_t>(), 3);
  EXPECT_EQ(cumsum(ints, 0).select(0, 3).select(0, 0).item().to<int64_t>(), 12);
}

TEST(Reduce, BackwardKernelsAgainstNaiveFormulas) {
  for (int64_t n : {1, 7, 33}) {
    for (const Tensor& x : layouts(n)) {
      for (const Shape& dims : {Shape{1}, Shape{0, 2}, Shape{}}) {
        Shape rdims = reduction_dims(dims, x.dim(), "test");
        Tensor grad = testing::random_tensor(reduced_shape(x.shape(), rdims, true), DType::float64);
        Values g = testing::values(grad);
        // Each element's position in its group, to read the naive answer back.
        std::vector<Values> gx = groups(x, dims);
        Tensor prod_grad = prod_backward(grad, x, dims);
        Tensor weights = extreme_weights(x, amax(x, dims, true), dims);
        Tensor norm_grad = norm_backward(grad, x, norm(x, 2, dims, true), 2, dims);
        Shape kept = reduced_shape(x.shape(), rdims, true);
        std::vector<int64_t> seen(gx.size(), 0);
        Values want_prod, want_weights, want_norm;
        testing::for_each_index(x.shape(), [&](const Shape& i) {
          int64_t flat = 0;
          for (int64_t d = 0; d < x.dim(); ++d) flat = flat * kept[d] + (kept[d] == 1 ? 0 : i[d]);
          const Values& v = gx[flat];
          int64_t self = seen[flat]++;
          double others = 1, top = *std::max_element(v.begin(), v.end()), sq = 0;
          for (size_t k = 0; k < v.size(); ++k) {
            if (int64_t(k) != self) others *= v[k];
            sq += v[k] * v[k];
          }
          want_prod.push_back(g[flat] * others);
          want_weights.push_back(v[self] == top ? 1.0 : 0.0);
          want_norm.push_back(g[flat] * v[self] / std::sqrt(sq));
        });
        // Compare in x's row-major order.
        testing::expect_close(prod_grad, want_prod, 1e-10, 1e-12);
        testing::expect_close(weights, want_weights, 0, 0);
        testing::expect_close(norm_grad, want_norm, 1e-10, 1e-12);
      }
    }
  }
}

TEST(Reduce, ProdBackwardExactWithZeros) {
  Tensor x = Tensor::zeros({3, 3}, DType::float64);
  double* p = x.data<double>();
  double vals[9] = {0, 2, 3, 0, 0, 4, 1, 2, 3};
  std::copy(vals, vals + 9, p);
  Tensor grad = Tensor::ones({3, 1}, DType::float64);
  testing::expect_close(prod_backward(grad, x, {1}), {6, 0, 0, 0, 0, 0, 6, 3, 2}, 0, 0);
}

TEST(Reduce, BadArgumentsThrow) {
  Tensor x = Tensor::zeros({2, 3});
  EXPECT_THROW(sum(x, {2}), Error);
  EXPECT_THROW(sum(x, {1, -1}), Error);
  EXPECT_THROW(amax(Tensor::zeros({0, 3}), {0}), Error);
  EXPECT_THROW(max_dim(Tensor::zeros({2, 0}), 1), Error);
  EXPECT_THROW(argmax(Tensor::zeros({0})), Error);
  EXPECT_THROW(mean(Tensor::zeros({2}, DType::int64)), Error);
  EXPECT_THROW(var(Tensor::zeros({2}, DType::int32)), Error);
  EXPECT_THROW(norm(x, NAN), Error);
  EXPECT_THROW(prod_backward(Tensor::zeros({2}), x, {1}), Error);
  EXPECT_THROW(softmax_backward(Tensor::zeros({2, 2}), x, 1), Error);
}

// Naive softmax along `dim` of a float64 tensor, in row-major order.
Values naive_softmax(const Tensor& x, int64_t dim, bool log) {
  Values out;
  testing::for_each_index(x.shape(), [&](const Shape& i) {
    Shape j = i;
    double peak = -kInf, total = 0;
    for (j[dim] = 0; j[dim] < x.size(dim); ++j[dim])
      peak = std::max(peak, testing::at<double>(x, j));
    for (j[dim] = 0; j[dim] < x.size(dim); ++j[dim])
      total += std::exp(testing::at<double>(x, j) - peak);
    double v = testing::at<double>(x, i) - peak;
    out.push_back(log ? v - std::log(total) : std::exp(v) / total);
  });
  return out;
}

TEST(Softmax, ForwardOddSizesEveryDimAndLayout) {
  for (int64_t n : {1, 7, 33, 129, 300}) {
    for (const Tensor& x : layouts(n)) {
      for (int64_t dim : {0, 1, 2, -1}) {
        int64_t d = dim < 0 ? dim + 3 : dim;
        testing::expect_close(softmax(x, dim), naive_softmax(x, d, false), 1e-12, 1e-15);
        testing::expect_close(log_softmax(x, dim), naive_softmax(x, d, true), 1e-12, 1e-12);
      }
    }
  }
}

TEST(Softmax, FloatIsStableForLargeInputs) {
  Tensor x = Tensor::full({2, 5}, Scalar(1000.0), DType::float32);
  testing::expect_close(softmax(x, 1), Values(10, 0.2), 1e-6, 0);
  testing::expect_close(log_softmax(x, 0), Values(10, -std::log(2.0)), 1e-6, 0);
}

TEST(Softmax, FusedBackwardAgainstNaive) {
  for (int64_t n : {1, 7, 33, 129}) {
    for (const Tensor& x : layouts(n)) {
      for (int64_t dim : {0, 1, 2}) {
        for (bool log : {false, true}) {
          Tensor y = log ? log_softmax(x, dim) : softmax(x, dim);
          Tensor grad = testing::random_tensor(x.shape(), DType::float64).permute({0, 1, 2});
          Tensor gx = log ? log_softmax_backward(grad, y, dim) : softmax_backward(grad, y, dim);
          Values want;
          testing::for_each_index(x.shape(), [&](const Shape& i) {
            Shape j = i;
            double dot = 0;
            for (j[dim] = 0; j[dim] < x.size(dim); ++j[dim])
              dot += log ? testing::at<double>(grad, j)
                         : testing::at<double>(grad, j) * testing::at<double>(y, j);
            double g = testing::at<double>(grad, i), yv = testing::at<double>(y, i);
            want.push_back(log ? g - std::exp(yv) * dot : yv * (g - dot));
          });
          testing::expect_close(gx, want, 1e-10, 1e-12);
        }
      }
    }
  }
}

TEST(Reduce, CumsumForwardAndReverse) {
  for (int64_t n : {1, 7, 33, 129, 300}) {
    for (const Tensor& x : layouts(n)) {
      for (int64_t dim : {0, 1, 2}) {
        for (bool reverse : {false, true}) {
          Values want;
          testing::for_each_index(x.shape(), [&](const Shape& i) {
            Shape j = i;
            double s = 0;
            for (j[dim] = 0; j[dim] < x.size(dim); ++j[dim])
              if (reverse ? j[dim] >= i[dim] : j[dim] <= i[dim]) s += testing::at<double>(x, j);
            want.push_back(s);
          });
          testing::expect_close(cumsum(x, dim, reverse), want, 1e-12, 1e-12);
        }
      }
    }
  }
}

TEST(Reduce, LargeInputsSplitAcrossThreads) {
  Tensor x = testing::random_tensor({301, 1021}, DType::float64);
  for (const Shape& dims : {Shape{0}, Shape{1}}) {
    testing::expect_close(sum(x, dims), reference(x, dims, row_sum), 1e-12, 1e-12);
    testing::expect_close(amax(x, dims), reference(x, dims, [](const Values& v) {
      return *std::max_element(v.begin(), v.end());
    }), 0, 0);
  }
  // The column kernel (dim 0) against the row kernel on the transposed copy,
  // each checked against the naive reference above.
  Tensor rows = x.t().contiguous();
  testing::expect_close(softmax(x, 0).t(), testing::values(softmax(rows, 1)), 1e-12, 1e-15);
  testing::expect_close(log_softmax(x, 0).t(), testing::values(log_softmax(rows, 1)), 1e-12, 1e-12);
  testing::expect_close(sum(softmax(x, 0), {0}), Values(1021, 1.0), 1e-12, 0);
  Tensor reversed = cumsum(x, 0, true);
  testing::expect_close(reversed.select(0, 0), testing::values(sum(x, {0})), 1e-12, 1e-12);
}

// A full sum is split into fixed chunks summed on all threads: exact chunk
// multiples, odd tails and a strided view, and the same bits at 1 and 2
// threads.
TEST(Reduce, FullSumOfLongInputsIsChunked) {
  const int threads = get_num_threads();
  for (DType dtype : {DType::float32, DType::float64, DType::int64})
    for (int64_t n : {int64_t(1) << 17, (int64_t(1) << 17) + 1, 5 * (int64_t(1) << 16) + 777}) {
      SCOPED_TRACE(::testing::Message() << dtype_name(dtype) << " n=" << n);
      Tensor x = dtype == DType::int64 ? testing::random_tensor({n}, DType::float64, -1000, 1000)
                                             .to(DType::int64)
                                       : testing::random_tensor({n}, dtype);
      const Values v = testing::values(x);
      double want = 0, scale = 0;
      for (double e : v) want += e, scale += std::fabs(e);
      const double tol = dtype == DType::float32 ? 1e-6 * scale : 1e-12 * scale;
      Tensor got = sum(x, {0});
      testing::expect_close(got, Values{want}, 0, tol);
      set_num_threads(1);
      Tensor serial = sum(x, {0});
      set_num_threads(threads);
      EXPECT_EQ(testing::values(serial), testing::values(got));
      testing::expect_close(sum(testing::strided_copy(x), {0}), Values{want}, 0, tol);
    }
}

}  // namespace
}  // namespace ember
