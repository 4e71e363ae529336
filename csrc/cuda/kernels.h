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

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
