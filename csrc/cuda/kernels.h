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
// threads_per_row 1 runs a thread per row (chosen by itself for short rows
// along a leading dim); 0 chooses.
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

// copy and fill
// out = cast(src) between any two dtypes on device pointers; `geometry` is
// binary_geometry(op, out, src, src) (its b_strides are unused).
void copy_raw(DType to, DType from, void* out, const void* src, const BinaryGeometry& geometry);
// dst = cast(src), src already on dst's device and expanded to its shape.
void copy(const Tensor& dst, const Tensor& src);
// out[i] = value (cast to `dtype`) over binary_geometry(op, out, out, out).
void fill_raw(DType dtype, void* out, Scalar value, const BinaryGeometry& geometry);
void fill(const Tensor& dst, Scalar value);


// index
// Index values are checked on the device: a kernel that meets one out of
// range stores {1 + dim, value} of the first it sees in `error` (two int64 in
// device memory, zeroed by the caller), and the Tensor-level functions read
// it back and raise an IndexError naming the op.

// gather / scatter along `dim`, one position per element of the index:
// operand 0 is the tensor indexed along dim (gather's input, scatter's self;
// its stride at dim is 0 here, `dim_stride` is applied to the index value),
// 1 the int64 index, 2 gather's out or scatter's src. Strides in elements;
// dims of size 1 dropped, mergeable ones merged.
struct GatherGeometry {
  int64_t numel = 0;
  int ndim = 0;
  int64_t dim = 0, dim_size = 0, dim_stride = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[3][kMaxDims] = {};
};
GatherGeometry gather_geometry(const char* op, const Tensor& data, int64_t dim,
                               const Tensor& index, const Tensor& other);
void gather_raw(DType dtype, void* out, const void* input, const int64_t* index,
                const GatherGeometry& g, int64_t* error);
void scatter_raw(DType dtype, bool accumulate, void* self, const int64_t* index, const void* src,
                 const GatherGeometry& g, int64_t* error);
// out = input gathered along dim by index (int64, unchecked; raises IndexError
// naming `op`); out has index's shape.
void gather(const char* op, const Tensor& out, const Tensor& input, int64_t dim,
            const Tensor& index);
// self[.., index[..], ..] (+)= src[..] along dim; accumulate adds atomically.
void scatter(const char* op, const Tensor& self, int64_t dim, const Tensor& index,
             const Tensor& src, bool accumulate);

// Advanced indexing: the first k dims of the indexed tensor are indexed by k
// contiguous int64 tensors of `count` elements each (negative values wrap);
// the other operand (index's out, index_put's values) is contiguous
// [count, inner], inner the product of the rest dims.
struct IndexGeometry {
  int64_t count = 0, inner = 0;
  int k = 0;
  const int64_t* indices[kMaxDims] = {};
  int64_t index_sizes[kMaxDims] = {};
  int64_t index_strides[kMaxDims] = {};
  int rest_ndim = 0;
  int64_t rest_sizes[kMaxDims] = {};
  int64_t rest_strides[kMaxDims] = {};
};
IndexGeometry index_geometry(const char* op, const Tensor& indexed,
                             const std::vector<Tensor>& indices);
void index_raw(DType dtype, void* out, const void* src, const IndexGeometry& g, int64_t* error);
void index_put_raw(DType dtype, bool accumulate, void* self, const void* values,
                   const IndexGeometry& g, int64_t* error);
// `dims` names the original dim of each indexed dim, for error messages.
void index(const Tensor& out, const Tensor& src, const std::vector<Tensor>& indices,
           const Shape& dims);
void index_put(const Tensor& self, const std::vector<Tensor>& indices, const Tensor& values,
               bool accumulate, const Shape& dims);

// self[mask] = value; `geometry` is binary_geometry(op, self, mask, mask).
void masked_fill_raw(DType dtype, void* self, const bool* mask, Scalar value,
                     const BinaryGeometry& geometry);
void masked_fill(const Tensor& self, const Tensor& mask, Scalar value);

// out (int64 [n, classes], every element written) = one_hot(index).
void one_hot_raw(int64_t* out, const int64_t* index, int64_t n, int64_t classes,
                 int64_t* error);
// *result = max(index[0..n)), n > 0.
void index_max_raw(const int64_t* index, int64_t n, int64_t* result);
void one_hot(const Tensor& out, const Tensor& index);
// The largest value of a contiguous int64 tensor with at least one element.
int64_t index_max(const Tensor& index);

