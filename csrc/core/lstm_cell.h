// The pointwise part of an LSTM step, shared by the CPU kernel
// (cpu/rnn.cpp) and the CUDA kernel (cuda/rnn.cu) so both compute the same
// formulas: from the four gate pre-activations (input, forget, cell, output;
// PyTorch's order) and the previous cell state to the new hidden and cell
// states, and back. A is the arithmetic type (float for float32 and the
// 16-bit types, double for float64).
#pragma once

#include <math.h>

#include "core/host_device.h"

namespace ember {
namespace lstm_cell {

EMBER_HOST_DEVICE inline float tanh_of(float v) { return tanhf(v); }
EMBER_HOST_DEVICE inline double tanh_of(double v) { return tanh(v); }
EMBER_HOST_DEVICE inline float sigmoid_of(float v) { return 1.0f / (1.0f + expf(-v)); }
EMBER_HOST_DEVICE inline double sigmoid_of(double v) { return 1.0 / (1.0 + exp(-v)); }

// c = f * c_prev + i * g, h = o * tanh(c).
template <typename A>
EMBER_HOST_DEVICE inline void forward(A gi, A gf, A gg, A go, A c_prev, A& h, A& c) {
  const A i = sigmoid_of(gi), f = sigmoid_of(gf), g = tanh_of(gg), o = sigmoid_of(go);
  c = f * c_prev + i * g;
  h = o * tanh_of(c);
}

// Gradients of the four pre-activations and of c_prev from those of h and c,
// given the gate activations i, f, g, o and tc = tanh(c) (a caller that
// evaluates the activations over whole rows at once calls this directly).
template <typename A>
EMBER_HOST_DEVICE inline void backward_from_activations(A i, A f, A g, A o, A tc, A c_prev, A dh,
                                                        A dc, A* d_gates, A& dc_prev) {
  const A dc_total = dc + dh * o * (A(1) - tc * tc);
  d_gates[0] = dc_total * g * i * (A(1) - i);
  d_gates[1] = dc_total * c_prev * f * (A(1) - f);
  d_gates[2] = dc_total * i * (A(1) - g * g);
  d_gates[3] = dh * tc * o * (A(1) - o);
  dc_prev = dc_total * f;
}

// The same from the pre-activations (the activations recomputed, not stored).
template <typename A>
EMBER_HOST_DEVICE inline void backward(A gi, A gf, A gg, A go, A c_prev, A dh, A dc, A* d_gates,
                                       A& dc_prev) {
  const A i = sigmoid_of(gi), f = sigmoid_of(gf), g = tanh_of(gg), o = sigmoid_of(go);
  const A tc = tanh_of(f * c_prev + i * g);
  backward_from_activations(i, f, g, o, tc, c_prev, dh, dc, d_gates, dc_prev);
}

}  // namespace lstm_cell
}  // namespace ember
