// The CUDA loss kernels run on the harness against the CPU kernels: cross
// entropy (class-index and probability targets, weights, ignore_index, label
// smoothing, all-ignored batches, out-of-range targets) with one thread, a
// warp and a block per sample, nll_loss, and the pointwise losses with and
// without broadcasting and reductions; float32 and float64, forward and
// backward, and one run with the threads' order shuffled.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/random.h"
#include "cpu/loss.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

Tensor random_tensor(const Shape& shape, DType dtype, double low = -3.0, double high = 3.0) {
  return emu_test::random_tensor(shape, dtype, low, high);
}

// How many elements of two contiguous tensors differ by more than the
// dtype's tolerance (relative to max(1, |expected|)); reports the first.
int64_t mismatches(const Tensor& got, const Tensor& expected, const std::string& what) {
  EXPECT_EQ(got.numel(), expected.numel()) << what;
  const double tol = got.dtype() == DType::float32 ? 2e-5 : 1e-12;
  int64_t bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = value(got, i), e = value(expected, i);
    const bool ok = std::isnan(e) ? std::isnan(g)
                                  : std::fabs(g - e) <= tol * std::max(1.0, std::fabs(e));
    if (!ok && bad++ == 0) {
      ADD_FAILURE() << what << " at " << i << ": got " << g << ", expected " << e;
    }
  }
  return bad;
}

void expect_close(const Tensor& got, const Tensor& expected, const std::string& what) {
  EXPECT_EQ(mismatches(got, expected, what), 0) << what;
}

struct ClassCase {
  int64_t N, C, D;
  bool weighted;
  double smoothing;
  int lanes;
};

std::string describe(const ClassCase& c, DType dtype, const char* kind) {
  return std::string(kind) + " " + dtype_name(dtype) + " N=" + std::to_string(c.N) +
         " C=" + std::to_string(c.C) + " D=" + std::to_string(c.D) +
         (c.weighted ? " weighted" : "") + " smoothing=" + std::to_string(c.smoothing) +
         " lanes=" + std::to_string(c.lanes);
}

// Class targets with about one in five ignored (ignore_index -100).
Tensor class_targets(int64_t N, int64_t D, int64_t C, bool all_ignored) {
  Tensor t = Tensor::empty({N, D}, DType::int64);
  randint_(t, 0, C);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (all_ignored || i % 5 == 2) p[i] = -100;
  }
  return t;
}

void check_cross_entropy(const ClassCase& c, DType dtype, bool all_ignored = false) {
  const std::string what = describe(c, dtype, "cross_entropy");
  Tensor x = random_tensor({c.N, c.C, c.D}, dtype);
  Tensor t = class_targets(c.N, c.D, c.C, all_ignored);
  Tensor w = c.weighted ? random_tensor({c.C}, dtype, 0.1, 2.0) : Tensor();
  Tensor loss = Tensor::empty({c.N, c.D}, dtype), lse = Tensor::empty({c.N, c.D}, dtype);
  Tensor sw = Tensor::empty({c.N, c.D}, dtype);
  cpu::cross_entropy(loss, lse, sw, x, t, w, -100, c.smoothing);
  Tensor got_loss = Tensor::full({c.N, c.D}, Scalar(-7.0), dtype);
  Tensor got_lse = Tensor::full({c.N, c.D}, Scalar(-7.0), dtype);
  Tensor got_sw = Tensor::full({c.N, c.D}, Scalar(-7.0), dtype);
  int flag = 0;
  cuda::ClassLossGeometry g{c.N, c.C, c.D};
  cuda::cross_entropy_raw(dtype, got_loss.raw_data(), got_lse.raw_data(), got_sw.raw_data(),
                          x.raw_data(), t.data<int64_t>(), nullptr,
                          w.defined() ? w.raw_data() : nullptr, &flag, g, -100, c.smoothing,
                          c.lanes);
  EXPECT_EQ(flag, 0) << what;
  expect_close(got_loss, loss, what + " loss");
  expect_close(got_lse, lse, what + " logsumexp");
  expect_close(got_sw, sw, what + " sample weight");

  // Backward from a per-sample grad and from a reduced loss's expanded scalar.
  for (bool scalar : {false, true}) {
    Tensor grad = scalar ? random_tensor({1, 1}, dtype).expand({c.N, c.D})
                         : random_tensor({c.N, c.D}, dtype);
    Tensor expected = Tensor::empty({c.N, c.C, c.D}, dtype);
    cpu::cross_entropy_backward(expected, grad, x, t, w, lse, -100, c.smoothing);
    Tensor got = Tensor::full({c.N, c.C, c.D}, Scalar(-7.0), dtype);
    g.grad_stride_n = grad.stride(0);
    g.grad_stride_d = grad.stride(1);
    cuda::cross_entropy_backward_raw(dtype, got.raw_data(), grad.raw_data(), x.raw_data(),
                                     t.data<int64_t>(), nullptr,
                                     w.defined() ? w.raw_data() : nullptr, lse.raw_data(), &flag,
                                     g, -100, c.smoothing, c.lanes);
    EXPECT_EQ(flag, 0) << what;
    expect_close(got, expected, what + (scalar ? " backward (scalar grad)" : " backward"));
  }
}

