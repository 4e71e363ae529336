// CPU fused LSTM and GRU cell steps: one pass over the batch rows computes
// every gate activation and the new states (and, backward, every gate
// gradient), where the composed ops would make a dozen passes and temporaries.
#include "cpu/rnn.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/gru_cell.h"
#include "core/lstm_cell.h"
#include "core/parallel.h"
#include "cpu/vec_math.h"

namespace ember {
namespace cpu {

namespace {

template <typename T>
constexpr bool kVectorMaths = std::is_same_v<T, float> || std::is_same_v<T, double>;

// The four gate activations of one LSTM row (i, f, g, o side by side) from
// the vector kernels: scalar libm expf/tanhf per element was nearly all of
// the cell's time.
template <typename T>
void lstm_activations(T* w, const T* gates, int64_t H) {
  vec::map(vec::MapOp::sigmoid, gates, w, 2 * H);
  vec::map(vec::MapOp::tanh, gates + 2 * H, w + 2 * H, H);
  vec::map(vec::MapOp::sigmoid, gates + 3 * H, w + 3 * H, H);
}

// One row of the LSTM forward for float32 and float64: lstm_cell::forward's
// formulas with the activations of a workspace row (4H), tanh(c) evaluated
// in place in h.
template <typename T>
void lstm_row_vectorised(T* __restrict h, T* __restrict c, T* __restrict w,
                         const T* __restrict gates, const T* __restrict c_prev, int64_t H) {
  lstm_activations(w, gates, H);
  const T* __restrict i = w;
  const T* __restrict f = w + H;
  const T* __restrict g = w + 2 * H;
  const T* __restrict o = w + 3 * H;
  for (int64_t j = 0; j < H; ++j) c[j] = f[j] * c_prev[j] + i[j] * g[j];
  vec::map(vec::MapOp::tanh, c, h, H);
  for (int64_t j = 0; j < H; ++j) h[j] *= o[j];
}

// One row of the LSTM backward for float32 and float64: the activations and
// tanh(c) from the vector kernels into a workspace row (5H), then
// lstm_cell::backward_from_activations over operands that never overlap, so
// the loop vectorises. Absent output gradients point at a row of zeros.
template <typename T>
void lstm_backward_row_vectorised(T* __restrict d_gates, T* __restrict dc_prev,
                                  T* __restrict w, const T* __restrict gates,
                                  const T* __restrict c_prev, const T* __restrict dh,
                                  const T* __restrict dc, int64_t H) {
  lstm_activations(w, gates, H);
  const T* __restrict i = w;
  const T* __restrict f = w + H;
  const T* __restrict g = w + 2 * H;
  const T* __restrict o = w + 3 * H;
  T* __restrict tc = w + 4 * H;
  for (int64_t j = 0; j < H; ++j) tc[j] = f[j] * c_prev[j] + i[j] * g[j];
  vec::map(vec::MapOp::tanh, tc, tc, H);
  for (int64_t j = 0; j < H; ++j) {
    T d[4];
    lstm_cell::backward_from_activations(i[j], f[j], g[j], o[j], tc[j], c_prev[j], dh[j], dc[j],
                                         d, dc_prev[j]);
    for (int q = 0; q < 4; ++q) d_gates[q * H + j] = d[q];
  }
}

}  // namespace

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
      if constexpr (kVectorMaths<T>) {
        std::vector<T> workspace(4 * H);
        for (int64_t b = lo; b < hi; ++b) {
          lstm_row_vectorised(ho + b * H, co + b * H, workspace.data(), gx + b * 4 * H,
                              cp + b * H, H);
        }
      } else {
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
      if constexpr (kVectorMaths<T>) {
        // Activations and tanh(c) (5H), then the zero row absent gradients read.
        std::vector<T> workspace(6 * H, T(0));
        const T* zeros = workspace.data() + 5 * H;
        for (int64_t b = lo; b < hi; ++b) {
          lstm_backward_row_vectorised(dg + b * 4 * H, dcp + b * H, workspace.data(),
                                       gx + b * 4 * H, cp + b * H, dh ? dh + b * H : zeros,
                                       dc ? dc + b * H : zeros, H);
        }
      } else {
        for (int64_t b = lo; b < hi; ++b) {
          const T* g = gx + b * 4 * H;
          T* d = dg + b * 4 * H;
          for (int64_t j = 0; j < H; ++j) {
            const int64_t k = b * H + j;
            A d_gates[4], d_prev;
            lstm_cell::backward(A(g[j]), A(g[H + j]), A(g[2 * H + j]), A(g[3 * H + j]),
                                A(cp[k]), dh ? A(dh[k]) : A(0), dc ? A(dc[k]) : A(0), d_gates,
                                d_prev);
            for (int q = 0; q < 4; ++q) d[q * H + j] = T(d_gates[q]);
            dcp[k] = T(d_prev);
          }
        }
      }
    });
  });
}

