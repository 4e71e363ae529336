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

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