// nonzero in two passes over x (contiguous, n elements): the count pass
// fills offsets[0..nonzero_blocks(n)] with each block's first output row
// (offsets[blocks] is the total); the write pass stores the coordinates.
struct NonzeroShape {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
};
int64_t nonzero_blocks(int64_t n);
void nonzero_count_raw(DType dtype, const void* x, int64_t n, int64_t* offsets);
void nonzero_write_raw(DType dtype, const void* x, int64_t n, const int64_t* offsets,
                       int64_t* out, const NonzeroShape& shape);
Tensor nonzero(const Tensor& input);


// conv2d

// The sizes of one NCHW conv2d, as ops/conv.cpp computes them (pad_h/pad_w
// are the top/left padding; out_h/out_w imply the bottom/right).
struct Conv2dGeometry {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, kernel_h = 1, kernel_w = 1, out_h = 0, out_w = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

// On device pointers to contiguous NCHW / (OC, C / groups, KH, KW) buffers in
// float32/float64/float16/bfloat16 (`dtype`); `bias` may be null. Outputs are
// overwritten.
void conv2d_forward_raw(DType dtype, void* out, const void* input, const void* weight,
                        const void* bias, const Conv2dGeometry& g);
void conv2d_backward_input_raw(DType dtype, void* grad_input, const void* grad_out,
                               const void* weight, const Conv2dGeometry& g);
// Elements (of the dtype; of float32 for float16/bfloat16, whose partial sums
// stay unrounded) of the workspace conv2d_backward_weight_raw needs for its
// split reduction; 0 when it needs none. `splits` (0: choose) is
// there for the tests and must match the call's.
int64_t conv2d_backward_weight_workspace(const Conv2dGeometry& g, int splits = 0);
void conv2d_backward_weight_raw(DType dtype, void* grad_weight, const void* grad_out,
                                const void* input, void* workspace, const Conv2dGeometry& g,
                                int splits = 0);
void conv2d_backward_bias_raw(DType dtype, void* grad_bias, const void* grad_out,
                              const Conv2dGeometry& g);

// The same on contiguous tensors of one dtype on one CUDA device.
void conv2d_forward(const Tensor& out, const Tensor& input, const Tensor& weight,
                    const Tensor& bias, const Conv2dGeometry& g);
void conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out,
                           const Tensor& weight, const Conv2dGeometry& g);
void conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out,
                            const Tensor& input, const Conv2dGeometry& g);
void conv2d_backward_bias(const Tensor& grad_bias, const Tensor& grad_out,
                          const Conv2dGeometry& g);

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


// normalisation

// A per-channel 1-D operand on the device: data (null when absent) and its
// stride in elements.
struct ChannelParam {
  void* data = nullptr;
  int64_t stride = 0;
};
ChannelParam channel_param(const Tensor& t);

// Batch norm over x viewed as (N, C, S), contiguous. The workspace (of
// batch_norm_workspace_bytes) holds the per-block partial statistics.
struct BatchNormShape {
  int64_t N = 0, C = 0, S = 0;
};
size_t batch_norm_workspace_bytes(DType dtype, const BatchNormShape& shape);
void batch_norm_raw(DType dtype, void* out, void* mean, void* invstd, const void* x,
                    const BatchNormShape& shape, ChannelParam running_mean,
                    ChannelParam running_var, ChannelParam weight, ChannelParam bias,
                    bool training, double momentum, double eps, void* workspace);
void batch_norm_backward_raw(DType dtype, void* grad_input, void* grad_weight, void* grad_bias,
                             const void* grad_out, const void* x, const BatchNormShape& shape,
                             ChannelParam weight, ChannelParam mean, ChannelParam invstd,
                             bool training, void* workspace);
// The cpu::batch_norm / cpu::batch_norm_backward contracts on CUDA tensors.
void batch_norm(const Tensor& out, const Tensor& mean, const Tensor& invstd, const Tensor& x,
                const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                const Tensor& bias, bool training, double momentum, double eps);
void batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                         bool training);

// Layer norm over the rows of x (M, K), contiguous; weight/bias contiguous (K)
// or null. `threads_per_row` (32, or a multiple of 32 up to 256; 0 chooses)
// is there for the tests.
size_t layer_norm_workspace_bytes(DType dtype, int64_t M, int64_t K);
void layer_norm_raw(DType dtype, void* out, void* mean, void* rstd, const void* x, int64_t M,
                    int64_t K, const void* weight, const void* bias, double eps,
                    int threads_per_row = 0);
void layer_norm_backward_raw(DType dtype, void* grad_input, void* grad_weight, void* grad_bias,
                             const void* grad_out, const void* x, const void* weight,
                             const void* mean, const void* rstd, int64_t M, int64_t K,
                             void* workspace, int threads_per_row = 0);
void layer_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, double eps);
void layer_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& rstd);