namespace {

// One row of the GRU forward for float32 and float64: the same formulas as
// gru_cell::forward, with the activations from the vector kernels (scalar
// libm tanhf was three quarters of the time), evaluated in place in the
// row's workspace, where r and z lie side by side.
template <typename T>
void gru_row_vectorised(T* __restrict h, T* __restrict w, const T* __restrict x,
                        const T* __restrict hh, const T* __restrict h_prev, int64_t H) {
  for (int64_t j = 0; j < 2 * H; ++j) w[j] = x[j] + hh[j];
  vec::map(vec::MapOp::sigmoid, w, w, 2 * H);
  const T* __restrict r = w;
  const T* __restrict z = w + H;
  T* __restrict n = w + 2 * H;
  T* __restrict h_n = w + 3 * H;
  for (int64_t j = 0; j < H; ++j) {
    h_n[j] = hh[2 * H + j];
    n[j] = x[2 * H + j] + r[j] * h_n[j];
  }
  vec::map(vec::MapOp::tanh, n, n, H);
  for (int64_t j = 0; j < H; ++j) h[j] = n[j] + z[j] * (h_prev[j] - n[j]);
}

// One row of the GRU backward. The operands never overlap; saying so lets
// the compiler vectorise the loop (with seven streams it gave up on
// run-time overlap checks and ran it scalar).
template <typename T>
void gru_backward_row(T* __restrict dx, T* __restrict dhh, T* __restrict dh_prev,
                      const T* __restrict w, const T* __restrict h_prev,
                      const T* __restrict dh, int64_t H) {
  using A = acc_t<T>;
  for (int64_t j = 0; j < H; ++j) {
    const gru_cell::Saved<A> s{A(w[j]), A(w[H + j]), A(w[2 * H + j]), A(w[3 * H + j])};
    const gru_cell::Grads<A> g = gru_cell::backward(s, A(h_prev[j]), A(dh[j]));
    dx[j] = dhh[j] = T(g.d_r);
    dx[H + j] = dhh[H + j] = T(g.d_z);
    dx[2 * H + j] = T(g.d_n);
    dhh[2 * H + j] = T(g.d_h_n);
    dh_prev[j] = T(g.d_h_prev);
  }
}

}  // namespace

void gru_cell(const Tensor& h, const Tensor& workspace, const Tensor& input_gates,
              const Tensor& hidden_gates, const Tensor& h_prev) {
  const int64_t B = h_prev.size(0), H = h_prev.size(1);
  EMBER_DISPATCH_FLOAT_AND_HALF(h_prev.dtype(), "gru_cell", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const T* xg = input_gates.data<T>();
    const T* hg = hidden_gates.data<T>();
    const T* hp = h_prev.data<T>();
    T* ho = h.data<T>();
    T* ws = workspace.data<T>();
    parallel_for(0, B, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(12 * H, 1)),
                 [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        const T* x = xg + b * 3 * H;
        const T* hh = hg + b * 3 * H;
        T* w = ws + b * 4 * H;
        if constexpr (kVectorMaths<T>) {
          gru_row_vectorised(ho + b * H, w, x, hh, hp + b * H, H);
        } else {
          for (int64_t j = 0; j < H; ++j) {
            gru_cell::Saved<A> s;
            const A hv = gru_cell::forward(A(x[j]), A(x[H + j]), A(x[2 * H + j]), A(hh[j]),
                                           A(hh[H + j]), A(hh[2 * H + j]), A(hp[b * H + j]), s);
            ho[b * H + j] = T(hv);
            w[j] = T(s.r);
            w[H + j] = T(s.z);
            w[2 * H + j] = T(s.n);
            w[3 * H + j] = T(s.h_n);
          }
        }
      }
    });
  });
}

void gru_cell_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                       const Tensor& grad_h_prev, const Tensor& grad_h, const Tensor& workspace,
                       const Tensor& h_prev) {
  const int64_t B = h_prev.size(0), H = h_prev.size(1);
  EMBER_DISPATCH_FLOAT_AND_HALF(h_prev.dtype(), "gru_cell_backward", [&] {
    using T = scalar_t;
    const T* ws = workspace.data<T>();
    const T* hp = h_prev.data<T>();
    const T* dh = grad_h.data<T>();
    T* dx = grad_input_gates.data<T>();
    T* dhg = grad_hidden_gates.data<T>();
    T* dhp = grad_h_prev.data<T>();
    parallel_for(0, B, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(14 * H, 1)),
                 [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b) {
        gru_backward_row(dx + b * 3 * H, dhg + b * 3 * H, dhp + b * H, ws + b * 4 * H,
                         hp + b * H, dh + b * H, H);
      }
    });
  });
}

}  // namespace cpu
}  // namespace ember
