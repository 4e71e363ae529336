// Unary op entry points (maths, activations and their fused backward, clamp):
// argument checks, result dtype, output allocation, device dispatch.
#include <cmath>

#include "cpu/elementwise.h"
#include "cuda/kernels.h"
#include "ops/elementwise.h"

namespace ember {

const char* unary_op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::abs: return "abs";
    case UnaryOp::sign: return "sign";
    case UnaryOp::exp: return "exp";
    case UnaryOp::log: return "log";
    case UnaryOp::log1p: return "log1p";
    case UnaryOp::expm1: return "expm1";
    case UnaryOp::sqrt: return "sqrt";
    case UnaryOp::rsqrt: return "rsqrt";
    case UnaryOp::sin: return "sin";
    case UnaryOp::cos: return "cos";
    case UnaryOp::tanh: return "tanh";
    case UnaryOp::sigmoid: return "sigmoid";
    case UnaryOp::reciprocal: return "reciprocal";
    case UnaryOp::square: return "square";
    case UnaryOp::floor: return "floor";
    case UnaryOp::ceil: return "ceil";
    case UnaryOp::round: return "round";
    case UnaryOp::trunc: return "trunc";
    case UnaryOp::relu: return "relu";
    case UnaryOp::silu: return "silu";
    case UnaryOp::gelu: return "gelu";
    case UnaryOp::gelu_tanh: return "gelu";
    case UnaryOp::leaky_relu: return "leaky_relu";
    case UnaryOp::elu: return "elu";
    case UnaryOp::softplus: return "softplus";
    case UnaryOp::logical_not: return "logical_not";
    case UnaryOp::bitwise_not: return "bitwise_not";
    case UnaryOp::neg: return "neg";
  }
  return "unary";
}

DType unary_result_type(UnaryOp op, DType x) {
  const char* name = unary_op_name(op);
  switch (op) {
    case UnaryOp::logical_not:
      return DType::bool_;
    case UnaryOp::bitwise_not:
      EMBER_CHECK_KIND(type, !is_floating(x), name, ": only integer and bool tensors are "
                       "supported, got ", dtype_name(x));
      return x;
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::sign:
    case UnaryOp::square:
    case UnaryOp::relu:
    case UnaryOp::floor:
    case UnaryOp::ceil:
    case UnaryOp::round:
    case UnaryOp::trunc:
      EMBER_CHECK_KIND(type, x != DType::bool_, name, ": unsupported dtype bool");
      return x;
    default:
      return is_floating(x) ? x : DType::float32;
  }
}

// The exact integer and bool ops (and logical_not of any dtype) have their
// own CUDA kernels; the floating maths converts its input to the result
// dtype first.
static void cuda_unary(UnaryOp op, const Tensor& out, const Tensor& x, double alpha,
                       double beta) {
  if (cuda::has_exact_unary_kernel(op, x.dtype())) return cuda::exact_unary(op, out, x);
  const char* name = unary_op_name(op);
  EMBER_CHECK_KIND(type, cuda::has_unary_kernel(op), name, ": unsupported dtype ",
                   dtype_name(x.dtype()));
  EMBER_CHECK_KIND(type, is_floating(out.dtype()), name, ": unsupported dtype ",
                   dtype_name(out.dtype()), " on CUDA");
  cuda::unary(op, out, x.to(out.dtype()), alpha, beta);
}

static void check_parameters(UnaryOp op, double alpha, double beta) {
  const char* name = unary_op_name(op);
  EMBER_CHECK(std::isfinite(alpha) && std::isfinite(beta), name,
              ": parameters must be finite, got ", alpha, " and ", beta);
  if (op == UnaryOp::softplus) {
    EMBER_CHECK(alpha != 0, "softplus: beta must be nonzero");
  }
}

Tensor unary(UnaryOp op, const Tensor& x, double alpha, double beta) {
  const char* name = unary_op_name(op);
  EMBER_CHECK_KIND(type, x.defined(), name, ": expected a tensor, got an undefined one");
  check_parameters(op, alpha, beta);
  DType dtype = unary_result_type(op, x.dtype());
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::unary(op, out, x.to(dtype), alpha, beta); break;
    case DeviceType::cuda: cuda_unary(op, out, x, alpha, beta); break;
    default: no_kernel(name, x.device());
  }
  return out;
}