void check_cross_entropy_probs(const ClassCase& c, DType dtype) {
  const std::string what = describe(c, dtype, "cross_entropy_probs");
  Tensor x = random_tensor({c.N, c.C, c.D}, dtype);
  Tensor p = random_tensor({c.N, c.C, c.D}, dtype, 0.0, 1.0);
  Tensor w = c.weighted ? random_tensor({c.C}, dtype, 0.1, 2.0) : Tensor();
  Tensor loss = Tensor::empty({c.N, c.D}, dtype), lse = Tensor::empty({c.N, c.D}, dtype);
  cpu::cross_entropy_probs(loss, lse, x, p, w, c.smoothing);
  Tensor got_loss = Tensor::full({c.N, c.D}, Scalar(-7.0), dtype);
  Tensor got_lse = Tensor::full({c.N, c.D}, Scalar(-7.0), dtype);
  cuda::ClassLossGeometry g{c.N, c.C, c.D};
  cuda::cross_entropy_raw(dtype, got_loss.raw_data(), got_lse.raw_data(), nullptr, x.raw_data(),
                          nullptr, p.raw_data(), w.defined() ? w.raw_data() : nullptr, nullptr, g,
                          0, c.smoothing, c.lanes);
  expect_close(got_loss, loss, what + " loss");
  expect_close(got_lse, lse, what + " logsumexp");

  Tensor grad = random_tensor({c.N, c.D}, dtype);
  Tensor expected = Tensor::empty({c.N, c.C, c.D}, dtype);
  cpu::cross_entropy_probs_backward(expected, grad, x, p, w, lse, c.smoothing);
  Tensor got = Tensor::full({c.N, c.C, c.D}, Scalar(-7.0), dtype);
  g.grad_stride_n = grad.stride(0);
  g.grad_stride_d = grad.stride(1);
  cuda::cross_entropy_backward_raw(dtype, got.raw_data(), grad.raw_data(), x.raw_data(), nullptr,
                                   p.raw_data(), w.defined() ? w.raw_data() : nullptr,
                                   lse.raw_data(), nullptr, g, 0, c.smoothing, c.lanes);
  expect_close(got, expected, what + " backward");
}


TEST(CudaEmuLoss, CrossEntropyEveryClassCount) {
  for (DType dtype : kFloats) {
    for (int64_t C : {1, 2, 31, 33, 129, 1000}) {
      for (int64_t N : {1, 3, 33}) {
        if (C == 1000 && N == 33) continue;
        const bool weighted = (N + C) % 2 == 1;
        check_cross_entropy({N, C, 1, weighted, 0.0, 0}, dtype);
        check_cross_entropy({N, C, 1, !weighted, 0.2, 0}, dtype);
        check_cross_entropy_probs({N, C, 1, weighted, N == 3 ? 0.3 : 0.0, 0}, dtype);
      }
    }
  }
}

