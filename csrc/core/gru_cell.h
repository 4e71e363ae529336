// The pointwise part of a GRU step, shared by the CPU kernel (cpu/rnn.cpp)
// and the CUDA kernel (cuda/rnn.cu) so both compute the same formulas. From
// the input projection's gate pre-activations x (with b_ih) and the hidden
// projection's h_proj (with b_hh), PyTorch's order r, z, n:
//   r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n),
//   h' = (1 - z) * n + z * h,
// and back. The forward also gives r, z, n and h_n (the workspace), so the
// backward is one pass without any activation recomputed. A is the
// arithmetic type (float for float32 and the 16-bit types, double for
// float64).
#pragma once

#include "core/host_device.h"
#include "core/lstm_cell.h"

namespace ember {
namespace gru_cell {

// The activations are the LSTM cell's, so both cells round alike.
using lstm_cell::sigmoid_of;
using lstm_cell::tanh_of;

// The workspace of one hidden unit: what the backward reads.
template <typename A>
struct Saved {
  A r, z, n, h_n;
};

template <typename A>
EMBER_HOST_DEVICE inline A forward(A x_r, A x_z, A x_n, A h_r, A h_z, A h_n, A h_prev,
                                   Saved<A>& s) {
  s.r = sigmoid_of(x_r + h_r);
  s.z = sigmoid_of(x_z + h_z);
  s.n = tanh_of(x_n + s.r * h_n);
  s.h_n = h_n;
  // (1 - z) * n + z * h with one multiplication.
  return s.n + s.z * (h_prev - s.n);
}

// Gradients from that of h': d_r, d_z, d_n of the pre-activations (the input
// projection's; the hidden projection's are the same but d_n * r for h_n)
// and of h_prev.
template <typename A>
struct Grads {
  A d_r, d_z, d_n, d_h_n, d_h_prev;
};

template <typename A>
EMBER_HOST_DEVICE inline Grads<A> backward(const Saved<A>& s, A h_prev, A dh) {
  Grads<A> g;
  g.d_n = dh * (A(1) - s.z) * (A(1) - s.n * s.n);
  g.d_z = dh * (h_prev - s.n) * s.z * (A(1) - s.z);
  g.d_r = g.d_n * s.h_n * s.r * (A(1) - s.r);
  g.d_h_n = g.d_n * s.r;
  g.d_h_prev = dh * s.z;
  return g;
}

}  // namespace gru_cell
}  // namespace ember
