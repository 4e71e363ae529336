// Elementwise ops: numpy broadcasting, PyTorch type promotion, Python
// scalars, in-place forms. Binary arithmetic, comparisons and logical ops,
// where, clamp, unary maths and activations with their fused backward.
#pragma once

#include <optional>

#include "core/tensor.h"

namespace ember {

enum class BinaryOp { add, sub, mul, div, floor_divide, remainder, pow, maximum, minimum };
const char* binary_op_name(BinaryOp op);

// Comparisons and logical ops: the result is always bool.
enum class CompareOp { eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor };
const char* compare_op_name(CompareOp op);

// Unary ops. The parametrised activations read `alpha`/`beta` of unary():
// leaky_relu (alpha = negative_slope), elu (alpha), softplus (alpha = beta,
// beta = threshold).
enum class UnaryOp {
  abs, sign, exp, log, log1p, expm1, sqrt, rsqrt, sin, cos, tanh, sigmoid, reciprocal, square,
  floor, ceil, round, trunc, relu, silu, gelu, gelu_tanh, leaky_relu, elu, softplus,
  logical_not, bitwise_not, neg
};
const char* unary_op_name(UnaryOp op);

// The dtype of `a (op) b` (true division of integers gives float32).
DType binary_result_type(BinaryOp op, DType a, DType b);
// The dtype of op(x): floating-only maths turns integers and bool into float32.
DType unary_result_type(UnaryOp op, DType x);
// A 0-d tensor holding `value` with the dtype it takes next to a `like` tensor.
Tensor scalar_tensor(Scalar value, const Tensor& like);

// In-place ops refuse outputs whose elements share memory (expanded views):
// each element would be updated more than once.
void check_writable(const char* op, const Tensor& out);

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// a = a (op) b, b broadcast to a's shape; the result dtype must be a's.
Tensor& binary_(BinaryOp op, Tensor& a, const Tensor& b);

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b);

// condition ? x : y, all three broadcast; condition must be bool.
Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y);

Tensor unary(UnaryOp op, const Tensor& x, double alpha = 0, double beta = 0);
Tensor& unary_(UnaryOp op, Tensor& x, double alpha = 0, double beta = 0);

// The gradient of an activation (relu, leaky_relu, elu, softplus, silu, gelu,
// gelu_tanh) from its input `x`, in one pass.
Tensor activation_backward(UnaryOp op, const Tensor& grad, const Tensor& x, double alpha = 0,
                           double beta = 0);

// min(max(x, min), max) with either bound optional; NaN stays NaN.
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
Tensor& clamp_(Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);

inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }

}  // namespace ember
