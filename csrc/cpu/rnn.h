// CPU kernels of the fused LSTM and GRU cell steps (see ops/rnn.h). Operands
// are contiguous: LSTM gates (B, 4H), c_prev / h / c (B, H); GRU gate
// projections (B, 3H), workspace (B, 4H), h_prev / h / gradients of h (B, H).
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

void lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates, const Tensor& c_prev);
// grad_h / grad_c undefined count as zero.
void lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                        const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                        const Tensor& c_prev);

void gru_cell(const Tensor& h, const Tensor& workspace, const Tensor& input_gates,
              const Tensor& hidden_gates, const Tensor& h_prev);
void gru_cell_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                       const Tensor& grad_h_prev, const Tensor& grad_h, const Tensor& workspace,
                       const Tensor& h_prev);

}  // namespace cpu
}  // namespace ember