TEST(CudaEmuLoss, CrossEntropyEveryGroupShape) {
  // Spatial samples (D > 1) and every lane count, each option on and off.
  for (DType dtype : kFloats) {
    for (int lanes : {1, 32, 256}) {
      for (int64_t C : {2, 33}) {
        for (int64_t D : {1, 5}) {
          for (bool weighted : {false, true}) {
            const double smoothing = weighted == (C == 2) ? 0.1 : 0.0;
            check_cross_entropy({3, C, D, weighted, smoothing, lanes}, dtype);
            check_cross_entropy_probs({3, C, D, weighted, smoothing, lanes}, dtype);
          }
        }
      }
    }
    check_cross_entropy({33, 7, 9, true, 0.1, 0}, dtype);
  }
}

TEST(CudaEmuLoss, CrossEntropyAllIgnored) {
  for (DType dtype : kFloats) {
    for (int lanes : {1, 32, 256}) {
      check_cross_entropy({4, 31, 1, true, 0.1, lanes}, dtype, true);
      check_cross_entropy({2, 5, 3, false, 0.0, lanes}, dtype, true);
    }
  }
}

TEST(CudaEmuLoss, OutOfRangeTargetsSetTheFlag) {
  for (int64_t bad : {int64_t(5), int64_t(-1), int64_t(1000)}) {
    for (int lanes : {1, 32, 256}) {
      Tensor x = random_tensor({3, 5, 1}, DType::float32);
      Tensor t = class_targets(3, 1, 5, false);
      t.data<int64_t>()[1] = bad;
      Tensor loss = Tensor::empty({3, 1}), lse = Tensor::empty({3, 1});
      Tensor sw = Tensor::empty({3, 1});
      int flag = 0;
      cuda::ClassLossGeometry g{3, 5, 1};
      cuda::cross_entropy_raw(DType::float32, loss.raw_data(), lse.raw_data(), sw.raw_data(),
                              x.raw_data(), t.data<int64_t>(), nullptr, nullptr, &flag, g, -100,
                              0.1, lanes);
      EXPECT_EQ(flag, 1) << "cross_entropy target " << bad;
      flag = 0;
      Tensor grad = random_tensor({3, 1}, DType::float32);
      g.grad_stride_n = 1;
      Tensor gx = Tensor::empty({3, 5, 1});
      cuda::cross_entropy_backward_raw(DType::float32, gx.raw_data(), grad.raw_data(),
                                       x.raw_data(), t.data<int64_t>(), nullptr, nullptr,
                                       lse.raw_data(), &flag, g, -100, 0.0, lanes);
      EXPECT_EQ(flag, 1) << "cross_entropy_backward target " << bad;
      flag = 0;
      cuda::nll_loss_raw(DType::float32, loss.raw_data(), sw.raw_data(), x.raw_data(),
                         t.data<int64_t>(), nullptr, &flag, g, -100);
      EXPECT_EQ(flag, 1) << "nll_loss target " << bad;
      flag = 0;
      cuda::nll_loss_backward_raw(DType::float32, gx.raw_data(), grad.raw_data(),
                                  t.data<int64_t>(), nullptr, &flag, g, -100);
      EXPECT_EQ(flag, 1) << "nll_loss_backward target " << bad;
    }
  }
}

