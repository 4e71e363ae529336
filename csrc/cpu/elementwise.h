// CPU elementwise kernels. Operands arrive with the output's shape (inputs
// already expanded) and the compute dtype; the kernels pick a contiguous
// vectorisable loop or the general strided one per run.
#pragma once

#include "core/tensor.h"
#include "ops/elementwise.h"

namespace ember {
namespace cpu {

// out = a (op) b; integer floor_divide/remainder by zero and integer pow with
// negative exponents are rejected by the caller (see has_zero / has_negative).
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);

// out (bool) = a (op) b, a and b of one dtype (bool for the logical ops).
void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);

// out = condition ? x : y; condition bool, x and y of out's dtype.
void where(const Tensor& out, const Tensor& condition, const Tensor& x, const Tensor& y);

// out = op(x), x already in out's dtype.
void unary(UnaryOp op, const Tensor& out, const Tensor& x, double alpha, double beta);

// grad_in = grad * op'(x) for the activations (see ops/elementwise.h).
void activation_backward(UnaryOp op, const Tensor& grad_in, const Tensor& grad, const Tensor& x,
                         double alpha, double beta);

// out = clamp(x, lo, hi), a bound applied only when its flag is set.
void clamp(const Tensor& out, const Tensor& x, Scalar lo, bool has_lo, Scalar hi, bool has_hi);

// Whether any element is zero / negative (checks made before integer kernels).
bool has_zero(const Tensor& t);
bool has_negative(const Tensor& t);

}  // namespace cpu
}  // namespace ember
