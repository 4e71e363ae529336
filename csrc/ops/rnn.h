// The fused LSTM cell step: the pointwise part of an LSTM step (gate
// activations, new cell and hidden state) in one kernel, forward and backward.
#pragma once

#include <utility>

#include "core/tensor.h"

namespace ember {

// gates (B, 4H): the pre-activations [input, forget, cell, output] of each
// row; c_prev (B, H). Returns (h, c).
std::pair<Tensor, Tensor> lstm_cell(const Tensor& gates, const Tensor& c_prev);
// Returns (grad_gates, grad_c_prev); an undefined grad_h or grad_c is zero.
std::pair<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_h, const Tensor& grad_c,
                                             const Tensor& gates, const Tensor& c_prev);

}  // namespace ember
