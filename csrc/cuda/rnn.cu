// CUDA fused LSTM and GRU cell steps, forward and backward: each thread takes
// one hidden unit of one row, reads its gate pre-activations (coalesced
// across the threads of a row) and writes the new states, or the gate
// gradients and the previous state's. The formulas are core/lstm_cell.h's and
// core/gru_cell.h's, shared with the CPU kernels; 16-bit values are widened
// to float.
#include <algorithm>

#include "core/check.h"
#include "core/gru_cell.h"
#include "core/lstm_cell.h"
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using grid::kThreads;

// Rows stride over grid.y (at most 65535 blocks there), hidden units over x.
constexpr int64_t kMaxRowBlocks = 65535;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    lstm_cell_kernel(T* __restrict__ h, T* __restrict__ c, const T* __restrict__ gates,
                     const T* __restrict__ c_prev, int64_t B, int64_t H) {
  using A = acc_t<T>;
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= H) return;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    const T* g = gates + b * 4 * H;
    A hv, cv;
    lstm_cell::forward(A(g[j]), A(g[H + j]), A(g[2 * H + j]), A(g[3 * H + j]),
                       A(c_prev[b * H + j]), hv, cv);
    h[b * H + j] = T(hv);
    c[b * H + j] = T(cv);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    lstm_cell_backward_kernel(T* __restrict__ grad_gates, T* __restrict__ grad_c_prev,
                              const T* __restrict__ grad_h, const T* __restrict__ grad_c,
                              const T* __restrict__ gates, const T* __restrict__ c_prev,
                              int64_t B, int64_t H) {
  using A = acc_t<T>;
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= H) return;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    const int64_t k = b * H + j;
    const T* g = gates + b * 4 * H;
    A d_gates[4], d_prev;
    lstm_cell::backward(A(g[j]), A(g[H + j]), A(g[2 * H + j]), A(g[3 * H + j]), A(c_prev[k]),
                        grad_h ? A(grad_h[k]) : A(0), grad_c ? A(grad_c[k]) : A(0), d_gates,
                        d_prev);
    T* d = grad_gates + b * 4 * H;
    EMBER_UNROLL
    for (int q = 0; q < 4; ++q) d[q * H + j] = T(d_gates[q]);
    grad_c_prev[k] = T(d_prev);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    gru_cell_kernel(T* __restrict__ h, T* __restrict__ workspace,
                    const T* __restrict__ input_gates, const T* __restrict__ hidden_gates,
                    const T* __restrict__ h_prev, int64_t B, int64_t H) {
  using A = acc_t<T>;
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= H) return;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    const T* x = input_gates + b * 3 * H;
    const T* hh = hidden_gates + b * 3 * H;
    gru_cell::Saved<A> s;
    const A hv = gru_cell::forward(A(x[j]), A(x[H + j]), A(x[2 * H + j]), A(hh[j]),
                                   A(hh[H + j]), A(hh[2 * H + j]), A(h_prev[b * H + j]), s);
    h[b * H + j] = T(hv);
    T* w = workspace + b * 4 * H;
    w[j] = T(s.r);
    w[H + j] = T(s.z);
    w[2 * H + j] = T(s.n);
    w[3 * H + j] = T(s.h_n);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    gru_cell_backward_kernel(T* __restrict__ grad_input_gates, T* __restrict__ grad_hidden_gates,
                             T* __restrict__ grad_h_prev, const T* __restrict__ grad_h,
                             const T* __restrict__ workspace, const T* __restrict__ h_prev,
                             int64_t B, int64_t H) {
  using A = acc_t<T>;
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= H) return;
  for (int64_t b = blockIdx.y; b < B; b += gridDim.y) {
    const int64_t k = b * H + j;
    const T* w = workspace + b * 4 * H;
    const gru_cell::Saved<A> s{A(w[j]), A(w[H + j]), A(w[2 * H + j]), A(w[3 * H + j])};
    const gru_cell::Grads<A> g = gru_cell::backward(s, A(h_prev[k]), A(grad_h[k]));
    T* x = grad_input_gates + b * 3 * H;
    T* hh = grad_hidden_gates + b * 3 * H;
    x[j] = hh[j] = T(g.d_r);
    x[H + j] = hh[H + j] = T(g.d_z);
    x[2 * H + j] = T(g.d_n);
    hh[2 * H + j] = T(g.d_h_n);
    grad_h_prev[k] = T(g.d_h_prev);
  }
}

