// The CUDA op functions the dispatch in csrc/ops calls. Defined by the .cu
// files when ember is built with CUDA and by csrc/no_cuda/kernels.cpp (which
// throws "<op>: ember was built without CUDA") otherwise. Plain C++: this
// header is included by host-compiled sources.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "ops/elementwise.h"

#if defined(EMBER_CUDA_EMU)
#define EMBER_CUDA_BUILD emulated
#else
#define EMBER_CUDA_BUILD device
#endif

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

// The most dimensions an elementwise kernel indexes after merging.
constexpr int kMaxDims = 12;

// Elementwise geometry on raw pointers: the output's sizes and each operand's
// strides, in elements (broadcast operands have stride 0).
struct BinaryGeometry {
  int64_t numel = 0;
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t out_strides[kMaxDims] = {};
  int64_t a_strides[kMaxDims] = {};
  int64_t b_strides[kMaxDims] = {};
};

// The merged geometry of out = a (op) b, a and b already expanded to out's
// shape. Throws naming `op` when more than kMaxDims dimensions remain.
BinaryGeometry binary_geometry(const char* op, const Tensor& out, const Tensor& a,
                               const Tensor& b);

// out = a (op) b on device pointers for add/sub/mul/div in float32/float64
// (`dtype`). The emulated tests call it with host memory.
void binary_raw(BinaryOp op, DType dtype, void* out, const void* a, const void* b,
                const BinaryGeometry& geometry);

// out = a (op) b, a and b in out's dtype and expanded to its shape, all on
// one CUDA device; add/sub/mul/div in float32/float64.
void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b);


// reductions

enum class ReduceOp { sum, mean, amax, amin };
const char* reduce_op_name(ReduceOp op);

// The rows a reduction or softmax walks: `rows` positions over the kept dims
// (row-major, so the output of a reduction is written contiguously) and `n`
// elements per row over the reduced dims. Up to three operands (for a
// reduction: the input; for softmax: out, input [, y]) each have their own
// strides, in elements; dims of size 1 are dropped and mergeable ones merged.
struct RowGeometry {
  int64_t rows = 0, n = 0;
  int outer_ndim = 0, inner_ndim = 0;
  int64_t outer_sizes[kMaxDims] = {};
  int64_t inner_sizes[kMaxDims] = {};
  int64_t outer_strides[3][kMaxDims] = {};
  int64_t inner_strides[3][kMaxDims] = {};
};

// The geometry of reducing `dims` (normalised, sorted) of the operands, all
// of one shape. Throws naming `op` when more than kMaxDims dims remain.
RowGeometry row_geometry(const char* op, const Shape& dims, const Tensor* operands, int count);

// out[r] = reduce(x row r) for float32/float64 on device pointers, `out`
// contiguous with g.rows elements and x described by operand 0 of `g`.
// `threads_per_row` (a multiple of 32 up to 256, or 0 to choose) is there
// for the tests.
void reduce_raw(ReduceOp op, DType dtype, void* out, const void* x, const RowGeometry& g,
                int threads_per_row = 0);
// out (contiguous, one element per kept position) = reduce(x over `dims`).
void reduce(ReduceOp op, const Tensor& out, const Tensor& x, const Shape& dims);

// softmax / log_softmax along each row: operand 0 of `g` is out, 1 is x.
void softmax_raw(bool log, DType dtype, void* out, const void* x, const RowGeometry& g,
                 int threads_per_row = 0);
// Their backward from the output y: operand 0 is grad_x, 1 grad, 2 y.
void softmax_backward_raw(bool log, DType dtype, void* grad_x, const void* grad, const void* y,
                          const RowGeometry& g, int threads_per_row = 0);
void softmax(const Tensor& out, const Tensor& x, int64_t dim, bool log);
void softmax_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& y, int64_t dim,
                      bool log);

// unary
// Whether cuda::unary has a kernel for `op` (every floating maths op and
// activation; not logical_not or bitwise_not).
bool has_unary_kernel(UnaryOp op);

// out = op(x) on device pointers in float32/float64 (`dtype`); `geometry`
// is binary_geometry(name, out, x, x) (its b_strides are unused). alpha and
// beta are the activation parameters of ops/elementwise.h.
void unary_raw(UnaryOp op, DType dtype, void* out, const void* x, const BinaryGeometry& geometry,
               double alpha, double beta);

