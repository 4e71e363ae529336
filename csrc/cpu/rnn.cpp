// CPU fused LSTM cell step: one pass over the batch rows computes every gate
// activation and both states (and, backward, every gate gradient), where the
// composed ops would make a dozen passes and temporaries.
#include "cpu/rnn.h"

#include <algorithm>

#include "core/lstm_cell.h"
#include "core/parallel.h"

namespace ember {
namespace cpu {

void lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates, const Tensor& c_prev) {
  const int64_t B = c_prev.size(0), H = c_prev.size(1);
  EMBER_DISPATCH_FLOAT_AND_HALF(gates.dtype(), "lstm_cell", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const T* gx = gates.data<T>();
    const T* cp = c_prev.data<T>();
    T* ho = h.data<T>();
    T* co = c.data<T>();
    parallel_for(0, B, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(8 * H, 1)),
                 [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const T* g = gx + b * 4 * H;
        for (int64_t j = 0; j < H; ++j) {
          A hv, cv;
          lstm_cell::forward(A(g[j]), A(g[H + j]), A(g[2 * H + j]), A(g[3 * H + j]),
                             A(cp[b * H + j]), hv, cv);
          ho[b * H + j] = T(hv);
          co[b * H + j] = T(cv);
        }
      }
    });
  });
}

void lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                        const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                        const Tensor& c_prev) {
  const int64_t B = c_prev.size(0), H = c_prev.size(1);
  EMBER_DISPATCH_FLOAT_AND_HALF(gates.dtype(), "lstm_cell_backward", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const T* gx = gates.data<T>();
    const T* cp = c_prev.data<T>();
    const T* dh = grad_h.defined() ? grad_h.data<T>() : nullptr;
    const T* dc = grad_c.defined() ? grad_c.data<T>() : nullptr;
    T* dg = grad_gates.data<T>();
    T* dcp = grad_c_prev.data<T>();
    parallel_for(0, B, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(12 * H, 1)),
                 [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const T* g = gx + b * 4 * H;
        T* d = dg + b * 4 * H;
        for (int64_t j = 0; j < H; ++j) {
          const int64_t k = b * H + j;
          A d_gates[4], d_prev;
          lstm_cell::backward(A(g[j]), A(g[H + j]), A(g[2 * H + j]), A(g[3 * H + j]), A(cp[k]),
                              dh ? A(dh[k]) : A(0), dc ? A(dc[k]) : A(0), d_gates, d_prev);
          for (int q = 0; q < 4; ++q) d[q * H + j] = T(d_gates[q]);
          dcp[k] = T(d_prev);
        }
      }
    });
  });
}

}  // namespace cpu
}  // namespace ember
