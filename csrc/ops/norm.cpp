// Normalisation and dropout entry points: argument checks, reshaping to the
// kernels' (N, C, S) / (M, K) views, output allocation, device dispatch.
#include "ops/norm.h"

#include <cmath>

#include "core/random.h"
#include "cpu/norm.h"
#include "cuda/kernels.h"
#include "ops/elementwise.h"

namespace ember {

namespace {

void check_float_input(const char* op, const Tensor& input) {
  EMBER_CHECK_KIND(type, is_floating(input.dtype()), op,
                   ": expected a floating-point input, got ", input.str());
}

// A 1-D parameter of `size` elements on input's device with input's dtype;
// returns it, or an undefined tensor when absent.
Tensor check_param(const char* op, const char* name, const OptionalTensor& param,
                   const Tensor& input, int64_t size) {
  if (!param) return Tensor();
  const Tensor& p = *param;
  EMBER_CHECK(p.device() == input.device(), op, ": ", name, " is on ", p.device().str(),
              " but input is on ", input.device().str());
  EMBER_CHECK_KIND(type, p.dtype() == input.dtype(), op, ": ", name, " has dtype ",
                   dtype_name(p.dtype()), " but input has dtype ", dtype_name(input.dtype()));
  EMBER_CHECK(p.dim() == 1 && p.size(0) == size, op, ": expected ", name, " of shape [", size,
              "], got ", shape_str(p.shape()));
  return p;
}

void check_eps(const char* op, double eps) {
  EMBER_CHECK(eps >= 0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
}

int64_t trailing_numel(const Tensor& t, int64_t from) {
  int64_t n = 1;
  for (int64_t d = from; d < t.dim(); ++d) n *= t.size(d);
  return n;
}

void check_grad_shape(const char* op, const Tensor& grad, const Tensor& input) {
  EMBER_CHECK(grad.shape() == input.shape(), op, ": grad_output shape ", shape_str(grad.shape()),
              " doesn't match input shape ", shape_str(input.shape()));
  EMBER_CHECK(grad.device() == input.device() && grad.dtype() == input.dtype(), op,
              ": grad_output ", grad.str(), " doesn't match input ", input.str());
}

}  // namespace

TensorTriple batch_norm(const Tensor& input, const OptionalTensor& running_mean,
                        const OptionalTensor& running_var, const OptionalTensor& weight,
                        const OptionalTensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  check_float_input(op, input);
  EMBER_CHECK(input.dim() >= 2, op, ": expected input of shape (N, C, *), got ",
              shape_str(input.shape()));
  check_eps(op, eps);
  const int64_t N = input.size(0), C = input.size(1), S = trailing_numel(input, 2);
  Tensor rm = check_param(op, "running_mean", running_mean, input, C);
  Tensor rv = check_param(op, "running_var", running_var, input, C);
  Tensor w = check_param(op, "weight", weight, input, C);
  Tensor b = check_param(op, "bias", bias, input, C);
  if (training) {
    EMBER_CHECK(N * S > 1, op, ": expected more than 1 value per channel when training, got "
                "input of shape ", shape_str(input.shape()));
  } else {
    EMBER_CHECK(rm.defined() && rv.defined(), op,
                ": running_mean and running_var are required when training=False");
  }
  Tensor x = input.contiguous().reshape({N, C, S});
  Tensor out = Tensor::empty(input.shape(), input.dtype(), input.device());
  Tensor mean = Tensor::empty({C}, input.dtype(), input.device());
  Tensor invstd = Tensor::empty({C}, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::batch_norm(out.reshape({N, C, S}), mean, invstd, x, rm, rv, w, b, training, momentum,
                      eps);
      break;
    case DeviceType::cuda:
      cuda::batch_norm(out.reshape({N, C, S}), mean, invstd, x, rm, rv, w, b, training,
                       momentum, eps);
      break;
    default: no_kernel(op, input.device());
  }
  if (training && rm.defined()) rm.bump_version();
  if (training && rv.defined()) rv.bump_version();
  return {out, mean, invstd};
}

TensorTriple batch_norm_backward(const Tensor& grad_out, const Tensor& input,
                                 const OptionalTensor& weight, const Tensor& mean,
                                 const Tensor& invstd, bool training) {
  const char* op = "batch_norm_backward";
  check_float_input(op, input);
  EMBER_CHECK(input.dim() >= 2, op, ": expected input of shape (N, C, *), got ",
              shape_str(input.shape()));
  check_grad_shape(op, grad_out, input);
  const int64_t N = input.size(0), C = input.size(1), S = trailing_numel(input, 2);
  Tensor w = check_param(op, "weight", weight, input, C);
  check_param(op, "mean", mean, input, C);
  check_param(op, "invstd", invstd, input, C);
  Tensor grad_input = Tensor::empty(input.shape(), input.dtype(), input.device());
  Tensor grad_weight = Tensor::empty({C}, input.dtype(), input.device());
  Tensor grad_bias = Tensor::empty({C}, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::batch_norm_backward(grad_input.reshape({N, C, S}), grad_weight, grad_bias,
                               grad_out.contiguous().reshape({N, C, S}),
                               input.contiguous().reshape({N, C, S}), w, mean, invstd, training);
      break;
    case DeviceType::cuda:
      cuda::batch_norm_backward(grad_input.reshape({N, C, S}), grad_weight, grad_bias,
                                grad_out.contiguous().reshape({N, C, S}),
                                input.contiguous().reshape({N, C, S}), w, mean, invstd,
                                training);
      break;
    default: no_kernel(op, input.device());
  }
  return {grad_input, grad_weight, grad_bias};
}

namespace {

// Splits input into (M, K) for layer_norm after checking normalized_shape.
void layer_norm_dims(const char* op, const Tensor& input, const Shape& normalized_shape,
                     int64_t& M, int64_t& K) {
  const int64_t nd = int64_t(normalized_shape.size());
  EMBER_CHECK(nd >= 1, op, ": normalized_shape must have at least one dim");
  for (int64_t s : normalized_shape)
    EMBER_CHECK(s >= 0, op, ": normalized_shape ", shape_str(normalized_shape),
                " has a negative size");
  bool matches = input.dim() >= nd;
  for (int64_t i = 0; matches && i < nd; ++i)
    matches = input.size(input.dim() - nd + i) == normalized_shape[i];
  EMBER_CHECK(matches, op, ": normalized_shape ", shape_str(normalized_shape),
              " doesn't match the trailing dims of input of shape ", shape_str(input.shape()));
  K = trailing_numel(input, input.dim() - nd);
  M = 1;
  for (int64_t d = 0; d < input.dim() - nd; ++d) M *= input.size(d);
}

Tensor check_affine(const char* op, const char* name, const OptionalTensor& param,
                    const Tensor& input, const Shape& normalized_shape, int64_t K) {
  if (!param) return Tensor();
  const Tensor& p = *param;
  EMBER_CHECK(p.shape() == normalized_shape, op, ": expected ", name, " of shape ",
              shape_str(normalized_shape), ", got ", shape_str(p.shape()));
  return check_param(op, name, p.reshape({K}), input, K);
}

Shape stats_shape(const Tensor& input, int64_t nd) {
  return Shape(input.shape().begin(), input.shape().end() - nd);
}

}  // namespace

TensorTriple layer_norm(const Tensor& input, const Shape& normalized_shape,
                        const OptionalTensor& weight, const OptionalTensor& bias, double eps) {
  const char* op = "layer_norm";
  check_float_input(op, input);
  check_eps(op, eps);
  int64_t M, K;
  layer_norm_dims(op, input, normalized_shape, M, K);
  Tensor w = check_affine(op, "weight", weight, input, normalized_shape, K);
  Tensor b = check_affine(op, "bias", bias, input, normalized_shape, K);
  Shape sshape = stats_shape(input, int64_t(normalized_shape.size()));
  Tensor out = Tensor::empty(input.shape(), input.dtype(), input.device());
  Tensor mean = Tensor::empty(sshape, input.dtype(), input.device());
  Tensor rstd = Tensor::empty(sshape, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::layer_norm(out.reshape({M, K}), mean.reshape({M}), rstd.reshape({M}),
                      input.contiguous().reshape({M, K}), w, b, eps);
      break;
    case DeviceType::cuda:
      cuda::layer_norm(out.reshape({M, K}), mean.reshape({M}), rstd.reshape({M}),
                       input.contiguous().reshape({M, K}), w, b, eps);
      break;
    default: no_kernel(op, input.device());
  }
  return {out, mean, rstd};
}

TensorTriple layer_norm_backward(const Tensor& grad_out, const Tensor& input,
                                 const Shape& normalized_shape, const OptionalTensor& weight,
                                 const Tensor& mean, const Tensor& rstd) {
  const char* op = "layer_norm_backward";
  check_float_input(op, input);
  check_grad_shape(op, grad_out, input);
  int64_t M, K;
  layer_norm_dims(op, input, normalized_shape, M, K);
  Tensor w = check_affine(op, "weight", weight, input, normalized_shape, K);
  Shape sshape = stats_shape(input, int64_t(normalized_shape.size()));
  EMBER_CHECK(mean.shape() == sshape && rstd.shape() == sshape, op, ": expected mean and rstd of "
              "shape ", shape_str(sshape), ", got ", shape_str(mean.shape()), " and ",
              shape_str(rstd.shape()));
  Tensor grad_input = Tensor::empty(input.shape(), input.dtype(), input.device());
  Tensor grad_weight = Tensor::empty(normalized_shape, input.dtype(), input.device());
  Tensor grad_bias = Tensor::empty(normalized_shape, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::layer_norm_backward(grad_input.reshape({M, K}), grad_weight.reshape({K}),
                               grad_bias.reshape({K}), grad_out.contiguous().reshape({M, K}),
                               input.contiguous().reshape({M, K}), w,
                               mean.contiguous().reshape({M}), rstd.contiguous().reshape({M}));
      break;
    case DeviceType::cuda:
      cuda::layer_norm_backward(grad_input.reshape({M, K}), grad_weight.reshape({K}),
                                grad_bias.reshape({K}), grad_out.contiguous().reshape({M, K}),
                                input.contiguous().reshape({M, K}), w,
                                mean.contiguous().reshape({M}), rstd.contiguous().reshape({M}));
      break;
    default: no_kernel(op, input.device());
  }
  return {grad_input, grad_weight, grad_bias};
}

namespace {

void group_norm_dims(const char* op, const Tensor& input, int64_t num_groups, int64_t& N,
                     int64_t& C, int64_t& S) {
  EMBER_CHECK(input.dim() >= 2, op, ": expected input of shape (N, C, *), got ",
              shape_str(input.shape()));
  N = input.size(0);
  C = input.size(1);
  S = trailing_numel(input, 2);
  EMBER_CHECK(num_groups > 0, op, ": num_groups must be positive, got ", num_groups);
  EMBER_CHECK(C % num_groups == 0, op, ": expected the number of channels ", C,
              " to be divisible by num_groups ", num_groups, " (input of shape ",
              shape_str(input.shape()), ")");
}

}  // namespace

TensorTriple group_norm(const Tensor& input, int64_t num_groups, const OptionalTensor& weight,
                        const OptionalTensor& bias, double eps) {
  const char* op = "group_norm";
  check_float_input(op, input);
  check_eps(op, eps);
  int64_t N, C, S;
  group_norm_dims(op, input, num_groups, N, C, S);
  Tensor w = check_param(op, "weight", weight, input, C);
  Tensor b = check_param(op, "bias", bias, input, C);
  Tensor out = Tensor::empty(input.shape(), input.dtype(), input.device());
  Tensor mean = Tensor::empty({N, num_groups}, input.dtype(), input.device());
  Tensor rstd = Tensor::empty({N, num_groups}, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::group_norm(out.reshape({N, C, S}), mean, rstd, input.contiguous().reshape({N, C, S}),
                      num_groups, w, b, eps);
      break;
    case DeviceType::cuda:
      cuda::group_norm(out.reshape({N, C, S}), mean, rstd, input.contiguous().reshape({N, C, S}),
                       num_groups, w, b, eps);
      break;
    default: no_kernel(op, input.device());
  }
  return {out, mean, rstd};
}

TensorTriple group_norm_backward(const Tensor& grad_out, const Tensor& input, int64_t num_groups,
                                 const OptionalTensor& weight, const Tensor& mean,
                                 const Tensor& rstd) {
  const char* op = "group_norm_backward";
  check_float_input(op, input);
  check_grad_shape(op, grad_out, input);
  int64_t N, C, S;
  group_norm_dims(op, input, num_groups, N, C, S);
  Tensor w = check_param(op, "weight", weight, input, C);
  const Shape sshape{N, num_groups};
  EMBER_CHECK(mean.shape() == sshape && rstd.shape() == sshape, op, ": expected mean and rstd of "
              "shape ", shape_str(sshape), ", got ", shape_str(mean.shape()), " and ",
              shape_str(rstd.shape()));
  Tensor grad_input = Tensor::empty(input.shape(), input.dtype(), input.device());
  Tensor grad_weight = Tensor::empty({C}, input.dtype(), input.device());
  Tensor grad_bias = Tensor::empty({C}, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      cpu::group_norm_backward(grad_input.reshape({N, C, S}), grad_weight, grad_bias,
                               grad_out.contiguous().reshape({N, C, S}),
                               input.contiguous().reshape({N, C, S}), num_groups, w,
                               mean.contiguous(), rstd.contiguous());
      break;
    case DeviceType::cuda:
      cuda::group_norm_backward(grad_input.reshape({N, C, S}), grad_weight, grad_bias,
                                grad_out.contiguous().reshape({N, C, S}),
                                input.contiguous().reshape({N, C, S}), num_groups, w,
                                mean.contiguous(), rstd.contiguous());
      break;
    default: no_kernel(op, input.device());
  }
  return {grad_input, grad_weight, grad_bias};
}

std::tuple<Tensor, Tensor> dropout(const Tensor& input, double p) {
  const char* op = "dropout";
  check_float_input(op, input);
  EMBER_CHECK(p >= 0 && p <= 1, op, ": probability has to be between 0 and 1, but got ", p);
  Tensor mask = Tensor::empty(input.shape(), input.dtype(), input.device());
  if (p == 1) {
    mask.fill_(0);
    return {binary(BinaryOp::mul, input, mask), mask};
  }
  switch (input.device().type) {
    case DeviceType::cpu:
      bernoulli_(mask, 1 - p);
      binary_(BinaryOp::mul, mask, scalar_tensor(1.0 / (1 - p), mask));
      return {binary(BinaryOp::mul, input, mask), mask};
    case DeviceType::cuda: {
      // The same counters bernoulli_ would reserve, so the mask equals the CPU's.
      Generator& gen = default_generator();
      const uint64_t key = gen.seed();
      const uint64_t offset = gen.reserve(uint64_t(input.numel()));
      Tensor out = Tensor::empty(input.shape(), input.dtype(), input.device());
      cuda::dropout(out, mask, input.contiguous(), key, offset, p);
      return {out, mask};
    }
    default: no_kernel(op, input.device());
  }
}

}  // namespace ember
