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

// gemm

// C = alpha * A (M x K) * B (K x N) + beta * C (M x N) on device pointers, for
// one problem or a batch; element (i, j) of an operand is at data[i *
// row_stride + j * col_stride], so a transpose is just its strides. Problem p
// starts at element offsets p * {a,b,c}_batch_stride from a, b and c when
// `offsets` is null, else at offsets[3p], offsets[3p + 1], offsets[3p + 2]
// (a device array; `offset_multiple` divides every one of them, 0 when all
// are 0, and lets the kernels use 16-byte loads). When beta is 0, C is only
// written. Distinct problems must write disjoint elements of C.
struct GemmProblem {
  int64_t M = 0, N = 0, K = 0;
  double alpha = 1.0, beta = 0.0;
  const void* a = nullptr;
  int64_t a_row_stride = 0, a_col_stride = 0;
  const void* b = nullptr;
  int64_t b_row_stride = 0, b_col_stride = 0;
  void* c = nullptr;
  int64_t c_row_stride = 0, c_col_stride = 0;
  int64_t batch = 1;
  int64_t a_batch_stride = 0, b_batch_stride = 0, c_batch_stride = 0;
  const int64_t* offsets = nullptr;
  int64_t offset_multiple = 1;
};

// The block tile sizes: automatic picks by problem size; the tests force each.
enum class GemmTiles { automatic, small, large };

// float32/float64 (`dtype`) GEMM on device pointers (host memory in the
// emulated tests). float32 runs on TF32 tensor cores when matmul_allow_tf32()
// and the GPU has them (sm_80+), whatever `tiles` says.
void gemm_raw(DType dtype, const GemmProblem& problem, GemmTiles tiles = GemmTiles::automatic);

// Whether float32 products may round their inputs to TF32 for tensor cores
// (off by default).
bool matmul_allow_tf32();
void set_matmul_allow_tf32(bool allow);

// c = alpha * a x b + beta * c over the last two dims, for `batch` problems:
// problem p takes the matrices at element offsets a_offsets[p], b_offsets[p],
// c_offsets[p] (host arrays) from the tensors' data. All three on one CUDA
// device, of one float dtype, c of shape (..., M, N).
void gemm_batched(const Tensor& c, const Tensor& a, const Tensor& b, int64_t batch,
                  const int64_t* a_offsets, const int64_t* b_offsets, const int64_t* c_offsets,
                  double alpha, double beta);

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
