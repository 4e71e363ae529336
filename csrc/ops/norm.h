// Normalisation and dropout entry points: batch_norm, layer_norm, group_norm
// (forward returning the saved statistics, and fused backward) and dropout.
#pragma once

#include <optional>
#include <tuple>

#include "core/tensor.h"

namespace ember {

using OptionalTensor = std::optional<Tensor>;
using TensorTriple = std::tuple<Tensor, Tensor, Tensor>;

// input (N, C, *). Returns (output, mean, invstd), the statistics (C) used.
// Training updates the running statistics in place when given.
TensorTriple batch_norm(const Tensor& input, const OptionalTensor& running_mean,
                        const OptionalTensor& running_var, const OptionalTensor& weight,
                        const OptionalTensor& bias, bool training, double momentum, double eps);
// Returns (grad_input, grad_weight, grad_bias); the last two have shape (C).
TensorTriple batch_norm_backward(const Tensor& grad_out, const Tensor& input,
                                 const OptionalTensor& weight, const Tensor& mean,
                                 const Tensor& invstd, bool training);

// Normalises over the trailing `normalized_shape` dims. Returns (output, mean, rstd)
// with mean/rstd of shape input.shape[:-len(normalized_shape)].
TensorTriple layer_norm(const Tensor& input, const Shape& normalized_shape,
                        const OptionalTensor& weight, const OptionalTensor& bias, double eps);
TensorTriple layer_norm_backward(const Tensor& grad_out, const Tensor& input,
                                 const Shape& normalized_shape, const OptionalTensor& weight,
                                 const Tensor& mean, const Tensor& rstd);

// input (N, C, *), C divisible by num_groups. Returns (output, mean, rstd), (N, num_groups).
TensorTriple group_norm(const Tensor& input, int64_t num_groups, const OptionalTensor& weight,
                        const OptionalTensor& bias, double eps);
TensorTriple group_norm_backward(const Tensor& grad_out, const Tensor& input, int64_t num_groups,
                                 const OptionalTensor& weight, const Tensor& mean,
                                 const Tensor& rstd);

// Returns (output, mask): mask holds 0 or 1/(1-p) per element, output = input * mask.
// p = 1 gives zeros; p must lie in [0, 1].
std::tuple<Tensor, Tensor> dropout(const Tensor& input, double p);

}  // namespace ember
