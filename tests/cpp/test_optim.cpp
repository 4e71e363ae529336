// Fused optimizer kernels against a naive per-element reference over several
// steps, at odd sizes, in float32 and float64, on contiguous and transposed
// (non-contiguous) operands, plus the argument checks.
#include <cmath>
#include <functional>
#include <vector>

#include "ops/optim.h"
#include "testing.h"

namespace ember {
namespace {

using testing::expect_close;
using testing::random_tensor;
using testing::values;

// A [rows, cols] tensor, either plain or a transposed view of a [cols, rows] one.
Tensor make(int64_t rows, int64_t cols, DType dtype, bool transposed, double low = -1,
            double high = 1) {
  if (!transposed) return random_tensor({rows, cols}, dtype, low, high);
  return random_tensor({cols, rows}, dtype, low, high).t();
}

Tensor zeros_like_layout(const Tensor& like, bool transposed) {
  if (!transposed) return Tensor::zeros(like.shape(), like.dtype());
  return Tensor::zeros({like.size(1), like.size(0)}, like.dtype()).t();
}

struct Case {
  int64_t rows, cols;
  DType dtype;
  bool transposed;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (DType dtype : {DType::float32, DType::float64})
    for (bool transposed : {false, true})
      for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
               {1, 1}, {1, 7}, {7, 33}, {33, 5}, {129, 3}, {211, 197}})
        out.push_back({rows, cols, dtype, transposed});
  return out;
}

double rtol(DType dtype) { return dtype == DType::float32 ? 2e-4 : 1e-10; }
double atol(DType dtype) { return dtype == DType::float32 ? 2e-5 : 1e-12; }

constexpr int kSteps = 5;

TEST(Optim, SgdMatchesReference) {
  struct Options { double momentum, dampening, wd; bool nesterov, maximize; };
  for (const Options& o : {Options{0, 0, 0, false, false}, Options{0.9, 0, 0.01, true, false},
                           Options{0.8, 0.3, 0.1, false, true}}) {
    for (const Case& c : cases()) {
      Tensor param = make(c.rows, c.cols, c.dtype, c.transposed);
      Tensor buffer = zeros_like_layout(param, c.transposed);
      std::vector<double> p = values(param), b(p.size(), 0.0);
      const double lr = 0.05;
      for (int s = 0; s < kSteps; ++s) {
        Tensor grad = make(c.rows, c.cols, c.dtype, !c.transposed);
        std::vector<double> g = values(grad);
        sgd_step(param, grad, o.momentum ? buffer : Tensor(), lr, o.momentum, o.dampening, o.wd,
                 o.nesterov, o.maximize, s == 0);
        for (size_t i = 0; i < p.size(); ++i) {
          double d = (o.maximize ? -g[i] : g[i]) + o.wd * p[i];
          if (o.momentum) {
            b[i] = s == 0 ? d : o.momentum * b[i] + (1 - o.dampening) * d;
            d = o.nesterov ? d + o.momentum * b[i] : b[i];
          }
          p[i] -= lr * d;
        }
      }
      expect_close(param, p, rtol(c.dtype), atol(c.dtype));
      if (o.momentum) expect_close(buffer, b, rtol(c.dtype), atol(c.dtype));
    }
  }
}