// Group norm over x (N, C, S), contiguous, in `groups` groups; mean/rstd
// (N, groups) contiguous; weight/bias contiguous (C) or null.
struct GroupNormShape {
  int64_t N = 0, C = 0, S = 0, groups = 1;
};
size_t group_norm_workspace_bytes(DType dtype, const GroupNormShape& shape);
void group_norm_raw(DType dtype, void* out, void* mean, void* rstd, const void* x,
                    const GroupNormShape& shape, const void* weight, const void* bias,
                    double eps, void* workspace);
void group_norm_backward_raw(DType dtype, void* grad_input, void* grad_weight, void* grad_bias,
                             const void* grad_out, const void* x, const GroupNormShape& shape,
                             const void* weight, const void* mean, const void* rstd,
                             void* workspace);
void group_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                int64_t groups, const Tensor& weight, const Tensor& bias, double eps);
void group_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         int64_t groups, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd);

// random

enum class RandomKind { uniform, normal, randint, bernoulli };
// One draw: element i uses Philox at counter offset + i under `key` (the
// seed). uniform: [a, b); normal: mean a, std b; randint: [low, low + span);
// bernoulli: probability a.
struct RandomDraw {
  RandomKind kind = RandomKind::uniform;
  uint64_t key = 0, offset = 0;
  double a = 0, b = 0;
  int64_t low = 0;
  uint64_t span = 1;
};
// Fills `numel` contiguous elements: float32/float64, and int32/int64 for randint.
void random_fill_raw(const RandomDraw& draw, DType dtype, void* out, int64_t numel);
void random_fill(const RandomDraw& draw, const Tensor& t);
// mask = 1/(1-p) where Bernoulli(1-p) of counter offset + i is 1, else 0;
// out = x * mask; contiguous, float32/float64, 0 <= p < 1.
void dropout_raw(DType dtype, void* out, void* mask, const void* x, int64_t numel, uint64_t key,
                 uint64_t offset, double p);
void dropout(const Tensor& out, const Tensor& mask, const Tensor& x, uint64_t key,
             uint64_t offset, double p);

// optimizers: the cpu:: fused updates (cpu/optim.h) on `numel` contiguous
// elements; unused optional state is null.
void sgd_step_raw(DType dtype, int64_t numel, void* param, const void* grad,
                  void* momentum_buffer, double lr, double momentum, double dampening,
                  double weight_decay, bool nesterov, bool maximize, bool first_step);
void adam_step_raw(DType dtype, int64_t numel, void* param, const void* grad, void* exp_avg,
                   void* exp_avg_sq, void* max_exp_avg_sq, double lr, double beta1, double beta2,
                   double eps, double weight_decay, int64_t step, bool decoupled, bool maximize);
void rmsprop_step_raw(DType dtype, int64_t numel, void* param, const void* grad,
                      void* square_avg, void* grad_avg, void* momentum_buffer, double lr,
                      double alpha, double eps, double weight_decay, double momentum,
                      bool maximize);
void adagrad_step_raw(DType dtype, int64_t numel, void* param, const void* grad, void* state_sum,
                      double clr, double eps, double weight_decay, bool maximize);
// Tensor forms, operands contiguous and of one shape and dtype.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step);
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, double lr, double beta1,
               double beta2, double eps, double weight_decay, int64_t step, bool decoupled,
               bool maximize);
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& grad_avg, const Tensor& momentum_buffer, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool maximize);
void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, double clr,
                  double eps, double weight_decay, bool maximize);

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


// elementwise: integer operand scans, comparisons, where, clamp, exact unary ops
// Sets *flag (device memory) to 1 when some element of x (operand a of `g`,
// int32/int64) is zero (`negative` false) or negative, to 0 otherwise.
void integer_scan_raw(bool negative, DType dtype, int* flag, const void* x,
                      const BinaryGeometry& g);
// Whether a CUDA integer tensor holds a zero / a negative value (syncs).
bool has_zero(const Tensor& t);
bool has_negative(const Tensor& t);

// out (bool) = a (op) b with a and b of `dtype` (any dtype); `g` is
// binary_geometry(name, out, a, b).
void compare_raw(CompareOp op, DType dtype, bool* out, const void* a, const void* b,
                 const BinaryGeometry& g);
// a and b of one dtype, expanded to out's (bool) shape, all on one CUDA device.
void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b);

// out = condition ? x : y element by element; strides in elements, operand
// 0 out, 1 condition, 2 x, 3 y, dims merged as in binary_geometry.
struct WhereGeometry {
  int64_t numel = 0;
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[4][kMaxDims] = {};
};
WhereGeometry where_geometry(const Tensor& out, const Tensor& condition, const Tensor& x,
                             const Tensor& y);
// x, y and out of `dtype` (any dtype), condition bool.
void where_raw(DType dtype, void* out, const bool* condition, const void* x, const void* y,
               const WhereGeometry& g);
