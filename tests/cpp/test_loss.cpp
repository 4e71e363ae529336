// Loss kernels against naive double-precision references (forward) and
// central differences of those references (backward), at odd sizes, with
// class weights, ignore_index, label smoothing, broadcasting and strided inputs.
#include <functional>

#include "ops/loss.h"
#include "testing.h"

namespace ember {
namespace {

using Values = std::vector<double>;

// Class targets in [0, C) with every third one ignored.
Tensor class_targets(int64_t N, int64_t D, int64_t C) {
  Tensor t = Tensor::empty({N, D}, DType::int64);
  randint_(t, 0, C);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < N * D; i += 3) p[i] = -100;
  return t;
}

// Per-sample cross entropy (smoothing > 0 included) on (N, C, D) logits.
Values reference_cross_entropy(const Values& x, const std::vector<int64_t>& t, const Values& w,
                               int64_t N, int64_t C, int64_t D, double smoothing, bool log_probs) {
  Values loss(N * D, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t d = 0; d < D; ++d) {
      const int64_t cls = t[n * D + d];
      if (cls == -100) continue;
      double lse = 0;
      if (!log_probs) {
        double sum = 0;
        for (int64_t c = 0; c < C; ++c) sum += std::exp(x[(n * C + c) * D + d]);
        lse = std::log(sum);
      }
      auto logp = [&](int64_t c) { return x[(n * C + c) * D + d] - lse; };
      double value = -w[cls] * logp(cls) * (1 - smoothing);
      for (int64_t c = 0; c < C; ++c) value -= smoothing / double(C) * w[c] * logp(c);
      loss[n * D + d] = value;
    }
  }
  return loss;
}

TEST(LossCrossEntropy, ForwardAndBackwardMatchReference) {
  for (int64_t N : {1, 7}) {
    for (int64_t C : {1, 5}) {
      for (int64_t D : {1, 3}) {
        for (double smoothing : {0.0, 0.25}) {
          Tensor x = testing::random_tensor({N, C, D}, DType::float64, -3, 3);
          Tensor w = testing::random_tensor({C}, DType::float64, 0.5, 2);
          Tensor t = class_targets(N, D, C);
          Values xv = testing::values(x), wv = testing::values(w);
          std::vector<int64_t> tv(t.data<int64_t>(), t.data<int64_t>() + N * D);
          auto f = [&](const Values& v) {
            return reference_cross_entropy(v, tv, wv, N, C, D, smoothing, false);
          };
          Tensor input = D == 1 ? x.reshape({N, C}) : x;
          Tensor target = D == 1 ? t.reshape({N}) : t;
          auto [loss, lse, total] = cross_entropy(testing::strided_copy(input), target, w, -100,
                                                  smoothing, Reduction::none);
          testing::expect_close(loss, f(xv), 1e-10, 1e-12);
          Tensor g = testing::random_tensor(target.shape(), DType::float64);
          Tensor gx = cross_entropy_backward(g, input, target, w, lse, total, -100, smoothing,
                                             Reduction::none);
          testing::expect_close(gx, testing::numeric_grad(f, xv, testing::values(g)), 1e-5, 1e-8);
          // 'mean' divides by the summed weights of the kept targets.
          auto [mean, lse2, total2] = cross_entropy(input, target, w, -100, smoothing,
                                                    Reduction::mean);
          double loss_sum = 0, weight_sum = 0;
          Values per_sample = f(xv);
          for (int64_t i = 0; i < N * D; ++i) {
            loss_sum += per_sample[i];
            if (tv[i] != -100) weight_sum += wv[tv[i]];
          }
          testing::expect_close(mean, {loss_sum / weight_sum}, 1e-10, 1e-12);
        }
      }
    }
  }
}

