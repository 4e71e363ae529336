// The CUDA fused LSTM and GRU cell kernels run on the harness against the CPU
// kernels: forward and backward, rows and hidden sizes around the block
// width, every floating dtype, absent output gradients (LSTM), more rows
// than the grid's y dimension covers in one pass, and a shuffled thread order.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/rnn.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

const DType kDtypes[] = {DType::float32, DType::float64, DType::float16, DType::bfloat16};

// Relative tolerance: a few roundings of the dtype (the kernels share the
// formulas; only the order of evaluation may differ under nvcc).
double tolerance(DType dtype) {
  switch (dtype) {
    case DType::float64: return 1e-13;
    case DType::float16: return 2.0 * std::ldexp(1.0, -10);
    case DType::bfloat16: return 2.0 * std::ldexp(1.0, -7);
    default: return 1e-6;
  }
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  Tensor g = got.to(DType::float64), w = want.to(DType::float64);
  const double* gp = g.data<double>();
  const double* wp = w.data<double>();
  const double tol = tolerance(got.dtype());
  for (int64_t i = 0; i < w.numel(); ++i) {
    ASSERT_LE(std::fabs(gp[i] - wp[i]), tol * std::max(1.0, std::fabs(wp[i])))
        << what << " element " << i << ": " << gp[i] << " vs the CPU's " << wp[i];
  }
}

Tensor random(const Shape& shape, DType dtype, double scale) {
  return random_tensor(shape, DType::float64, -scale, scale).to(dtype);
}

void check_cell(int64_t B, int64_t H, DType dtype, bool with_grad_h, bool with_grad_c) {
  const std::string what = std::string(dtype_name(dtype)) + " B=" + std::to_string(B) +
                           " H=" + std::to_string(H);
  Tensor gates = random({B, 4 * H}, dtype, 3.0), c_prev = random({B, H}, dtype, 2.0);
  Tensor h = sentinel({B, H}, dtype), c = sentinel({B, H}, dtype);
  Tensor h_cpu = Tensor::empty({B, H}, dtype), c_cpu = Tensor::empty({B, H}, dtype);
  cuda::lstm_cell_raw(dtype, h.raw_data(), c.raw_data(), gates.raw_data(), c_prev.raw_data(), B,
                      H);
  cpu::lstm_cell(h_cpu, c_cpu, gates, c_prev);
  expect_close(h, h_cpu, what + " h");
  expect_close(c, c_cpu, what + " c");

  Tensor grad_h = with_grad_h ? random({B, H}, dtype, 1.0) : Tensor();
  Tensor grad_c = with_grad_c ? random({B, H}, dtype, 1.0) : Tensor();
  Tensor d_gates = sentinel({B, 4 * H}, dtype), d_prev = sentinel({B, H}, dtype);
  Tensor d_gates_cpu = Tensor::empty({B, 4 * H}, dtype);
  Tensor d_prev_cpu = Tensor::empty({B, H}, dtype);
  cuda::lstm_cell_backward_raw(dtype, d_gates.raw_data(), d_prev.raw_data(),
                               grad_h.defined() ? grad_h.raw_data() : nullptr,
                               grad_c.defined() ? grad_c.raw_data() : nullptr, gates.raw_data(),
                               c_prev.raw_data(), B, H);
  cpu::lstm_cell_backward(d_gates_cpu, d_prev_cpu, grad_h, grad_c, gates, c_prev);
  expect_close(d_gates, d_gates_cpu, what + " grad gates");
  expect_close(d_prev, d_prev_cpu, what + " grad c_prev");
}

TEST(CudaEmuRnn, LstmCellSizesAndDtypes) {
  for (DType dtype : kDtypes) {
    for (int64_t B : {1, 3, 33}) {
      for (int64_t H : {1, 31, 129, 257}) check_cell(B, H, dtype, true, true);
    }
  }
}

TEST(CudaEmuRnn, LstmCellAbsentGradients) {
  check_cell(5, 33, DType::float32, true, false);
  check_cell(5, 33, DType::float32, false, true);
  check_cell(5, 33, DType::float64, false, false);
}

TEST(CudaEmuRnn, LstmCellRowsPastOneGridPass) {
  check_cell(65537, 1, DType::float32, true, true);
}

TEST(CudaEmuRnn, LstmCellShuffled) {
  cuda_emu::set_shuffle(true, 11);
  check_cell(7, 300, DType::float32, true, true);
  cuda_emu::set_shuffle(false);
}

// The CPU kernel against the formulas written out in double (the reference
// the CUDA comparisons rest on).
TEST(CudaEmuRnn, CpuLstmCellMatchesTheFormulas) {
  const int64_t B = 2, H = 3;
  Tensor gates = random({B, 4 * H}, DType::float64, 3.0);
  Tensor c_prev = random({B, H}, DType::float64, 2.0);
  Tensor h = Tensor::empty({B, H}, DType::float64), c = Tensor::empty({B, H}, DType::float64);
  cpu::lstm_cell(h, c, gates, c_prev);
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  const double* g = gates.data<double>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < H; ++j) {
      const double* r = g + b * 4 * H;
      const double cv = sig(r[H + j]) * c_prev.data<double>()[b * H + j] +
                        sig(r[j]) * std::tanh(r[2 * H + j]);
      EXPECT_NEAR(c.data<double>()[b * H + j], cv, 1e-14);
      EXPECT_NEAR(h.data<double>()[b * H + j], sig(r[3 * H + j]) * std::tanh(cv), 1e-14);
    }
  }
}