Tensor& unary_(UnaryOp op, Tensor& x, double alpha, double beta) {
  const char* name = unary_op_name(op);
  EMBER_CHECK_KIND(type, x.defined(), name, "_: expected a tensor, got an undefined one");
  check_parameters(op, alpha, beta);
  DType dtype = unary_result_type(op, x.dtype());
  EMBER_CHECK_KIND(type, dtype == x.dtype(), name, "_: result type ", dtype_name(dtype),
                   " can't be cast to the desired output type ", dtype_name(x.dtype()));
  check_writable(name, x);
  switch (x.device().type) {
    case DeviceType::cpu: cpu::unary(op, x, x, alpha, beta); break;
    case DeviceType::cuda: cuda_unary(op, x, x, alpha, beta); break;
    default: no_kernel(name, x.device());
  }
  x.bump_version();
  return x;
}

Tensor activation_backward(UnaryOp op, const Tensor& grad, const Tensor& x, double alpha,
                           double beta) {
  const char* name = unary_op_name(op);
  EMBER_CHECK_KIND(type, grad.defined() && x.defined(), name,
                   "_backward: expected tensors, got an undefined one");
  EMBER_CHECK(grad.device() == x.device(), name, "_backward: tensors are on different devices: ",
              grad.str(), " and ", x.str());
  EMBER_CHECK(grad.shape() == x.shape(), name, "_backward: grad shape ", shape_str(grad.shape()),
              " doesn't match the input shape ", shape_str(x.shape()));
  check_parameters(op, alpha, beta);
  DType dtype = promote_types(grad.dtype(), x.dtype());
  EMBER_CHECK_KIND(type, is_floating(dtype), name, "_backward: expected floating tensors, got ",
                   grad.str(), " and ", x.str());
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  switch (x.device().type) {
    case DeviceType::cpu:
      cpu::activation_backward(op, out, grad.to(dtype), x.to(dtype), alpha, beta);
      break;
    case DeviceType::cuda:
      cuda::activation_backward(op, out, grad.to(dtype), x.to(dtype), alpha, beta);
      break;
    default: no_kernel(name, x.device());
  }
  return out;
}

static DType clamp_result_type(const Tensor& x, const std::optional<Scalar>& min,
                               const std::optional<Scalar>& max) {
  EMBER_CHECK_KIND(type, x.defined(), "clamp: expected a tensor, got an undefined one");
  EMBER_CHECK(min.has_value() || max.has_value(),
              "clamp: at least one of 'min' or 'max' must not be None");
  EMBER_CHECK_KIND(type, x.dtype() != DType::bool_, "clamp: unsupported dtype bool");
  bool floating_bound = (min && min->is_floating()) || (max && max->is_floating());
  return floating_bound && !is_floating(x.dtype()) ? DType::float32 : x.dtype();
}

static void clamp_into(const Tensor& out, const Tensor& x, const std::optional<Scalar>& min,
                       const std::optional<Scalar>& max) {
  switch (x.device().type) {
    case DeviceType::cpu:
      cpu::clamp(out, x, min.value_or(Scalar()), min.has_value(), max.value_or(Scalar()),
                 max.has_value());
      break;
    case DeviceType::cuda:
      cuda::clamp(out, x, min.value_or(Scalar()), min.has_value(), max.value_or(Scalar()),
                  max.has_value());
      break;
    default: no_kernel("clamp", x.device());
  }
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  DType dtype = clamp_result_type(x, min, max);
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  clamp_into(out, x.to(dtype), min, max);
  return out;
}

Tensor& clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  DType dtype = clamp_result_type(x, min, max);
  EMBER_CHECK_KIND(type, dtype == x.dtype(), "clamp_: result type ", dtype_name(dtype),
                   " can't be cast to the desired output type ", dtype_name(x.dtype()));
  check_writable("clamp_", x);
  clamp_into(x, x, min, max);
  x.bump_version();
  return x;
}

}  // namespace ember