TEST(LossCrossEntropy, LargeBatchSplitAcrossThreads) {
  const int64_t N = 4099, C = 33;
  Tensor x = testing::random_tensor({N, C}, DType::float32, -5, 5);
  Tensor t = class_targets(N, 1, C).reshape({N});
  Values xv = testing::values(x), ones(C, 1.0);
  std::vector<int64_t> tv(t.data<int64_t>(), t.data<int64_t>() + N);
  auto [loss, lse, total] = cross_entropy(x, t, std::nullopt, -100, 0.0, Reduction::none);
  testing::expect_close(loss, reference_cross_entropy(xv, tv, ones, N, C, 1, 0.0, false), 1e-5,
                        1e-5);
}

TEST(LossCrossEntropy, RejectsOutOfRangeTargets) {
  Tensor x = testing::random_tensor({3, 4});
  Tensor t = Tensor::zeros({3}, DType::int64);
  t.data<int64_t>()[1] = 4;
  try {
    cross_entropy(x, t, std::nullopt, -100, 0.0, Reduction::mean);
    FAIL() << "expected an IndexError";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::index);
    EXPECT_NE(std::string(e.what()).find("cross_entropy: target 4"), std::string::npos);
  }
  t.data<int64_t>()[1] = -1;
  EXPECT_THROW(nll_loss(x, t, std::nullopt, -100, Reduction::sum), Error);
  EXPECT_THROW(cross_entropy(x, Tensor::zeros({4}, DType::int64), std::nullopt, -100, 0.0,
                             Reduction::mean),
               Error);
}

TEST(LossNll, ForwardAndBackwardMatchReference) {
  for (int64_t N : {1, 7, 33}) {
    for (int64_t D : {1, 2}) {
      const int64_t C = 3;
      Tensor x = testing::random_tensor({N, C, D}, DType::float64, -3, 0);
      Tensor w = testing::random_tensor({C}, DType::float64, 0.5, 2);
      Tensor t = class_targets(N, D, C);
      Values xv = testing::values(x), wv = testing::values(w);
      std::vector<int64_t> tv(t.data<int64_t>(), t.data<int64_t>() + N * D);
      auto f = [&](const Values& v) {
        Values per = reference_cross_entropy(v, tv, wv, N, C, D, 0.0, true);
        double s = 0;
        for (double p : per) s += p;
        return Values{s};
      };
      auto [loss, total] = nll_loss(testing::strided_copy(x), t, w, -100, Reduction::sum);
      testing::expect_close(loss, f(xv), 1e-10, 1e-12);
      Tensor g = Tensor::full({}, 0.5, DType::float64);
      Tensor gx = nll_loss_backward(g, x, t, w, total, -100, Reduction::sum);
      testing::expect_close(gx, testing::numeric_grad(f, xv, {0.5}), 1e-5, 1e-8);
    }
  }
}

double reference_pointwise(PointwiseLoss kind, double x, double t, double w, double pw,
                           double beta) {
  const double d = x - t;
  switch (kind) {
    case PointwiseLoss::mse: return d * d;
    case PointwiseLoss::l1: return std::fabs(d);
    case PointwiseLoss::smooth_l1:
      return std::fabs(d) < beta ? 0.5 * d * d / beta : std::fabs(d) - 0.5 * beta;
    case PointwiseLoss::binary_cross_entropy:
      return -w * (t * std::log(x) + (1 - t) * std::log(1 - x));
    case PointwiseLoss::binary_cross_entropy_with_logits: {
      double sig = 1 / (1 + std::exp(-x));
      return -w * (pw * t * std::log(sig) + (1 - t) * std::log(1 - sig));
    }
  }
  return 0;
}