TEST(Optim, AdamMatchesReference) {
  struct Options { double wd; bool decoupled, amsgrad, maximize; };
  for (const Options& o : {Options{0, false, false, false}, Options{0.1, false, true, false},
                           Options{0.01, true, false, true}, Options{0.05, true, true, false}}) {
    for (const Case& c : cases()) {
      Tensor param = make(c.rows, c.cols, c.dtype, c.transposed);
      Tensor m = zeros_like_layout(param, c.transposed);
      Tensor v = zeros_like_layout(param, !c.transposed);
      Tensor vmax = o.amsgrad ? zeros_like_layout(param, c.transposed) : Tensor();
      std::vector<double> p = values(param), rm(p.size()), rv(p.size()), rmax(p.size());
      const double lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8;
      for (int s = 1; s <= kSteps; ++s) {
        Tensor grad = make(c.rows, c.cols, c.dtype, !c.transposed);
        std::vector<double> g = values(grad);
        adam_step(param, grad, m, v, vmax, lr, b1, b2, eps, o.wd, s, o.decoupled, o.maximize);
        for (size_t i = 0; i < p.size(); ++i) {
          double gi = o.maximize ? -g[i] : g[i];
          if (o.decoupled) p[i] *= 1 - lr * o.wd;
          else gi += o.wd * p[i];
          rm[i] = b1 * rm[i] + (1 - b1) * gi;
          rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
          double second = rv[i];
          if (o.amsgrad) second = rmax[i] = std::max(rmax[i], rv[i]);
          double denom = std::sqrt(second) / std::sqrt(1 - std::pow(b2, s)) + eps;
          p[i] -= lr / (1 - std::pow(b1, s)) * rm[i] / denom;
        }
      }
      expect_close(param, p, rtol(c.dtype), atol(c.dtype));
      expect_close(m, rm, rtol(c.dtype), atol(c.dtype));
      expect_close(v, rv, rtol(c.dtype), atol(c.dtype));
      if (o.amsgrad) expect_close(vmax, rmax, rtol(c.dtype), atol(c.dtype));
    }
  }
}

TEST(Optim, RmspropMatchesReference) {
  struct Options { double wd, momentum; bool centered, maximize; };
  for (const Options& o : {Options{0, 0, false, false}, Options{0.1, 0.9, true, false},
                           Options{0, 0.5, false, true}, Options{0.01, 0, true, true}}) {
    for (const Case& c : cases()) {
      Tensor param = make(c.rows, c.cols, c.dtype, c.transposed);
      Tensor sq = zeros_like_layout(param, c.transposed);
      Tensor mean = o.centered ? zeros_like_layout(param, !c.transposed) : Tensor();
      Tensor buf = o.momentum ? zeros_like_layout(param, c.transposed) : Tensor();
      std::vector<double> p = values(param), rsq(p.size()), rmean(p.size()), rbuf(p.size());
      const double lr = 0.01, alpha = 0.9, eps = 1e-8;
      for (int s = 0; s < kSteps; ++s) {
        Tensor grad = make(c.rows, c.cols, c.dtype, !c.transposed);
        std::vector<double> g = values(grad);
        rmsprop_step(param, grad, sq, mean, buf, lr, alpha, eps, o.wd, o.momentum, o.maximize);
        for (size_t i = 0; i < p.size(); ++i) {
          double gi = (o.maximize ? -g[i] : g[i]) + o.wd * p[i];
          rsq[i] = alpha * rsq[i] + (1 - alpha) * gi * gi;
          double var = rsq[i];
          if (o.centered) {
            rmean[i] = alpha * rmean[i] + (1 - alpha) * gi;
            var -= rmean[i] * rmean[i];
          }
          double avg = std::sqrt(var) + eps;
          if (o.momentum) {
            rbuf[i] = o.momentum * rbuf[i] + gi / avg;
            p[i] -= lr * rbuf[i];
          } else {
            p[i] -= lr * gi / avg;
          }
        }
      }
      // Centered RMSprop divides by sqrt(var) where var can nearly cancel: looser in float32.
      double scale = o.centered && c.dtype == DType::float32 ? 50 : 1;
      expect_close(param, p, scale * rtol(c.dtype), scale * atol(c.dtype));
      expect_close(sq, rsq, rtol(c.dtype), atol(c.dtype));
      if (o.centered) expect_close(mean, rmean, rtol(c.dtype), atol(c.dtype));
    }
  }
}

