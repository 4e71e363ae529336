// CPU normalisation kernels. Inputs arrive contiguous and viewed as
// (N, C, S) for batch/group norm or (M, K) for layer norm; weight, bias and
// running statistics may be strided 1-D tensors, or undefined when absent.
// Statistics accumulate in double.
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

// Training: batch statistics into mean/invstd (C) and, when defined, the
// running statistics updated with momentum (unbiased variance). Eval:
// mean/invstd come from the running statistics.
void batch_norm(const Tensor& out, const Tensor& mean, const Tensor& invstd, const Tensor& x,
                const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                const Tensor& bias, bool training, double momentum, double eps);
// grad_weight/grad_bias (C) are always written; grad_input uses the batch
// statistics' dependence on x only in training.
void batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                         bool training);

// Rows of x (M, K) normalised; mean/rstd (M); weight/bias (K).
void layer_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, double eps);
void layer_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& rstd);

// x (N, C, S) in `groups` groups of C / groups channels; mean/rstd (N, groups).
void group_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                int64_t groups, const Tensor& weight, const Tensor& bias, double eps);
void group_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         int64_t groups, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd);

}  // namespace cpu
}  // namespace ember
