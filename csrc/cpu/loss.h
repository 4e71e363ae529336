// CPU loss kernels. Class losses see contiguous input (N, C, D) and targets
// (N, D); per-sample results are written to (N, D) tensors and reduced by
// the caller. Pointwise kernels see operands already expanded to one shape.
#pragma once

#include "core/tensor.h"
#include "ops/loss.h"

namespace ember {
namespace cpu {

// IndexError naming `op` for a target outside [0, classes) other than ignore_index.
void check_class_targets(const char* op, const Tensor& target, int64_t classes,
                         int64_t ignore_index);

// ValueError naming `op` for an input outside [0, 1] (binary_cross_entropy
// clamps log(0), but a value out of range is a caller's mistake).
void check_probabilities(const char* op, const Tensor& input);

// loss, logsumexp, sample_weight: (N, D). weight: (C) or undefined.
void cross_entropy(const Tensor& loss, const Tensor& logsumexp, const Tensor& sample_weight,
                   const Tensor& input, const Tensor& target, const Tensor& weight,
                   int64_t ignore_index, double label_smoothing);
// target: probabilities (N, C, D).
void cross_entropy_probs(const Tensor& loss, const Tensor& logsumexp, const Tensor& input,
                         const Tensor& target, const Tensor& weight, double label_smoothing);
// grad: (N, D), any strides (an expanded scalar for reduced losses).
void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor& logsumexp,
                            int64_t ignore_index, double label_smoothing);
void cross_entropy_probs_backward(const Tensor& grad_input, const Tensor& grad,
                                  const Tensor& input, const Tensor& target, const Tensor& weight,
                                  const Tensor& logsumexp, double label_smoothing);

void nll_loss(const Tensor& loss, const Tensor& sample_weight, const Tensor& input,
              const Tensor& target, const Tensor& weight, int64_t ignore_index);
// grad_input must be zero-filled.
void nll_loss_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& target,
                       const Tensor& weight, int64_t ignore_index);

// All operands of out's shape; weight/pos_weight are read as given (pass ones when absent).
void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input,
                    const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                    double beta);
void pointwise_loss_backward(PointwiseLoss kind, const Tensor& grad_input,
                             const Tensor& grad_target, const Tensor& grad, const Tensor& input,
                             const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                             double beta);

}  // namespace cpu
}  // namespace ember