TEST(Optim, AdagradMatchesReference) {
  struct Options { double wd, lr_decay; bool maximize; };
  for (const Options& o : {Options{0, 0, false}, Options{0.1, 0.05, false},
                           Options{0.01, 0.5, true}}) {
    for (const Case& c : cases()) {
      Tensor param = make(c.rows, c.cols, c.dtype, c.transposed);
      Tensor sum = Tensor::full(param.shape(), 0.1, c.dtype);
      std::vector<double> p = values(param), rsum(p.size(), 0.1);
      const double lr = 0.1, eps = 1e-10;
      for (int s = 1; s <= kSteps; ++s) {
        Tensor grad = make(c.rows, c.cols, c.dtype, !c.transposed);
        std::vector<double> g = values(grad);
        adagrad_step(param, grad, sum, lr, o.lr_decay, eps, o.wd, s, o.maximize);
        double clr = lr / (1 + (s - 1) * o.lr_decay);
        for (size_t i = 0; i < p.size(); ++i) {
          double gi = (o.maximize ? -g[i] : g[i]) + o.wd * p[i];
          rsum[i] += gi * gi;
          p[i] -= clr * gi / (std::sqrt(rsum[i]) + eps);
        }
      }
      expect_close(param, p, rtol(c.dtype), atol(c.dtype));
      expect_close(sum, rsum, rtol(c.dtype), atol(c.dtype));
    }
  }
}

TEST(Optim, UpdatesBumpVersions) {
  Tensor param = random_tensor({4, 3});
  Tensor grad = random_tensor({4, 3});
  Tensor m = Tensor::zeros({4, 3}), v = Tensor::zeros({4, 3});
  uint64_t before_param = param.version(), before_m = m.version();
  adam_step(param, grad, m, v, Tensor(), 0.1, 0.9, 0.999, 1e-8, 0, 1, false, false);
  EXPECT_GT(param.version(), before_param);
  EXPECT_GT(m.version(), before_m);
}

void expect_error(const std::function<void()>& f, ErrorKind kind, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "expected an error mentioning " << part;
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Optim, RejectsBadArguments) {
  Tensor param = random_tensor({4, 3});
  Tensor grad = random_tensor({4, 3});
  Tensor state = Tensor::zeros({4, 3});
  expect_error([&] { sgd_step(param, random_tensor({3, 4}), Tensor(), 0.1, 0, 0, 0, false, false,
                              true); }, ErrorKind::value, "sgd_step: grad has shape [3, 4]");
  expect_error([&] { sgd_step(param, grad.to(DType::float64), Tensor(), 0.1, 0, 0, 0, false,
                              false, true); }, ErrorKind::type, "sgd_step: grad");
  expect_error([&] { sgd_step(param, grad, Tensor(), 0.1, 0.9, 0, 0, false, false, true); },
               ErrorKind::value, "sgd_step: momentum");
  Tensor ints = Tensor::zeros({4, 3}, DType::int64);
  expect_error([&] { sgd_step(ints, ints, Tensor(), 0.1, 0, 0, 0, false, false, true); },
               ErrorKind::type, "sgd_step: parameters must be floating point");
  Tensor expanded = random_tensor({1, 3}).expand({4, 3});
  expect_error([&] { sgd_step(expanded, grad, Tensor(), 0.1, 0, 0, 0, false, false, true); },
               ErrorKind::value, "sgd_step");
  expect_error([&] { adam_step(param, grad, state, Tensor::zeros({2}), Tensor(), 0.1, 0.9, 0.999,
                               1e-8, 0, 1, false, false); },
               ErrorKind::value, "adam_step: exp_avg_sq has shape [2]");
  expect_error([&] { adam_step(param, grad, state, state.clone(), Tensor(), 0.1, 1.5, 0.999,
                               1e-8, 0, 1, false, false); }, ErrorKind::value, "beta1");
  expect_error([&] { adam_step(param, grad, state, state.clone(), Tensor(), 0.1, 0.9, 0.999,
                               1e-8, 0, 0, false, false); }, ErrorKind::value, "step");
  expect_error([&] { rmsprop_step(param, grad, Tensor(), Tensor(), Tensor(), 0.1, 0.9, 1e-8, 0,
                                  0, false); }, ErrorKind::type, "rmsprop_step: square_avg");
  expect_error([&] { adagrad_step(param, grad, state, 0.1, -1, 1e-10, 0, 1, false); },
               ErrorKind::value, "adagrad_step: invalid lr_decay");
}

}  // namespace
}  // namespace ember