void where(const Tensor& out, const Tensor& condition, const Tensor& x, const Tensor& y);

// out = clamp(x, lo, hi) in float32/float64/int32/int64, a bound applied
// only when its flag is set (as cpu::clamp); `g` is binary_geometry(name,
// out, x, x).
void clamp_raw(DType dtype, void* out, const void* x, const BinaryGeometry& g, Scalar lo,
               bool has_lo, Scalar hi, bool has_hi);
void clamp(const Tensor& out, const Tensor& x, Scalar lo, bool has_lo, Scalar hi, bool has_hi);

// The unary ops that are exact on integers and bool: logical_not (any input
// dtype, bool output), bitwise_not (integers, bool), abs, sign, square, relu
// and the rounding ops (integers). Whether `op` on an input of `dtype` has
// one of these kernels:
bool has_exact_unary_kernel(UnaryOp op, DType dtype);
// out = op(x), x of `dtype`, out bool for logical_not and of `dtype`
// otherwise; `g` is binary_geometry(name, out, x, x).
void exact_unary_raw(UnaryOp op, DType dtype, void* out, const void* x, const BinaryGeometry& g);
void exact_unary(UnaryOp op, const Tensor& out, const Tensor& x);


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

// creation
// The _raw kernels launch at most max_blocks blocks when it is not 0 (tests
// use it to run the grid-stride loops through several passes).
// out[i] = start + step * i for i < n, as ops/creation.cpp's arange computes
// it on the CPU: in double for float dtypes, in int64 (start and step
// truncated) for integer ones; float32, float64, int64, int32.
void arange_raw(DType dtype, void* out, int64_t n, Scalar start, Scalar step,
                int max_blocks = 0);
void arange(const Tensor& out, Scalar start, Scalar step);
// The `steps` values of linspace(start, end, steps); step is the CPU's
// (end - start) / (steps - 1) (0 for fewer than two steps). Same dtypes as arange.
void linspace_raw(DType dtype, void* out, int64_t steps, double start, double end, double step,
                  int max_blocks = 0);
void linspace(const Tensor& out, double start, double end, double step);
// The (n, m) identity, contiguous; every dtype.
void eye_raw(DType dtype, void* out, int64_t n, int64_t m, int max_blocks = 0);
void eye(const Tensor& out);

// gemm 16-bit
// gemm_raw and gemm_batched also take float16 and bfloat16: 16-bit operands,
// float accumulation, C rounded once. They run on tensor cores (WMMA) when
// gemm_16bit_tensor_cores() (the default) and the GPU has them for the dtype
// (float16: all targets, bfloat16: sm_80+), else on SIMT cores; the switch
// lets the tests run both kernels.
bool gemm_16bit_tensor_cores();
void set_gemm_16bit_tensor_cores(bool use);

// rnn
// The fused LSTM cell step (ops/rnn.h) on contiguous device arrays: gates
// (B, 4H), c_prev / h / c (B, H); floating dtypes, 16-bit ones in float.
void lstm_cell_raw(DType dtype, void* h, void* c, const void* gates, const void* c_prev,
                   int64_t B, int64_t H);
void lstm_cell(const Tensor& h, const Tensor& c, const Tensor& gates, const Tensor& c_prev);
// grad_h / grad_c may be null (zero).
void lstm_cell_backward_raw(DType dtype, void* grad_gates, void* grad_c_prev, const void* grad_h,
                            const void* grad_c, const void* gates, const void* c_prev,
                            int64_t B, int64_t H);
void lstm_cell_backward(const Tensor& grad_gates, const Tensor& grad_c_prev,
                        const Tensor& grad_h, const Tensor& grad_c, const Tensor& gates,
                        const Tensor& c_prev);
// The fused GRU cell step (ops/rnn.h): input_gates / hidden_gates (B, 3H),
// workspace (B, 4H), h_prev / h / grad_h / grad_h_prev (B, H).
void gru_cell_raw(DType dtype, void* h, void* workspace, const void* input_gates,
                  const void* hidden_gates, const void* h_prev, int64_t B, int64_t H);
void gru_cell(const Tensor& h, const Tensor& workspace, const Tensor& input_gates,
              const Tensor& hidden_gates, const Tensor& h_prev);
void gru_cell_backward_raw(DType dtype, void* grad_input_gates, void* grad_hidden_gates,
                           void* grad_h_prev, const void* grad_h, const void* workspace,
                           const void* h_prev, int64_t B, int64_t H);
void gru_cell_backward(const Tensor& grad_input_gates, const Tensor& grad_hidden_gates,
                       const Tensor& grad_h_prev, const Tensor& grad_h, const Tensor& workspace,
                       const Tensor& h_prev);

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
