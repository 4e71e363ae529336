// The fused LSTM and GRU cell steps: the pointwise part of a step (gate
// activations, the new states) in one kernel, forward and backward.
#pragma once

#include <tuple>
#include <utility>

#include "core/tensor.h"

namespace ember {

// gates (B, 4H): the pre-activations [input, forget, cell, output] of each
// row; c_prev (B, H). Returns (h, c).
std::pair<Tensor, Tensor> lstm_cell(const Tensor& gates, const Tensor& c_prev);
// Returns (grad_gates, grad_c_prev); an undefined grad_h or grad_c is zero.
std::pair<Tensor, Tensor> lstm_cell_backward(const Tensor& grad_h, const Tensor& grad_c,
                                             const Tensor& gates, const Tensor& c_prev);

// input_gates, hidden_gates (B, 3H): the input and hidden projections (each
// with its bias) in the order [reset, update, new]; h_prev (B, H). Returns
// (h, workspace), workspace (B, 4H) holding r, z, n and the hidden
// projection's new-gate part: what the backward needs.
std::pair<Tensor, Tensor> gru_cell(const Tensor& input_gates, const Tensor& hidden_gates,
                                   const Tensor& h_prev);
// Returns (grad_input_gates, grad_hidden_gates, grad_h_prev).
std::tuple<Tensor, Tensor, Tensor> gru_cell_backward(const Tensor& grad_h,
                                                     const Tensor& workspace,
                                                     const Tensor& h_prev);

}  // namespace ember