// out = op(x), x in out's dtype and shape (out may be x itself), both on one
// CUDA device; float32/float64.
void unary(UnaryOp op, const Tensor& out, const Tensor& x, double alpha, double beta);

// grad_in = grad * op'(x) for the activations with a fused backward (relu,
// leaky_relu, elu, softplus, silu, gelu, gelu_tanh) on device pointers;
// `geometry` is binary_geometry(name, grad_in, grad, x).
void activation_backward_raw(UnaryOp op, DType dtype, void* grad_in, const void* grad,
                             const void* x, const BinaryGeometry& geometry, double alpha,
                             double beta);

// grad_in = grad * op'(x), all three of one dtype and shape on one CUDA device.
void activation_backward(UnaryOp op, const Tensor& grad_in, const Tensor& grad, const Tensor& x,
                         double alpha, double beta);


// reductions, continued (reduce_more.cu, reduce_grad.cu). Each _raw function
// takes device pointers (host memory in the emulated tests), a RowGeometry
// whose operand 0 is the input unless said otherwise, and `threads_per_row`
// as reduce_raw does.

// sum and prod of float32/float64 (into the input's dtype) and of int32,
// int64 and bool (into int64, wrapping on overflow); amax and amin of int32
// and int64. Float sum/amax/amin are also served by reduce().
enum class FoldOp { sum, prod, amax, amin };
void fold_raw(FoldOp op, DType dtype, void* out, const void* x, const RowGeometry& g,
              int threads_per_row = 0);
void fold(FoldOp op, const Tensor& out, const Tensor& x, const Shape& dims);

// values (x's dtype) and indices (int64, the row-major position among the
// reduced elements) of the first max (min) of each row; NaN is the extreme.
// float32, float64, int32, int64.
void arg_extreme_raw(bool is_max, DType dtype, void* values, int64_t* indices, const void* x,
                     const RowGeometry& g, int threads_per_row = 0);
void arg_extreme(const Tensor& values, const Tensor& indices, const Tensor& x, const Shape& dims,
                 bool is_max);

// var (or std when take_sqrt) with `correction`, float32/float64.
void var_raw(DType dtype, void* out, const void* x, const RowGeometry& g, double correction,
             bool take_sqrt, int threads_per_row = 0);
void var(const Tensor& out, const Tensor& x, const Shape& dims, double correction,
         bool take_sqrt);

// log(sum(exp(x))) of each row, float32/float64.
void logsumexp_raw(DType dtype, void* out, const void* x, const RowGeometry& g,
                   int threads_per_row = 0);
void logsumexp(const Tensor& out, const Tensor& x, const Shape& dims);

// The p-norm of each row (p = 0, +-inf or any other number), float32/float64.
void norm_raw(DType dtype, void* out, const void* x, const RowGeometry& g, double p,
              int threads_per_row = 0);
void norm(const Tensor& out, const Tensor& x, const Shape& dims, double p);

// Inclusive running sum along each row (from its end when `reverse`):
// operand 0 of g is out, 1 is x. Floats keep their dtype; int32, int64 and
// bool sum into int64.
void cumsum_raw(DType dtype, void* out, const void* x, const RowGeometry& g, bool reverse,
                int threads_per_row = 0);
void cumsum(const Tensor& out, const Tensor& x, int64_t dim, bool reverse);

// The reductions' backward helpers, float32/float64, with the semantics of
// their cpu:: namesakes. Operand 0 of g is the result (contiguous, x's
// shape), 1 is x; `per_row` is the geometry of the keepdim-shaped operands
// expanded to x's shape (grad, or the forward's output, or grad then out).
void prod_backward_raw(DType dtype, void* grad_x, const void* grad, const void* x,
                       const RowGeometry& g, const RowGeometry& per_row, int threads_per_row = 0);
void extreme_weights_raw(DType dtype, void* weights, const void* x, const void* out,
                         const RowGeometry& g, const RowGeometry& per_row,
                         int threads_per_row = 0);
void norm_backward_raw(DType dtype, void* grad_x, const void* grad, const void* x,
                       const void* out, const RowGeometry& g, const RowGeometry& per_row,
                       double p, int threads_per_row = 0);
void prod_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Shape& dims);
void extreme_weights(const Tensor& weights, const Tensor& x, const Tensor& out,
                     const Shape& dims);
void norm_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Tensor& out,
                   const Shape& dims, double p);

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
