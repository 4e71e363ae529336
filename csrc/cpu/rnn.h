// CPU kernels of the fused LSTM cell step (see ops/rnn.h). Operands are
// contiguous: gates (B, 4H), c_prev / h / c (B, H).
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

void lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates, const Tensor& c_prev);
// grad_h / grad_c undefined count as zero.
void lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                        const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                        const Tensor& c_prev);

}  // namespace cpu
}  // namespace ember
