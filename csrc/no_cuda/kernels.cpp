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

// copy and fill

void copy_raw(DType, DType, void*, const void*, const BinaryGeometry&) { not_built("copy_"); }
void copy(const Tensor&, const Tensor&) { not_built("copy_"); }
void fill_raw(DType, void*, Scalar, const BinaryGeometry&) { not_built("fill_"); }
void fill(const Tensor&, Scalar) { not_built("fill_"); }

// index

void gather(const char* op, const Tensor&, const Tensor&, int64_t, const Tensor&) {
  not_built(op);
}

void scatter(const char* op, const Tensor&, int64_t, const Tensor&, const Tensor&, bool) {
  not_built(op);
}

void index(const Tensor&, const Tensor&, const std::vector<Tensor>&, const Shape&) {
  not_built("index");
}

void index_put(const Tensor&, const std::vector<Tensor>&, const Tensor&, bool, const Shape&) {
  not_built("index_put_");
}

void masked_fill(const Tensor&, const Tensor&, Scalar) { not_built("masked_fill_"); }

void one_hot(const Tensor&, const Tensor&) { not_built("one_hot"); }

int64_t index_max(const Tensor&) { not_built("one_hot"); }

Tensor nonzero(const Tensor&) { not_built("nonzero"); }


// conv2d

void conv2d_forward_raw(DType, void*, const void*, const void*, const void*,
                        const Conv2dGeometry&) {
  not_built("conv2d");
}

void conv2d_backward_input_raw(DType, void*, const void*, const void*, const Conv2dGeometry&) {
  not_built("conv2d_backward");
}

int64_t conv2d_backward_weight_workspace(const Conv2dGeometry&, int) {
  not_built("conv2d_backward");
}

void conv2d_backward_weight_raw(DType, void*, const void*, const void*, void*,
                                const Conv2dGeometry&, int) {
  not_built("conv2d_backward");
}

void conv2d_backward_bias_raw(DType, void*, const void*, const Conv2dGeometry&) {
  not_built("conv2d_backward");
}

void conv2d_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                    const Conv2dGeometry&) {
  not_built("conv2d");
}

void conv2d_backward_input(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&) {
  not_built("conv2d_backward");
}

void conv2d_backward_weight(const Tensor&, const Tensor&, const Tensor&, const Conv2dGeometry&) {
  not_built("conv2d_backward");
}

void conv2d_backward_bias(const Tensor&, const Tensor&, const Conv2dGeometry&) {
  not_built("conv2d_backward");
}

// gemm
namespace {
bool allow_tf32 = false;
}  // namespace

void gemm_raw(DType, const GemmProblem&, GemmTiles) { not_built("gemm"); }

bool matmul_allow_tf32() { return allow_tf32; }

void set_matmul_allow_tf32(bool allow) { allow_tf32 = allow; }

void gemm_batched(const Tensor&, const Tensor&, const Tensor&, int64_t, const int64_t*,
                  const int64_t*, const int64_t*, double, double) {
  not_built("matmul");
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
// creation
void arange_raw(DType, void*, int64_t, Scalar, Scalar, int) { not_built("arange"); }
void arange(const Tensor&, Scalar, Scalar) { not_built("arange"); }
void linspace_raw(DType, void*, int64_t, double, double, double, int) {
  not_built("linspace");
}
void linspace(const Tensor&, double, double, double) { not_built("linspace"); }
void eye_raw(DType, void*, int64_t, int64_t, int) { not_built("eye"); }
void eye(const Tensor&) { not_built("eye"); }

// gemm 16-bit
namespace {
bool half_tensor_cores = true;
}  // namespace
bool gemm_16bit_tensor_cores() { return half_tensor_cores; }
void set_gemm_16bit_tensor_cores(bool use) { half_tensor_cores = use; }

// rnn
void lstm_cell_raw(DType, void*, void*, const void*, const void*, int64_t, int64_t) {
  not_built("lstm_cell");
}
void lstm_cell(const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  not_built("lstm_cell");
}
void lstm_cell_backward_raw(DType, void*, void*, const void*, const void*, const void*,
                            const void*, int64_t, int64_t) {
  not_built("lstm_cell_backward");
}
void lstm_cell_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                        const Tensor&, const Tensor&) {
  not_built("lstm_cell_backward");
}
void gru_cell_raw(DType, void*, void*, const void*, const void*, const void*, int64_t,
                  int64_t) {
  not_built("gru_cell");
}
void gru_cell(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {
  not_built("gru_cell");
}
void gru_cell_backward_raw(DType, void*, void*, void*, const void*, const void*, const void*,
                           int64_t, int64_t) {
  not_built("gru_cell_backward");
}
void gru_cell_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                       const Tensor&, const Tensor&) {
  not_built("gru_cell_backward");
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