TEST(CudaEmuLoss, NllLoss) {
  for (DType dtype : kFloats) {
    for (int64_t C : {1, 2, 33, 129}) {
      for (int64_t N : {1, 3, 33}) {
        for (int64_t D : {1, 7}) {
          for (bool weighted : {false, true}) {
            const std::string what = describe({N, C, D, weighted, 0, 0}, dtype, "nll_loss");
            Tensor x = random_tensor({N, C, D}, dtype);
            Tensor t = class_targets(N, D, C, N == 1 && D == 7);
            Tensor w = weighted ? random_tensor({C}, dtype, 0.1, 2.0) : Tensor();
            const void* wp = weighted ? w.raw_data() : nullptr;
            Tensor loss = Tensor::empty({N, D}, dtype), sw = Tensor::empty({N, D}, dtype);
            cpu::nll_loss(loss, sw, x, t, w, -100);
            Tensor got_loss = Tensor::full({N, D}, Scalar(-7.0), dtype);
            Tensor got_sw = Tensor::full({N, D}, Scalar(-7.0), dtype);
            int flag = 0;
            cuda::ClassLossGeometry g{N, C, D};
            cuda::nll_loss_raw(dtype, got_loss.raw_data(), got_sw.raw_data(), x.raw_data(),
                               t.data<int64_t>(), wp, &flag, g, -100);
            expect_close(got_loss, loss, what + " loss");
            expect_close(got_sw, sw, what + " sample weight");
            Tensor grad = random_tensor({N, D}, dtype);
            Tensor expected = Tensor::zeros({N, C, D}, dtype);
            cpu::nll_loss_backward(expected, grad, t, w, -100);
            Tensor got = Tensor::zeros({N, C, D}, dtype);
            g.grad_stride_n = grad.stride(0);
            g.grad_stride_d = grad.stride(1);
            cuda::nll_loss_backward_raw(dtype, got.raw_data(), grad.raw_data(), t.data<int64_t>(),
                                        wp, &flag, g, -100);
            EXPECT_EQ(flag, 0) << what;
            expect_close(got, expected, what + " backward");
          }
        }
      }
    }
  }
}

const PointwiseLoss kPointwise[] = {PointwiseLoss::mse, PointwiseLoss::l1,
                                    PointwiseLoss::smooth_l1, PointwiseLoss::binary_cross_entropy,
                                    PointwiseLoss::binary_cross_entropy_with_logits};

// input and target of input_shape / target_shape (broadcast), weights as the loss allows.
void check_pointwise(PointwiseLoss kind, DType dtype, const Shape& input_shape,
                     const Shape& target_shape, bool weighted) {
  const bool bce = kind == PointwiseLoss::binary_cross_entropy;
  const bool logits = kind == PointwiseLoss::binary_cross_entropy_with_logits;
  const std::string what = std::string("pointwise loss ") + std::to_string(int(kind)) + " " +
                           dtype_name(dtype) + " " + shape_str(input_shape) + " vs " +
                           shape_str(target_shape) + (weighted ? " weighted" : "");
  Tensor input = bce ? random_tensor(input_shape, dtype, 0.01, 0.99)
                     : random_tensor(input_shape, dtype);
  Tensor target = random_tensor(target_shape, dtype, bce || logits ? 0.0 : -3.0, 1.0);
  Shape shape = broadcast_shapes(input_shape, target_shape, "test");
  Tensor ones = Tensor::ones({}, dtype).expand(shape);
  Tensor weight = weighted && (bce || logits) ? random_tensor({shape.back()}, dtype, 0.1, 2.0)
                                                    .expand(shape)
                                              : ones;
  Tensor pos_weight =
      weighted && logits ? random_tensor({shape.back()}, dtype, 0.1, 3.0).expand(shape) : ones;
  Tensor x = input.expand(shape), t = target.expand(shape);
  const double beta = 0.7;

  Tensor expected = Tensor::empty(shape, dtype);
  cpu::pointwise_loss(kind, expected, x, t, weight, pos_weight, beta);
  Tensor got = Tensor::full(shape, Scalar(-7.0), dtype);
  const Tensor operands[] = {got, got, got, x, t, weight, pos_weight};
  cuda::PointwiseLossGeometry g =
      cuda::pointwise_loss_geometry("test", operands, cuda::kPointwiseLossOperands);
  cuda::pointwise_loss_raw(kind, dtype, got.raw_data(), x.raw_data(), t.raw_data(),
                           weight.raw_data(), pos_weight.raw_data(), g, beta, Reduction::none,
                           nullptr);
  expect_close(got, expected, what);

  double sum = 0;
  for (int64_t i = 0; i < expected.numel(); ++i) sum += value(expected, i);
  Tensor partials = Tensor::empty({cuda::kPointwiseLossPartials}, dtype);
  for (Reduction reduction : {Reduction::sum, Reduction::mean}) {
    const double e = reduction == Reduction::sum ? sum : sum / double(expected.numel());
    Tensor reduced = Tensor::full({}, Scalar(-7.0), dtype);
    cuda::pointwise_loss_raw(kind, dtype, reduced.raw_data(), x.raw_data(), t.raw_data(),
                             weight.raw_data(), pos_weight.raw_data(), g, beta, reduction,
                             partials.raw_data());
    const double tol = (dtype == DType::float32 ? 1e-5 : 1e-12) * std::max(1.0, std::fabs(e));
    EXPECT_NEAR(value(reduced, 0), e, tol * double(expected.numel())) << what << " reduced";
  }

  for (bool scalar : {false, true}) {
    Tensor grad = scalar ? random_tensor({}, dtype).expand(shape) : random_tensor(shape, dtype);
    Tensor gx = Tensor::empty(shape, dtype), gt = Tensor::empty(shape, dtype);
    cpu::pointwise_loss_backward(kind, gx, gt, grad, x, t, weight, pos_weight, beta);
    Tensor got_gx = Tensor::full(shape, Scalar(-7.0), dtype);
    Tensor got_gt = Tensor::full(shape, Scalar(-7.0), dtype);
    const Tensor grads[] = {got_gx, got_gt, grad, x, t, weight, pos_weight};
    cuda::PointwiseLossGeometry gb =
        cuda::pointwise_loss_geometry("test", grads, cuda::kPointwiseLossOperands);
    cuda::pointwise_loss_backward_raw(kind, dtype, got_gx.raw_data(), got_gt.raw_data(),
                                      grad.raw_data(), x.raw_data(), t.raw_data(),
                                      weight.raw_data(), pos_weight.raw_data(), gb, beta);
    expect_close(got_gx, gx, what + " grad input");
    expect_close(got_gt, gt, what + " grad target");
  }
}

