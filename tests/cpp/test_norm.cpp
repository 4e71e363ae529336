// Normalisation and dropout kernels against naive double-precision
// references (forward) and central differences of those references
// (backward), at odd sizes and on non-contiguous inputs.
#include <functional>

#include "ops/norm.h"
#include "testing.h"

namespace ember {
namespace {

using Values = std::vector<double>;

// Normalises each of `groups` sets of indices (given by group_of) and applies
// per-element affine params: the naive model of all three norms.
Values normalise(const Values& x, const std::function<int64_t(int64_t)>& group_of, int64_t groups,
                 const std::function<double(int64_t)>& scale,
                 const std::function<double(int64_t)>& shift, double eps) {
  Values sum(groups, 0), sq(groups, 0), count(groups, 0);
  for (size_t i = 0; i < x.size(); ++i) {
    sum[group_of(i)] += x[i];
    count[group_of(i)] += 1;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    double d = x[i] - sum[group_of(i)] / count[group_of(i)];
    sq[group_of(i)] += d * d;
  }
  Values out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t g = group_of(i);
    out[i] = (x[i] - sum[g] / count[g]) / std::sqrt(sq[g] / count[g] + eps) * scale(i) + shift(i);
  }
  return out;
}

// Expects `got` to be the gradient of sum(f(v) * g) at v = at.
void expect_grad(const Tensor& got, const std::function<Values(const Values&)>& f,
                 const Values& at, const Values& g) {
  testing::expect_close(got, testing::numeric_grad(f, at, g), 1e-5, 1e-7);
}

using AffineNorm = std::function<Values(const Values&, const Values&, const Values&)>;

// Expects gx, gw, gb to be the gradients of sum(forward(x, w, b) * g) at (xv, wv, bv).
void expect_affine_grads(const Tensor& gx, const Tensor& gw, const Tensor& gb,
                         const AffineNorm& forward, const Values& xv, const Values& wv,
                         const Values& bv, const Values& gv) {
  expect_grad(gx, [&](const Values& v) { return forward(v, wv, bv); }, xv, gv);
  expect_grad(gw, [&](const Values& v) { return forward(xv, v, bv); }, wv, gv);
  expect_grad(gb, [&](const Values& v) { return forward(xv, wv, v); }, bv, gv);
}

const OptionalTensor none = std::nullopt;

TEST(NormBatch, ForwardMatchesReferenceAtOddSizes) {
  for (int64_t N : {1, 3, 7}) {
    for (int64_t C : {1, 5}) {
      for (int64_t S : {1, 33}) {
        if (N * S == 1) continue;
        Tensor x = testing::random_tensor({N, C, S});
        Tensor w = testing::random_tensor({C}), b = testing::random_tensor({C});
        Tensor rm = Tensor::zeros({C}), rv = Tensor::ones({C});
        auto [out, mean, invstd] =
            batch_norm(testing::strided_copy(x), rm, rv, w, b, true, 0.1, 1e-5);
        Values xv = testing::values(x), wv = testing::values(w), bv = testing::values(b);
        auto channel = [&](int64_t i) { return (i / S) % C; };
        Values ref = normalise(
            xv, channel, C, [&](int64_t i) { return wv[channel(i)]; },
            [&](int64_t i) { return bv[channel(i)]; }, 1e-5);
        testing::expect_close(out, ref, 1e-4, 1e-5);
        // Running stats: 0.9 * init + 0.1 * batch (unbiased variance).
        Values rm_ref(C), rv_ref(C);
        for (int64_t c = 0; c < C; ++c) {
          double s = 0, q = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < S; ++k) s += xv[(n * C + c) * S + k];
          double m = s / double(N * S);
          for (int64_t n = 0; n < N; ++n)
            for (int64_t k = 0; k < S; ++k) q += std::pow(xv[(n * C + c) * S + k] - m, 2);
          rm_ref[c] = 0.1 * m;
          rv_ref[c] = 0.9 + 0.1 * q / double(N * S - 1);
        }
        testing::expect_close(rm, rm_ref, 1e-4, 1e-6);
        testing::expect_close(rv, rv_ref, 1e-4, 1e-6);
        // Eval with those running stats.
        auto [eval_out, m2, i2] = batch_norm(x, rm, rv, none, none, false, 0.1, 1e-5);
        Values rmv = testing::values(rm), rvv = testing::values(rv), eval_ref(xv.size());
        for (size_t i = 0; i < xv.size(); ++i)
          eval_ref[i] = (xv[i] - rmv[channel(i)]) / std::sqrt(rvv[channel(i)] + 1e-5);
        testing::expect_close(eval_out, eval_ref, 1e-4, 1e-5);
      }
    }
  }
}

