// The CUDA op functions (cuda/kernels.h) when ember is built without CUDA:
// each throws naming the op. No CUDA tensor can exist in such a build, so
// these are reached only by direct C++ calls.
#include "core/check.h"
#include "cuda/kernels.h"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

namespace {
[[noreturn]] void not_built(const char* op) {
  EMBER_FAIL(runtime, op, ": ember was built without CUDA");
}
}  // namespace

BinaryGeometry binary_geometry(const char* op, const Tensor&, const Tensor&, const Tensor&) {
  not_built(op);
}

void binary_raw(BinaryOp op, DType, void*, const void*, const void*, const BinaryGeometry&) {
  not_built(binary_op_name(op));
}

void binary(BinaryOp op, const Tensor&, const Tensor&, const Tensor&) {
  not_built(binary_op_name(op));
}


// reductions

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::mean: return "mean";
    case ReduceOp::amax: return "amax";
    default: return "amin";
  }
}

RowGeometry row_geometry(const char* op, const Shape&, const Tensor*, int) { not_built(op); }

void reduce_raw(ReduceOp op, DType, void*, const void*, const RowGeometry&, int) {
  not_built(reduce_op_name(op));
}

void reduce(ReduceOp op, const Tensor&, const Tensor&, const Shape&) {
  not_built(reduce_op_name(op));
}

void softmax_raw(bool log, DType, void*, const void*, const RowGeometry&, int) {
  not_built(log ? "log_softmax" : "softmax");
}

void softmax_backward_raw(bool log, DType, void*, const void*, const void*, const RowGeometry&,
                          int) {
  not_built(log ? "log_softmax_backward" : "softmax_backward");
}

void softmax(const Tensor&, const Tensor&, int64_t, bool log) {
  not_built(log ? "log_softmax" : "softmax");
}

void softmax_backward(const Tensor&, const Tensor&, const Tensor&, int64_t, bool log) {
  not_built(log ? "log_softmax_backward" : "softmax_backward");
}

// unary
bool has_unary_kernel(UnaryOp) { return false; }

void unary_raw(UnaryOp op, DType, void*, const void*, const BinaryGeometry&, double, double) {
  not_built(unary_op_name(op));
}

void unary(UnaryOp op, const Tensor&, const Tensor&, double, double) {
  not_built(unary_op_name(op));
}

void activation_backward_raw(UnaryOp op, DType, void*, const void*, const void*,
                             const BinaryGeometry&, double, double) {
  not_built(unary_op_name(op));
}

void activation_backward(UnaryOp op, const Tensor&, const Tensor&, const Tensor&, double,
                         double) {
  not_built(unary_op_name(op));
}


// elementwise: integer operand scans, comparisons, where, clamp, exact unary ops

void integer_scan_raw(bool negative, DType, int*, const void*, const BinaryGeometry&) {
  not_built(negative ? "has_negative" : "has_zero");
}
bool has_zero(const Tensor&) { not_built("has_zero"); }
bool has_negative(const Tensor&) { not_built("has_negative"); }

void compare_raw(CompareOp op, DType, bool*, const void*, const void*, const BinaryGeometry&) {
  not_built(compare_op_name(op));
}
void compare(CompareOp op, const Tensor&, const Tensor&, const Tensor&) {
  not_built(compare_op_name(op));
}

WhereGeometry where_geometry(const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  not_built("where");
}
void where_raw(DType, void*, const bool*, const void*, const void*, const WhereGeometry&) {
  not_built("where");
}
void where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) { not_built("where"); }

void clamp_raw(DType, void*, const void*, const BinaryGeometry&, Scalar, bool, Scalar, bool) {
  not_built("clamp");
}
void clamp(const Tensor&, const Tensor&, Scalar, bool, Scalar, bool) { not_built("clamp"); }

bool has_exact_unary_kernel(UnaryOp, DType) { return false; }
void exact_unary_raw(UnaryOp op, DType, void*, const void*, const BinaryGeometry&) {
  not_built(unary_op_name(op));
}
void exact_unary(UnaryOp op, const Tensor&, const Tensor&) { not_built(unary_op_name(op)); }

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