TEST(LossPointwise, ForwardAndBackwardMatchReferenceWithBroadcasting) {
  const PointwiseLoss kinds[] = {PointwiseLoss::mse, PointwiseLoss::l1, PointwiseLoss::smooth_l1,
                                 PointwiseLoss::binary_cross_entropy,
                                 PointwiseLoss::binary_cross_entropy_with_logits};
  for (PointwiseLoss kind : kinds) {
    for (int64_t n : {1, 7, 33}) {
      const bool bce = kind == PointwiseLoss::binary_cross_entropy;
      Tensor x = testing::random_tensor({n, 3}, DType::float64, bce ? 0.05 : -2, bce ? 0.95 : 2);
      Tensor t = testing::random_tensor(bce ? Shape{n, 3} : Shape{3}, DType::float64, 0, 1);
      const bool weighted = bce || kind == PointwiseLoss::binary_cross_entropy_with_logits;
      Tensor w = testing::random_tensor({3}, DType::float64, 0.5, 2);
      Tensor pw = testing::random_tensor({3}, DType::float64, 0.5, 2);
      OptionalTensor weight = weighted ? OptionalTensor(w) : std::nullopt;
      OptionalTensor pos_weight = std::nullopt;
      if (kind == PointwiseLoss::binary_cross_entropy_with_logits) pos_weight = pw;
      Values wv = testing::values(w), pwv = testing::values(pw);
      const int64_t t_cols = t.dim() == 1 ? 0 : 3;
      auto f = [&](const Values& xv, const Values& tv) {
        Values out(n * 3);
        for (int64_t i = 0; i < n * 3; ++i) {
          out[i] = reference_pointwise(kind, xv[i], tv[t_cols ? i : i % 3],
                                       weighted ? wv[i % 3] : 1, pos_weight ? pwv[i % 3] : 1, 0.7);
        }
        return out;
      };
      Values xv = testing::values(x), tv = testing::values(t);
      Tensor loss = pointwise_loss(kind, testing::strided_copy(x), t, weight, pos_weight, 0.7,
                                   Reduction::none);
      testing::expect_close(loss, f(xv, tv), 1e-10, 1e-12);
      Tensor g = testing::random_tensor({n, 3}, DType::float64);
      Values gv = testing::values(g);
      auto [gx, gt] = pointwise_loss_backward(kind, g, x, testing::strided_copy(t), weight,
                                              pos_weight, 0.7, Reduction::none);
      testing::expect_close(
          gx, testing::numeric_grad([&](const Values& v) { return f(v, tv); }, xv, gv), 1e-5,
          1e-7);
      // The target gradient comes back at the broadcast shape: sum it over rows.
      Values gt_v = testing::values(gt), gt_sum(tv.size(), 0.0);
      for (int64_t i = 0; i < n * 3; ++i) gt_sum[t_cols ? i : i % 3] += gt_v[i];
      Values gt_ref = testing::numeric_grad([&](const Values& v) { return f(xv, v); }, tv, gv);
      testing::expect_close(testing::from_values(gt_sum, t.shape()), gt_ref, 1e-5, 1e-7);
      Tensor mean = pointwise_loss(kind, x, t, weight, pos_weight, 0.7, Reduction::mean);
      double total = 0;
      for (double v : f(xv, tv)) total += v;
      testing::expect_close(mean, {total / double(n * 3)}, 1e-10, 1e-12);
    }
  }
}

TEST(LossPointwise, RejectsBadArguments) {
  Tensor x = testing::random_tensor({3, 4}, DType::float32, 0, 1);
  EXPECT_THROW(pointwise_loss(PointwiseLoss::mse, x, testing::random_tensor({5}), std::nullopt,
                              std::nullopt, 1.0, Reduction::mean),
               Error);
  EXPECT_THROW(pointwise_loss(PointwiseLoss::binary_cross_entropy, x, testing::random_tensor({4}),
                              std::nullopt, std::nullopt, 1.0, Reduction::mean),
               Error);
  Tensor bad = Tensor::full({3, 4}, 2.0);
  EXPECT_THROW(pointwise_loss(PointwiseLoss::binary_cross_entropy, bad, x, std::nullopt,
                              std::nullopt, 1.0, Reduction::mean),
               Error);
  EXPECT_THROW(pointwise_loss(PointwiseLoss::smooth_l1, x, x, std::nullopt, std::nullopt, -1.0,
                              Reduction::mean),
               Error);
  EXPECT_THROW(pointwise_loss(PointwiseLoss::mse, x, x, x, std::nullopt, 1.0, Reduction::mean),
               Error);
}

}  // namespace
}  // namespace ember