// Float32 data far from zero (1e4 +/- 0.01): one-pass statistics must keep
// the variance's digits, compared with a float64 two-pass reference.
Tensor far_from_zero(const Shape& shape) {
  Tensor noise = testing::random_tensor(shape, DType::float64);
  Values v = testing::values(noise);
  for (double& e : v) e = double(float(1e4 + 1e-2 * e));
  return testing::from_values(v, shape).to(DType::float32);
}

TEST(NormBatch, Float32IsAccurateFarFromZero) {
  const int64_t N = 7, C = 3, S = 129;
  Tensor x = far_from_zero({N, C, S});
  auto [out, mean, invstd] = batch_norm(x, none, none, none, none, true, 0.1, 0.0);
  auto channel = [&](int64_t i) { return (i / S) % C; };
  Values ref = normalise(
      testing::values(x), channel, C, [](int64_t) { return 1.0; }, [](int64_t) { return 0.0; },
      0.0);
  testing::expect_close(out, ref, 1e-4, 1e-5);
}

TEST(NormBatch, BackwardMatchesNumericalGradient) {
  for (bool training : {true, false}) {
    const int64_t N = 3, C = 2, S = 7;
    Tensor x = testing::random_tensor({N, C, S}, DType::float64);
    Tensor w = testing::random_tensor({C}, DType::float64);
    Tensor rm = testing::random_tensor({C}, DType::float64);
    Tensor rv = testing::random_tensor({C}, DType::float64, 0.5, 2);
    Tensor g = testing::random_tensor({N, C, S}, DType::float64);
    auto [out, mean, invstd] =
        batch_norm(x, rm.clone(), rv.clone(), w, none, training, 0.1, 1e-5);
    auto [gx, gw, gb] =
        batch_norm_backward(testing::strided_copy(g), testing::strided_copy(x), w, mean, invstd,
                            training);
    Values rmv = testing::values(rm), rvv = testing::values(rv);
    auto forward = [&](const Values& xv, const Values& wv) {
      auto channel = [&](int64_t i) { return (i / S) % C; };
      if (training)
        return normalise(
            xv, channel, C, [&](int64_t i) { return wv[channel(i)]; }, [](int64_t) { return 0.0; },
            1e-5);
      Values out(xv.size());
      for (size_t i = 0; i < xv.size(); ++i)
        out[i] = (xv[i] - rmv[channel(i)]) / std::sqrt(rvv[channel(i)] + 1e-5) * wv[channel(i)];
      return out;
    };
    Values xv = testing::values(x), wv = testing::values(w), gv = testing::values(g);
    expect_grad(gx, [&](const Values& v) { return forward(v, wv); },
                xv, gv);
    expect_grad(gw, [&](const Values& v) { return forward(xv, v); },
                wv, gv);
    Values gb_ref(C, 0);
    for (size_t i = 0; i < gv.size(); ++i) gb_ref[(i / S) % C] += gv[i];
    testing::expect_close(gb, gb_ref, 1e-10, 1e-10);
  }
}

