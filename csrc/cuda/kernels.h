// The CUDA op functions the dispatch in csrc/ops calls. Defined by the .cu
// files when ember is built with CUDA and by csrc/no_cuda/kernels.cpp (which
// throws "<op>: ember was built without CUDA") otherwise. Plain C++: this
// header is included by host-compiled sources.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "ops/elementwise.h"
#include "ops/loss.h"

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

// losses

// An (N, C, D) class-dim input, contiguous; per-sample tensors (target, loss,
// logsumexp) are (N, D) contiguous, except grad, read through its strides.
struct ClassLossGeometry {
  int64_t N = 0, C = 0, D = 1;
  int64_t grad_stride_n = 0, grad_stride_d = 0;
};

// Cross entropy on device pointers (float32/float64 `dtype`). Class-index
// targets: `target` (int64) with `probs` null, `sample_weight` gets each
// target's class weight (0 when ignored); probability targets: `probs`
// (N, C, D) with `target`, `sample_weight` and `error_flag` null. weight: (C)
// or null. A target outside [0, C) other than ignore_index sets *error_flag
// to 1. lanes: threads per sample (1, 32 or 256; 0 chooses), for the tests.
void cross_entropy_raw(DType dtype, void* loss, void* logsumexp, void* sample_weight,
                       const void* input, const int64_t* target, const void* probs,
                       const void* weight, int* error_flag, const ClassLossGeometry& g,
                       int64_t ignore_index, double label_smoothing, int lanes = 0);
void cross_entropy_backward_raw(DType dtype, void* grad_input, const void* grad,
                                const void* input, const int64_t* target, const void* probs,
                                const void* weight, const void* logsumexp, int* error_flag,
                                const ClassLossGeometry& g, int64_t ignore_index,
                                double label_smoothing, int lanes = 0);
void nll_loss_raw(DType dtype, void* loss, void* sample_weight, const void* input,
                  const int64_t* target, const void* weight, int* error_flag,
                  const ClassLossGeometry& g, int64_t ignore_index);
// grad_input must be zero-filled.
void nll_loss_backward_raw(DType dtype, void* grad_input, const void* grad,
                           const int64_t* target, const void* weight, int* error_flag,
                           const ClassLossGeometry& g, int64_t ignore_index);

// The Tensor forms of the cpu:: class-loss kernels (cpu/loss.h), same
// arguments, all on one CUDA device; an out-of-range target raises IndexError.
void cross_entropy(const Tensor& loss, const Tensor& logsumexp, const Tensor& sample_weight,
                   const Tensor& input, const Tensor& target, const Tensor& weight,
                   int64_t ignore_index, double label_smoothing);
void cross_entropy_probs(const Tensor& loss, const Tensor& logsumexp, const Tensor& input,
                         const Tensor& target, const Tensor& weight, double label_smoothing);
void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor& logsumexp,
                            int64_t ignore_index, double label_smoothing);
void cross_entropy_probs_backward(const Tensor& grad_input, const Tensor& grad,
                                  const Tensor& input, const Tensor& target, const Tensor& weight,
                                  const Tensor& logsumexp, double label_smoothing);
void nll_loss(const Tensor& loss, const Tensor& sample_weight, const Tensor& input,
              const Tensor& target, const Tensor& weight, int64_t ignore_index);
void nll_loss_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& target,
                       const Tensor& weight, int64_t ignore_index);

// Pointwise losses: operands (grad_input or loss, grad_target, grad, input,
// target, weight, pos_weight) of one shape, each with its own strides.
constexpr int kPointwiseLossOperands = 7;
// The most partial sums a reduced pointwise loss writes to its workspace.
constexpr int kPointwiseLossPartials = 1024;
struct PointwiseLossGeometry {
  int64_t numel = 0;
  int ndim = 0;
  // One dim with every stride 0 or 1: offsets are linear_step * i.
  bool linear = false;
  int64_t linear_step[kPointwiseLossOperands] = {};
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kPointwiseLossOperands][kMaxDims] = {};
};
// The merged geometry of `count` operands of one shape (in the order above).
PointwiseLossGeometry pointwise_loss_geometry(const char* op, const Tensor* operands, int count);

// The loss of each element into `out`, or with a reduction its sum or mean
// into out[0] (`partials`: room for kPointwiseLossPartials values of dtype).
void pointwise_loss_raw(PointwiseLoss kind, DType dtype, void* out, const void* input,
                        const void* target, const void* weight, const void* pos_weight,
                        const PointwiseLossGeometry& g, double beta, Reduction reduction,
                        void* partials);
void pointwise_loss_backward_raw(PointwiseLoss kind, DType dtype, void* grad_input,
                                 void* grad_target, const void* grad, const void* input,
                                 const void* target, const void* weight, const void* pos_weight,
                                 const PointwiseLossGeometry& g, double beta);
// As cpu::pointwise_loss; with a reduction, out is 0-d and gets the sum or mean.
void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input,
                    const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                    double beta, Reduction reduction);
void pointwise_loss_backward(PointwiseLoss kind, const Tensor& grad_input,
                             const Tensor& grad_target, const Tensor& grad, const Tensor& input,
                             const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                             double beta);

// pooling

// 2-D pooling over contiguous (planes, H, W) buffers (the fields of
// cpu::Pool2dShape); dilation is used by max pooling only, and adaptive
// pooling reads only the plane count and the sizes.
struct Pool2dGeometry {
  int64_t planes = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};

// Device pointers, float32/float64 `dtype`. indices: flat h * W + w per plane.
void max_pool2d_raw(DType dtype, void* out, int64_t* indices, const void* input,
                    const Pool2dGeometry& s);
// grad_input must be zero-filled (the gradient is scattered through indices).
void max_pool2d_backward_raw(DType dtype, void* grad_input, const void* grad_out,
                             const int64_t* indices, const Pool2dGeometry& s);
// divisor_override <= 0 means none.
void avg_pool2d_raw(DType dtype, void* out, const void* input, const Pool2dGeometry& s,
                    bool count_include_pad, int64_t divisor_override);
// grad_input is overwritten.
void avg_pool2d_backward_raw(DType dtype, void* grad_input, const void* grad_out,
                             const Pool2dGeometry& s, bool count_include_pad,
                             int64_t divisor_override);
void adaptive_avg_pool2d_raw(DType dtype, void* out, const void* input, const Pool2dGeometry& s);
// grad_input is overwritten.
void adaptive_avg_pool2d_backward_raw(DType dtype, void* grad_input, const void* grad_out,
                                      const Pool2dGeometry& s);

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
