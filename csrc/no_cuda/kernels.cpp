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

// losses

void cross_entropy(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                   const Tensor&, int64_t, double) {
  not_built("cross_entropy");
}

void cross_entropy_probs(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, double) {
  not_built("cross_entropy");
}

void cross_entropy_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                            const Tensor&, const Tensor&, int64_t, double) {
  not_built("cross_entropy_backward");
}

void cross_entropy_probs_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                  const Tensor&, const Tensor&, double) {
  not_built("cross_entropy_backward");
}

void nll_loss(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
              int64_t) {
  not_built("nll_loss");
}

void nll_loss_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t) {
  not_built("nll_loss_backward");
}

void pointwise_loss(PointwiseLoss, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                    const Tensor&, double, Reduction) {
  not_built("pointwise_loss");
}

void pointwise_loss_backward(PointwiseLoss, const Tensor&, const Tensor&, const Tensor&,
                             const Tensor&, const Tensor&, const Tensor&, const Tensor&, double) {
  not_built("pointwise_loss_backward");
}

// pooling

void max_pool2d_raw(DType, void*, int64_t*, const void*, const Pool2dGeometry&) {
  not_built("max_pool2d");
}

void max_pool2d_backward_raw(DType, void*, const void*, const int64_t*, const Pool2dGeometry&) {
  not_built("max_pool2d_backward");
}

void avg_pool2d_raw(DType, void*, const void*, const Pool2dGeometry&, bool, int64_t) {
  not_built("avg_pool2d");
}

void avg_pool2d_backward_raw(DType, void*, const void*, const Pool2dGeometry&, bool, int64_t) {
  not_built("avg_pool2d_backward");
}

void adaptive_avg_pool2d_raw(DType, void*, const void*, const Pool2dGeometry&) {
  not_built("adaptive_avg_pool2d");
}

void adaptive_avg_pool2d_backward_raw(DType, void*, const void*, const Pool2dGeometry&) {
  not_built("adaptive_avg_pool2d_backward");
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