TEST(NormBatch, RejectsBadArguments) {
  Tensor x = testing::random_tensor({4, 3, 5});
  EXPECT_THROW(batch_norm(x, none, none, none, none, false, 0.1, 1e-5), Error);
  EXPECT_THROW(batch_norm(x, Tensor::zeros({4}), Tensor::ones({3}), none, none, false, 0.1, 1e-5),
               Error);
  Tensor single = testing::random_tensor({1, 3});
  EXPECT_THROW(batch_norm(single, none, none, none, none, true, 0.1, 1e-5), Error);
}

void check_layer_norm(const Tensor& x, const Shape& normalized) {
  int64_t K = 1;
  for (int64_t s : normalized) K *= s;
  Tensor w = testing::random_tensor(normalized, DType::float64);
  Tensor b = testing::random_tensor(normalized, DType::float64);
  Tensor g = testing::random_tensor(x.shape(), DType::float64);
  auto forward = [&](const Values& xv, const Values& wv, const Values& bv) {
    return normalise(
        xv, [&](int64_t i) { return i / K; }, int64_t(xv.size()) / K,
        [&](int64_t i) { return wv[i % K]; }, [&](int64_t i) { return bv[i % K]; }, 1e-5);
  };
  Values xv = testing::values(x), wv = testing::values(w), bv = testing::values(b);
  Values gv = testing::values(g);
  auto [out, mean, rstd] = layer_norm(x, normalized, w, b, 1e-5);
  testing::expect_close(out, forward(xv, wv, bv), 1e-9, 1e-10);
  auto [gx, gw, gb] = layer_norm_backward(testing::strided_copy(g), x, normalized, w, mean, rstd);
  expect_affine_grads(gx, gw, gb, forward, xv, wv, bv, gv);
}

TEST(NormLayer, ForwardAndBackwardAtOddSizes) {
  for (int64_t M : {1, 7}) {
    for (int64_t K : {1, 13}) {
      check_layer_norm(testing::random_tensor({M, K}, DType::float64), {K});
      check_layer_norm(testing::strided_copy(testing::random_tensor({M, 3, K}, DType::float64)),
                       {3, K});
    }
  }
  check_layer_norm(testing::random_tensor({5, 3}, DType::float64).t(), {5});
}

TEST(NormLayer, Float32LargeRowsAndBadArguments) {
  Tensor x = testing::random_tensor({3, 129 * 33});
  auto [out, mean, rstd] = layer_norm(x, {129 * 33}, none, none, 1e-5);
  Values ref = normalise(
      testing::values(x), [](int64_t i) { return i / (129 * 33); }, 3, [](int64_t) { return 1.0; },
      [](int64_t) { return 0.0; }, 1e-5);
  testing::expect_close(out, ref, 1e-4, 1e-5);
  EXPECT_THROW(layer_norm(x, {7}, none, none, 1e-5), Error);
  EXPECT_THROW(layer_norm(x, {129 * 33}, Tensor::ones({3}), std::nullopt, 1e-5), Error);
}

TEST(NormLayer, Float32IsAccurateFarFromZero) {
  const int64_t M = 5, K = 1031;
  Tensor x = far_from_zero({M, K});
  auto [out, mean, rstd] = layer_norm(x, {K}, none, none, 0.0);
  Values ref = normalise(
      testing::values(x), [&](int64_t i) { return i / K; }, M, [](int64_t) { return 1.0; },
      [](int64_t) { return 0.0; }, 0.0);
  testing::expect_close(out, ref, 1e-4, 1e-5);
}