void check_gru_cell(int64_t B, int64_t H, DType dtype) {
  const std::string what = std::string(dtype_name(dtype)) + " B=" + std::to_string(B) +
                           " H=" + std::to_string(H);
  Tensor x_gates = random({B, 3 * H}, dtype, 3.0), h_gates = random({B, 3 * H}, dtype, 3.0);
  Tensor h_prev = random({B, H}, dtype, 1.0);
  Tensor h = sentinel({B, H}, dtype), ws = sentinel({B, 4 * H}, dtype);
  Tensor h_cpu = Tensor::empty({B, H}, dtype), ws_cpu = Tensor::empty({B, 4 * H}, dtype);
  cuda::gru_cell_raw(dtype, h.raw_data(), ws.raw_data(), x_gates.raw_data(), h_gates.raw_data(),
                     h_prev.raw_data(), B, H);
  cpu::gru_cell(h_cpu, ws_cpu, x_gates, h_gates, h_prev);
  expect_close(h, h_cpu, what + " h");
  expect_close(ws, ws_cpu, what + " workspace");

  Tensor grad_h = random({B, H}, dtype, 1.0);
  Tensor d_x = sentinel({B, 3 * H}, dtype), d_h = sentinel({B, 3 * H}, dtype);
  Tensor d_prev = sentinel({B, H}, dtype);
  Tensor d_x_cpu = Tensor::empty({B, 3 * H}, dtype), d_h_cpu = Tensor::empty({B, 3 * H}, dtype);
  Tensor d_prev_cpu = Tensor::empty({B, H}, dtype);
  // Both from the CPU's workspace, so the backward is compared on its own.
  cuda::gru_cell_backward_raw(dtype, d_x.raw_data(), d_h.raw_data(), d_prev.raw_data(),
                              grad_h.raw_data(), ws_cpu.raw_data(), h_prev.raw_data(), B, H);
  cpu::gru_cell_backward(d_x_cpu, d_h_cpu, d_prev_cpu, grad_h, ws_cpu, h_prev);
  expect_close(d_x, d_x_cpu, what + " grad input_gates");
  expect_close(d_h, d_h_cpu, what + " grad hidden_gates");
  expect_close(d_prev, d_prev_cpu, what + " grad h_prev");
}

TEST(CudaEmuRnn, GruCellSizesAndDtypes) {
  for (DType dtype : kDtypes) {
    for (int64_t B : {1, 3, 33}) {
      for (int64_t H : {1, 31, 33, 129, 257}) check_gru_cell(B, H, dtype);
    }
  }
}

TEST(CudaEmuRnn, GruCellRowsPastOneGridPass) { check_gru_cell(65537, 1, DType::float32); }

TEST(CudaEmuRnn, GruCellShuffled) {
  cuda_emu::set_shuffle(true, 13);
  check_gru_cell(7, 300, DType::float32);
  check_gru_cell(3, 129, DType::float64);
  cuda_emu::set_shuffle(false);
}

// The CPU GRU kernel against the formulas written out in double, forward
// and backward (the backward by central differences of the forward).
TEST(CudaEmuRnn, CpuGruCellMatchesTheFormulas) {
  const int64_t B = 2, H = 3;
  Tensor x_gates = random({B, 3 * H}, DType::float64, 3.0);
  Tensor h_gates = random({B, 3 * H}, DType::float64, 3.0);
  Tensor h_prev = random({B, H}, DType::float64, 1.0);
  Tensor grad_h = random({B, H}, DType::float64, 1.0);
  Tensor h = Tensor::empty({B, H}, DType::float64), ws = Tensor::empty({B, 4 * H}, DType::float64);
  cpu::gru_cell(h, ws, x_gates, h_gates, h_prev);
  Tensor d_x = Tensor::empty({B, 3 * H}, DType::float64);
  Tensor d_h = Tensor::empty({B, 3 * H}, DType::float64);
  Tensor d_prev = Tensor::empty({B, H}, DType::float64);
  cpu::gru_cell_backward(d_x, d_h, d_prev, grad_h, ws, h_prev);

  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  // h' of one unit from its seven inputs: x_r, x_z, x_n, h_r, h_z, h_n, h.
  auto step = [&](const double* v) {
    const double r = sig(v[0] + v[3]), z = sig(v[1] + v[4]);
    const double n = std::tanh(v[2] + r * v[5]);
    return (1 - z) * n + z * v[6];
  };
  const double* xg = x_gates.data<double>();
  const double* hg = h_gates.data<double>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = b * H + j;
      double v[7] = {xg[b * 3 * H + j],     xg[b * 3 * H + H + j], xg[b * 3 * H + 2 * H + j],
                     hg[b * 3 * H + j],     hg[b * 3 * H + H + j], hg[b * 3 * H + 2 * H + j],
                     h_prev.data<double>()[k]};
      EXPECT_NEAR(h.data<double>()[k], step(v), 1e-14);
      const double got[7] = {d_x.data<double>()[b * 3 * H + j],
                             d_x.data<double>()[b * 3 * H + H + j],
                             d_x.data<double>()[b * 3 * H + 2 * H + j],
                             d_h.data<double>()[b * 3 * H + j],
                             d_h.data<double>()[b * 3 * H + H + j],
                             d_h.data<double>()[b * 3 * H + 2 * H + j],
                             d_prev.data<double>()[k]};
      const double eps = 1e-6, dh = grad_h.data<double>()[k];
      for (int q = 0; q < 7; ++q) {
        double up[7], down[7];
        std::copy(v, v + 7, up);
        std::copy(v, v + 7, down);
        up[q] += eps;
        down[q] -= eps;
        EXPECT_NEAR(got[q], dh * (step(up) - step(down)) / (2 * eps), 1e-8)
            << "input " << q << " of unit " << k;
      }
    }
  }
}

}  // namespace
}  // namespace ember
