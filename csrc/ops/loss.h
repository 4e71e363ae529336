// Loss entry points: cross_entropy and nll_loss over class dims (fused
// log-softmax, class weights, ignore_index, label smoothing) and the
// pointwise losses (mse, l1, smooth_l1, binary cross entropy), each with its
// fused backward and PyTorch's reductions.
#pragma once

#include <optional>
#include <tuple>

#include "core/tensor.h"

namespace ember {

enum class Reduction { none, mean, sum };
enum class PointwiseLoss {
  mse,
  l1,
  smooth_l1,
  binary_cross_entropy,
  binary_cross_entropy_with_logits,
};

using OptionalTensor = std::optional<Tensor>;

// input: logits (N, C, d1, ...) or (C). target: int64 class indices of shape
// (N, d1, ...) (or () for a (C) input), or class probabilities of input's
// shape and dtype. weight: (C). Returns (loss, logsumexp per sample,
// total_weight); 'mean' divides by total_weight, the sum of the weights of
// the non-ignored targets (the sample count for probability targets).
std::tuple<Tensor, Tensor, Tensor> cross_entropy(const Tensor& input, const Tensor& target,
                                                 const OptionalTensor& weight, int64_t ignore_index,
                                                 double label_smoothing, Reduction reduction);
Tensor cross_entropy_backward(const Tensor& grad, const Tensor& input, const Tensor& target,
                              const OptionalTensor& weight, const Tensor& logsumexp,
                              const Tensor& total_weight, int64_t ignore_index,
                              double label_smoothing, Reduction reduction);

// input: log-probabilities (N, C, d1, ...) or (C); target as for cross_entropy
// (class indices only). Returns (loss, total_weight).
std::tuple<Tensor, Tensor> nll_loss(const Tensor& input, const Tensor& target,
                                    const OptionalTensor& weight, int64_t ignore_index,
                                    Reduction reduction);
Tensor nll_loss_backward(const Tensor& grad, const Tensor& input, const Tensor& target,
                         const OptionalTensor& weight, const Tensor& total_weight,
                         int64_t ignore_index, Reduction reduction);

// Elementwise losses of input against target (broadcast together). weight
// (binary cross entropies) broadcasts to the loss; pos_weight
// (with_logits only) to the loss along the last dim. beta: smooth_l1's threshold.
Tensor pointwise_loss(PointwiseLoss kind, const Tensor& input, const Tensor& target,
                      const OptionalTensor& weight, const OptionalTensor& pos_weight, double beta,
                      Reduction reduction);
// Returns (grad_input, grad_target), both of the broadcast shape.
std::tuple<Tensor, Tensor> pointwise_loss_backward(PointwiseLoss kind, const Tensor& grad,
                                                   const Tensor& input, const Tensor& target,
                                                   const OptionalTensor& weight,
                                                   const OptionalTensor& pos_weight, double beta,
                                                   Reduction reduction);

}  // namespace ember
