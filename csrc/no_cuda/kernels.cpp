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


// normalisation
ChannelParam channel_param(const Tensor&) { not_built("batch_norm"); }
size_t batch_norm_workspace_bytes(DType, const BatchNormShape&) { not_built("batch_norm"); }
void batch_norm_raw(DType, void*, void*, void*, const void*, const BatchNormShape&, ChannelParam,
                    ChannelParam, ChannelParam, ChannelParam, bool, double, double, void*) {
  not_built("batch_norm");
}
void batch_norm_backward_raw(DType, void*, void*, void*, const void*, const void*,
                             const BatchNormShape&, ChannelParam, ChannelParam, ChannelParam,
                             bool, void*) {
  not_built("batch_norm_backward");
}
void batch_norm(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                const Tensor&, const Tensor&, const Tensor&, bool, double, double) {
  not_built("batch_norm");
}
void batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool) {
  not_built("batch_norm_backward");
}
size_t layer_norm_workspace_bytes(DType, int64_t, int64_t) { not_built("layer_norm"); }
void layer_norm_raw(DType, void*, void*, void*, const void*, int64_t, int64_t, const void*,
                    const void*, double, int) {
  not_built("layer_norm");
}
void layer_norm_backward_raw(DType, void*, void*, void*, const void*, const void*, const void*,
                             const void*, const void*, int64_t, int64_t, void*, int) {
  not_built("layer_norm_backward");
}
void layer_norm(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                const Tensor&, double) {
  not_built("layer_norm");
}
void layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  not_built("layer_norm_backward");
}
size_t group_norm_workspace_bytes(DType, const GroupNormShape&) { not_built("group_norm"); }
void group_norm_raw(DType, void*, void*, void*, const void*, const GroupNormShape&, const void*,
                    const void*, double, void*) {
  not_built("group_norm");
}
void group_norm_backward_raw(DType, void*, void*, void*, const void*, const void*,
                             const GroupNormShape&, const void*, const void*, const void*,
                             void*) {
  not_built("group_norm_backward");
}
void group_norm(const Tensor&, const Tensor&, const Tensor&, const Tensor&, int64_t,
                const Tensor&, const Tensor&, double) {
  not_built("group_norm");
}
void group_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                         const Tensor&, int64_t, const Tensor&, const Tensor&, const Tensor&) {
  not_built("group_norm_backward");
}

// random
void random_fill_raw(const RandomDraw&, DType, void*, int64_t) { not_built("random fill"); }
void random_fill(const RandomDraw&, const Tensor&) { not_built("random fill"); }
void dropout_raw(DType, void*, void*, const void*, int64_t, uint64_t, uint64_t, double) {
  not_built("dropout");
}
void dropout(const Tensor&, const Tensor&, const Tensor&, uint64_t, uint64_t, double) {
  not_built("dropout");
}

// optimizers
void sgd_step_raw(DType, int64_t, void*, const void*, void*, double, double, double, double,
                  bool, bool, bool) {
  not_built("sgd_step");
}
void adam_step_raw(DType, int64_t, void*, const void*, void*, void*, void*, double, double,
                   double, double, double, int64_t, bool, bool) {
  not_built("adam_step");
}
void rmsprop_step_raw(DType, int64_t, void*, const void*, void*, void*, void*, double, double,
                      double, double, double, bool) {
  not_built("rmsprop_step");
}
void adagrad_step_raw(DType, int64_t, void*, const void*, void*, double, double, double, bool) {
  not_built("adagrad_step");
}
void sgd_step(const Tensor&, const Tensor&, const Tensor&, double, double, double, double, bool,
              bool, bool) {
  not_built("sgd_step");
}
void adam_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, double,
               double, double, double, double, int64_t, bool, bool) {
  not_built("adam_step");
}
void rmsprop_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                  double, double, double, double, double, bool) {
  not_built("rmsprop_step");
}
void adagrad_step(const Tensor&, const Tensor&, const Tensor&, double, double, double, bool) {
  not_built("adagrad_step");
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
