// Elementwise op entry points for binary arithmetic, comparisons and where:
// argument checks, broadcasting, promotion, output allocation, device
// dispatch. The unary ops live in ops/unary.cpp.
#include "ops/elementwise.h"

#include "cpu/elementwise.h"
#include "cuda/kernels.h"

namespace ember {

const char* binary_op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::floor_divide: return "floor_divide";
    case BinaryOp::remainder: return "remainder";
    case BinaryOp::pow: return "pow";
    case BinaryOp::maximum: return "maximum";
    case BinaryOp::minimum: return "minimum";
  }
  return "binary";
}

const char* compare_op_name(CompareOp op) {
  switch (op) {
    case CompareOp::eq: return "eq";
    case CompareOp::ne: return "ne";
    case CompareOp::lt: return "lt";
    case CompareOp::le: return "le";
    case CompareOp::gt: return "gt";
    case CompareOp::ge: return "ge";
    case CompareOp::logical_and: return "logical_and";
    case CompareOp::logical_or: return "logical_or";
    case CompareOp::logical_xor: return "logical_xor";
  }
  return "compare";
}

DType binary_result_type(BinaryOp op, DType a, DType b) {
  DType t = promote_types(a, b);
  if (op == BinaryOp::div && !is_floating(t)) return DType::float32;
  if (t == DType::bool_) {
    EMBER_CHECK_KIND(type, op != BinaryOp::sub, "sub: subtraction of bool tensors is not "
                     "supported (use logical_xor or ~)");
    EMBER_CHECK_KIND(type, op != BinaryOp::floor_divide && op != BinaryOp::remainder &&
                               op != BinaryOp::pow,
                     binary_op_name(op), ": unsupported dtype bool");
  }
  return t;
}

Tensor scalar_tensor(Scalar value, const Tensor& like) {
  DType dtype = like.dtype();
  if (value.is_floating() && !is_floating(dtype)) dtype = DType::float32;
  if (value.kind() == DType::int64 && dtype == DType::bool_) dtype = DType::int64;
  return Tensor::full({}, value, dtype, like.device());
}

static void check_defined(const char* op, const Tensor& t) {
  EMBER_CHECK_KIND(type, t.defined(), op, ": expected a tensor, got an undefined one");
}

static void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a);
  check_defined(op, b);
  EMBER_CHECK(a.device() == b.device(), op, ": tensors are on different devices: ", a.str(),
              " and ", b.str());
}

// Integer division by zero and integer negative powers have no answer; they
// are refused before a kernel could trap or produce garbage.
static void check_integer_operands(BinaryOp op, DType dtype, const Tensor& b) {
  if (!is_integral(dtype)) return;
  bool on_cuda = b.device().is_cuda();
  if (op == BinaryOp::floor_divide || op == BinaryOp::remainder) {
    EMBER_CHECK_KIND(runtime, !(on_cuda ? cuda::has_zero(b) : cpu::has_zero(b)),
                     binary_op_name(op), ": ZeroDivisionError: integer division by zero");
  }
  if (op == BinaryOp::pow) {
    EMBER_CHECK_KIND(runtime, !(on_cuda ? cuda::has_negative(b) : cpu::has_negative(b)),
                     "pow: integers to negative integer powers are not allowed");
  }
}

void check_writable(const char* op, const Tensor& out) {
  for (int64_t d = 0; d < out.dim(); ++d) {
    EMBER_CHECK(out.stride(d) != 0 || out.size(d) <= 1, op,
                ": more than one element of the written-to tensor ", out.str(),
                " refers to a single memory location (clone it first)");
  }
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  check_same_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  DType dtype = binary_result_type(op, a.dtype(), b.dtype());
  Tensor out = Tensor::empty(shape, dtype, a.device());
  switch (a.device().type) {
    case DeviceType::cpu: {
      Tensor rhs = b.to(dtype);
      check_integer_operands(op, dtype, rhs);
      cpu::binary(op, out, a.to(dtype).expand(shape), rhs.expand(shape));
      break;
    }
    case DeviceType::cuda: {
      Tensor rhs = b.to(dtype);
      check_integer_operands(op, dtype, rhs);
      cuda::binary(op, out, a.to(dtype).expand(shape), rhs.expand(shape));
      break;
    }
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
  check_writable(name, a);
  DType dtype = binary_result_type(op, a.dtype(), b.dtype());
  EMBER_CHECK_KIND(type, dtype == a.dtype(), name, "_: result type ", dtype_name(dtype),
                   " can't be cast to the desired output type ", dtype_name(a.dtype()));
  switch (a.device().type) {
    case DeviceType::cpu: {
      // The kernel reads b while writing a: a b sharing a's memory is copied first.
      Tensor rhs = b.storage() == a.storage() ? b.to(dtype).clone() : b.to(dtype);
      check_integer_operands(op, dtype, rhs);
      cpu::binary(op, a, a, rhs.expand(shape));
      break;
    }
    case DeviceType::cuda: {
      // Each thread reads its own element of b before writing a's, so only a b
      // that is exactly a's view may share its memory without a copy.
      bool same_view = b.offset() == a.offset() && b.shape() == a.shape() &&
                       b.strides() == a.strides();
      Tensor rhs = b.to(dtype);
      if (rhs.storage() == a.storage() && !same_view) rhs = rhs.clone();
      check_integer_operands(op, dtype, rhs);
      cuda::binary(op, a, a, rhs.expand(shape));
      break;
    }
    default: no_kernel(name, a.device());
  }
  a.bump_version();
  return a;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b) {
  const char* name = compare_op_name(op);
  check_same_device(name, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  bool logical = op == CompareOp::logical_and || op == CompareOp::logical_or ||
                 op == CompareOp::logical_xor;
  // Logical ops read "nonzero" straight from each operand's own type only
  // when both share it; otherwise both become bool first.
  DType dtype = logical && a.dtype() != b.dtype() ? DType::bool_ : promote_types(a.dtype(), b.dtype());
  Tensor out = Tensor::empty(shape, DType::bool_, a.device());
  switch (a.device().type) {
    case DeviceType::cpu:
      cpu::compare(op, out, a.to(dtype).expand(shape), b.to(dtype).expand(shape));
      break;
    case DeviceType::cuda:
      cuda::compare(op, out, a.to(dtype).expand(shape), b.to(dtype).expand(shape));
      break;
    default: no_kernel(name, a.device());
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& x, const Tensor& y) {
  check_same_device("where", condition, x);
  check_same_device("where", x, y);
  EMBER_CHECK_KIND(type, condition.dtype() == DType::bool_,
                   "where: expected condition to be a bool tensor, got ", condition.str());
  Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), x.shape(), "where"),
                                 y.shape(), "where");
  DType dtype = promote_types(x.dtype(), y.dtype());
  Tensor out = Tensor::empty(shape, dtype, x.device());
  switch (x.device().type) {
    case DeviceType::cpu:
      cpu::where(out, condition.expand(shape), x.to(dtype).expand(shape),
                 y.to(dtype).expand(shape));
      break;
    case DeviceType::cuda:
      cuda::where(out, condition.expand(shape), x.to(dtype).expand(shape),
                  y.to(dtype).expand(shape));
      break;
    default: no_kernel("where", x.device());
  }
  return out;
}

}  // namespace ember
