// Elementwise op entry points: argument checks, broadcasting, promotion,
// output allocation, device dispatch.
#include "ops/elementwise.h"

#include "cpu/elementwise.h"

namespace ember {

const char* binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
  }
  return "binary";
}

DType binary_result_type(BinaryOp op, DType a, DType b) {
  DType t = promote_types(a, b);
  if (op == BinaryOp::div && !is_floating(t)) return DType::float32;
  if (t == DType::bool_ && (op == BinaryOp::add || op == BinaryOp::sub)) {
    EMBER_CHECK_KIND(type, op != BinaryOp::sub, "sub: subtraction of bool tensors is not "
                     "supported (use logical_xor or ~)");
  }
  return t;
}

Tensor scalar_tensor(Scalar value, const Tensor& like) {
  DType dtype = like.dtype();
  if (value.is_floating() && !is_floating(dtype)) dtype = DType::float32;
  if (value.kind() == DType::int64 && dtype == DType::bool_) dtype = DType::int64;
  return Tensor::full({}, value, dtype, like.device());
}

static void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.device() == b.device(), op, ": tensors are on different devices: ", a.str(),
              " and ", b.str());
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_same_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  DType dtype = binary_result_type(op, a.dtype(), b.dtype());
  Tensor out = Tensor::empty(shape, dtype, a.device());
  switch (a.device().type) {
    case DeviceType::cpu:
      cpu::binary(op, out, a.to(dtype).expand(shape), b.to(dtype).expand(shape));
      break;
    default: no_kernel(name, a.device());
  }
  return out;
}

Tensor& binary_(BinaryOp op, Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_same_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  EMBER_CHECK(shape == a.shape(), name, "_: output with shape ", shape_str(a.shape()),
              " doesn't match the broadcast shape ", shape_str(shape));
  DType dtype = binary_result_type(op, a.dtype(), b.dtype());
  EMBER_CHECK_KIND(type, dtype == a.dtype(), name, "_: result type ", dtype_name(dtype),
                   " can't be cast to the desired output type ", dtype_name(a.dtype()));
  // The kernel reads b while writing a: a b sharing a's memory is copied first.
  Tensor rhs = b.storage() == a.storage() ? b.to(dtype).clone() : b.to(dtype);
  switch (a.device().type) {
    case DeviceType::cpu: cpu::binary(op, a, a, rhs.expand(shape)); break;
    default: no_kernel(name, a.device());
  }
  a.bump_version();
  return a;
}

}  // namespace ember