dim3 cell_grid(int64_t B, int64_t H) {
  return dim3(unsigned(ceil_div<int64_t>(H, kThreads)), unsigned(std::min(B, kMaxRowBlocks)));
}

}  // namespace

void lstm_cell_raw(DType dtype, void* h, void* c, const void* gates, const void* c_prev,
                   int64_t B, int64_t H) {
  if (B == 0 || H == 0) return;
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "lstm_cell", [&] {
    using T = scalar_t;
    launch(lstm_cell_kernel<T>, cell_grid(B, H), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(h), static_cast<T*>(c), static_cast<const T*>(gates),
           static_cast<const T*>(c_prev), B, H);
  });
}

void lstm_cell_backward_raw(DType dtype, void* grad_gates, void* grad_c_prev, const void* grad_h,
                            const void* grad_c, const void* gates, const void* c_prev,
                            int64_t B, int64_t H) {
  if (B == 0 || H == 0) return;
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "lstm_cell_backward", [&] {
    using T = scalar_t;
    launch(lstm_cell_backward_kernel<T>, cell_grid(B, H), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(grad_gates), static_cast<T*>(grad_c_prev),
           static_cast<const T*>(grad_h), static_cast<const T*>(grad_c),
           static_cast<const T*>(gates), static_cast<const T*>(c_prev), B, H);
  });
}

void gru_cell_raw(DType dtype, void* h, void* workspace, const void* input_gates,
                  const void* hidden_gates, const void* h_prev, int64_t B, int64_t H) {
  if (B == 0 || H == 0) return;
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "gru_cell", [&] {
    using T = scalar_t;
    launch(gru_cell_kernel<T>, cell_grid(B, H), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(h), static_cast<T*>(workspace), static_cast<const T*>(input_gates),
           static_cast<const T*>(hidden_gates), static_cast<const T*>(h_prev), B, H);
  });
}

void gru_cell_backward_raw(DType dtype, void* grad_input_gates, void* grad_hidden_gates,
                           void* grad_h_prev, const void* grad_h, const void* workspace,
                           const void* h_prev, int64_t B, int64_t H) {
  if (B == 0 || H == 0) return;
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "gru_cell_backward", [&] {
    using T = scalar_t;
    launch(gru_cell_backward_kernel<T>, cell_grid(B, H), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(grad_input_gates), static_cast<T*>(grad_hidden_gates),
           static_cast<T*>(grad_h_prev), static_cast<const T*>(grad_h),
           static_cast<const T*>(workspace), static_cast<const T*>(h_prev), B, H);
  });
}

void lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates, const Tensor& c_prev) {
  lstm_cell_raw(gates.dtype(), h.raw_data(), c.raw_data(), gates.raw_data(), c_prev.raw_data(),
                c_prev.size(0), c_prev.size(1));
}

void lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                        const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                        const Tensor& c_prev) {
  lstm_cell_backward_raw(gates.dtype(), grad_gates.raw_data(), grad_c_prev.raw_data(),
                         grad_h.defined() ? grad_h.raw_data() : nullptr,
                         grad_c.defined() ? grad_c.raw_data() : nullptr, gates.raw_data(),
                         c_prev.raw_data(), c_prev.size(0), c_prev.size(1));
}

void gru_cell(const Tensor& h, const Tensor& workspace, const Tensor& input_gates,
              const Tensor& hidden_gates, const Tensor& h_prev) {
  gru_cell_raw(h_prev.dtype(), h.raw_data(), workspace.raw_data(), input_gates.raw_data(),
               hidden_gates.raw_data(), h_prev.raw_data(), h_prev.size(0), h_prev.size(1));
}

void gru_cell_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                       const Tensor& grad_h_prev, const Tensor& grad_h, const Tensor& workspace,
                       const Tensor& h_prev) {
  gru_cell_backward_raw(h_prev.dtype(), grad_input_gates.raw_data(),
                        grad_hidden_gates.raw_data(), grad_h_prev.raw_data(), grad_h.raw_data(),
                        workspace.raw_data(), h_prev.raw_data(), h_prev.size(0), h_prev.size(1));
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
