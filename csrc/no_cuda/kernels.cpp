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


// reductions, continued
const char* fold_op_name(FoldOp op) {
  const char* names[] = {"sum", "prod", "amax", "amin"};
  return names[int(op)];
}
void fold_raw(FoldOp op, DType, void*, const void*, const RowGeometry&, int) {
  not_built(fold_op_name(op));
}
void fold(FoldOp op, const Tensor&, const Tensor&, const Shape&) { not_built(fold_op_name(op)); }
void arg_extreme_raw(bool is_max, DType, void*, int64_t*, const void*, const RowGeometry&, int) {
  not_built(is_max ? "max" : "min");
}
void arg_extreme(const Tensor&, const Tensor&, const Tensor&, const Shape&, bool is_max) {
  not_built(is_max ? "max" : "min");
}
void var_raw(DType, void*, const void*, const RowGeometry&, double, bool take_sqrt, int) {
  not_built(take_sqrt ? "std" : "var");
}
void var(const Tensor&, const Tensor&, const Shape&, double, bool take_sqrt) {
  not_built(take_sqrt ? "std" : "var");
}
void logsumexp_raw(DType, void*, const void*, const RowGeometry&, int) { not_built("logsumexp"); }
void logsumexp(const Tensor&, const Tensor&, const Shape&) { not_built("logsumexp"); }
void norm_raw(DType, void*, const void*, const RowGeometry&, double, int) { not_built("norm"); }
void norm(const Tensor&, const Tensor&, const Shape&, double) { not_built("norm"); }
void cumsum_raw(DType, void*, const void*, const RowGeometry&, bool, int) { not_built("cumsum"); }
void cumsum(const Tensor&, const Tensor&, int64_t, bool) { not_built("cumsum"); }
void prod_backward_raw(DType, void*, const void*, const void*, const RowGeometry&,
                       const RowGeometry&, int) {
  not_built("prod_backward");
}
void extreme_weights_raw(DType, void*, const void*, const void*, const RowGeometry&,
                         const RowGeometry&, int) {
  not_built("extreme_weights");
}
void norm_backward_raw(DType, void*, const void*, const void*, const void*, const RowGeometry&,
                       const RowGeometry&, double, int) {
  not_built("norm_backward");
}
void prod_backward(const Tensor&, const Tensor&, const Tensor&, const Shape&) {
  not_built("prod_backward");
}
void extreme_weights(const Tensor&, const Tensor&, const Tensor&, const Shape&) {
  not_built("extreme_weights");
}
void norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Shape&,
                   double) {
  not_built("norm_backward");
}
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