TEST(NormLayer, ManyRowsSplitAcrossThreads) {
  const int64_t M = 1021, K = 129;
  Tensor x = testing::random_tensor({M, K}, DType::float64);
  Tensor g = testing::random_tensor({M, K}, DType::float64);
  auto [out, mean, rstd] = layer_norm(x, {K}, none, none, 1e-5);
  Values xv = testing::values(x), gv = testing::values(g);
  Values ref = normalise(
      xv, [&](int64_t i) { return i / K; }, M, [](int64_t) { return 1.0; },
      [](int64_t) { return 0.0; }, 1e-5);
  testing::expect_close(out, ref, 1e-9, 1e-10);
  // The bias gradient is the column sum of g; the weight gradient sums g * xhat.
  auto [gx, gw, gb] = layer_norm_backward(g, x, {K}, Tensor::ones({K}, DType::float64), mean, rstd);
  Values gw_ref(K, 0.0), gb_ref(K, 0.0);
  for (int64_t i = 0; i < M * K; ++i) {
    gw_ref[i % K] += gv[i] * ref[i];
    gb_ref[i % K] += gv[i];
  }
  testing::expect_close(gw, gw_ref, 1e-9, 1e-9);
  testing::expect_close(gb, gb_ref, 1e-9, 1e-9);
}

TEST(NormGroup, ForwardAndBackwardAtOddSizes) {
  for (int64_t groups : {1, 3}) {
    for (int64_t S : {1, 7}) {
      const int64_t N = 2, C = 6;
      Tensor x = testing::strided_copy(testing::random_tensor({N, C, S}, DType::float64));
      Tensor w = testing::random_tensor({C}, DType::float64);
      Tensor b = testing::random_tensor({C}, DType::float64);
      Tensor g = testing::random_tensor({N, C, S}, DType::float64);
      const int64_t per_group = (C / groups) * S;
      auto forward = [&](const Values& xv, const Values& wv, const Values& bv) {
        auto channel = [&](int64_t i) { return (i / S) % C; };
        return normalise(
            xv, [&](int64_t i) { return i / per_group; }, N * groups,
            [&](int64_t i) { return wv[channel(i)]; }, [&](int64_t i) { return bv[channel(i)]; },
            1e-5);
      };
      Values xv = testing::values(x), wv = testing::values(w), bv = testing::values(b);
      Values gv = testing::values(g);
      auto [out, mean, rstd] = group_norm(x, groups, w, b, 1e-5);
      testing::expect_close(out, forward(xv, wv, bv), 1e-9, 1e-10);
      auto [gx, gw, gb] = group_norm_backward(g, x, groups, w, mean, rstd);
      expect_affine_grads(gx, gw, gb, forward, xv, wv, bv, gv);
    }
  }
  Tensor six_channels = testing::random_tensor({2, 6, 3});
  EXPECT_THROW(group_norm(six_channels, 4, none, none, 1e-5), Error);
}

TEST(Dropout, MaskIsSeededScaledAndApplied) {
  for (int64_t n : {1, 7, 129, 40009}) {
    Tensor x = testing::random_tensor({n});
    manual_seed(11);
    auto [out, mask] = dropout(x, 0.25);
    manual_seed(11);
    auto [out2, mask2] = dropout(testing::strided_copy(x), 0.25);
    Values xv = testing::values(x), mv = testing::values(mask), ref(n);
    int64_t dropped = 0;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(mv[i] == 0 || std::fabs(mv[i] - 1 / 0.75) < 1e-6) << mv[i];
      dropped += mv[i] == 0;
      ref[i] = xv[i] * mv[i];
    }
    testing::expect_close(out, ref);
    testing::expect_close(mask2, mv);
    if (n > 1000) EXPECT_NEAR(double(dropped) / double(n), 0.25, 0.02);
  }
  auto [zeros, zero_mask] = dropout(testing::random_tensor({33}), 1.0);
  testing::expect_close(zeros, Values(33, 0.0));
  Tensor x = testing::random_tensor({33});
  auto [same, ones] = dropout(x, 0.0);
  testing::expect_close(same, testing::values(x));
  EXPECT_THROW(dropout(x, 1.5), Error);
  EXPECT_THROW(dropout(x, -0.5), Error);
  EXPECT_THROW(dropout(Tensor::zeros({3}, DType::int64), 0.5), Error);
}

}  // namespace
}  // namespace ember