TEST(CudaEmuLoss, PointwiseContiguous) {
  for (DType dtype : kFloats) {
    for (PointwiseLoss kind : kPointwise) {
      for (int64_t n : {1, 31, 33, 129, 1000}) {
        check_pointwise(kind, dtype, {n}, {n}, false);
        check_pointwise(kind, dtype, {n}, {n}, true);
      }
    }
  }
}

TEST(CudaEmuLoss, PointwiseBroadcastAndLarge) {
  for (DType dtype : kFloats) {
    for (PointwiseLoss kind : kPointwise) {
      if (kind != PointwiseLoss::binary_cross_entropy) {
        check_pointwise(kind, dtype, {5, 7}, {7}, true);
        check_pointwise(kind, dtype, {3, 1, 9}, {4, 1}, false);
      }
      check_pointwise(kind, dtype, {3, 33}, {3, 33}, true);
    }
  }
  // Many blocks of partial sums.
  check_pointwise(PointwiseLoss::mse, DType::float64, {4099}, {4099}, false);
}

TEST(CudaEmuLoss, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 23);
  for (DType dtype : kFloats) {
    for (int lanes : {1, 32, 256}) {
      check_cross_entropy({3, 129, 1, true, 0.1, lanes}, dtype);
      check_cross_entropy_probs({3, 33, 2, true, 0.1, lanes}, dtype);
    }
    check_pointwise(PointwiseLoss::smooth_l1, dtype, {1000}, {1000}, false);
  }
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuLoss, ComparisonCatchesAPlantedBug) {
  Tensor expected = random_tensor({129}, DType::float32);
  Tensor got = expected.clone();
  static_cast<float*>(got.raw_data())[77] += 1e-3f;
  testing::TestPartResultArray failures;
  int64_t bad = 0;
  {
    testing::ScopedFakeTestPartResultReporter reporter(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    bad = mismatches(got, expected, "planted");
  }
  EXPECT_EQ(bad, 1);
  EXPECT_EQ(failures.size(), 1);
}

}  // namespace
}  // namespace ember
