// Elementwise ops: numpy broadcasting, PyTorch type promotion, Python
// scalars, in-place forms.
#pragma once

#include "core/tensor.h"

namespace ember {

enum class BinaryOp { add, sub, mul, div };
const char* binary_op_name(BinaryOp op);

// The dtype of `a (op) b` (true division of integers gives float32).
DType binary_result_type(BinaryOp op, DType a, DType b);
// A 0-d tensor holding `value` with the dtype it takes next to a `like` tensor.
Tensor scalar_tensor(Scalar value, const Tensor& like);

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// a = a (op) b, b broadcast to a's shape; the result dtype must be a's.
Tensor& binary_(BinaryOp op, Tensor& a, const Tensor& b);

inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }

}  // namespace ember
