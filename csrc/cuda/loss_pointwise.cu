// CUDA pointwise losses (mse, l1, smooth_l1, binary cross entropy with and
// without logits) and their derivatives, the forward optionally reduced to one
// value in the same pass: each block sums its elements, one more block sums
// the blocks' partials in a fixed order. Operands are read through their own
// (merged) strides, so broadcast weights and views need no copy.
#include <algorithm>
#include <type_traits>

#include "core/check.h"
#include "cpu/loss.h"
#include "cuda/device/loss.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

#if defined(EMBER_CUDA_EMU)
#define EMBER_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define EMBER_NO_UNROLL _Pragma("unroll 1")
#endif

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using namespace losses;

__device__ __forceinline__ float log1p_of(float v) { return log1pf(v); }
__device__ __forceinline__ double log1p_of(double v) { return log1p(v); }
__device__ __forceinline__ float abs_of(float v) { return fabsf(v); }
__device__ __forceinline__ double abs_of(double v) { return fabs(v); }

// softplus(-x) = log(1 + exp(-x)) without overflow.
template <typename T>
__device__ __forceinline__ T softplus_neg(T x) {
  return log1p_of(exp_of(-abs_of(x))) + (x < 0 ? -x : T(0));
}

template <typename T>
__device__ __forceinline__ T clamped_log(T v) {
  const T l = log_of(v);
  return l > T(-100) ? l : T(-100);
}

// Value and derivatives (d/dinput, d/dtarget) of one element, the CPU's formulas.
template <PointwiseLoss K, typename T>
struct PointwiseMath {
  T beta;

  __device__ __forceinline__ T value(T x, T t, T w, T pw) const {
    const T d = x - t;
    if constexpr (K == PointwiseLoss::mse) {
      return d * d;
    } else if constexpr (K == PointwiseLoss::l1) {
      return abs_of(d);
    } else if constexpr (K == PointwiseLoss::smooth_l1) {
      return abs_of(d) < beta ? T(0.5) * d * d / beta : abs_of(d) - T(0.5) * beta;
    } else if constexpr (K == PointwiseLoss::binary_cross_entropy) {
      return -w * (t * clamped_log(x) + (1 - t) * clamped_log(1 - x));
    } else {
      return w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus_neg(x));
    }
  }

  __device__ __forceinline__ void grads(T x, T t, T w, T pw, T& gx, T& gt) const {
    const T d = x - t;
    const T sign = T((d > 0) - (d < 0));
    if constexpr (K == PointwiseLoss::mse) {
      gx = 2 * d;
      gt = -gx;
    } else if constexpr (K == PointwiseLoss::l1) {
      gx = sign;
      gt = -gx;
    } else if constexpr (K == PointwiseLoss::smooth_l1) {
      gx = abs_of(d) < beta ? d / beta : sign;
      gt = -gx;
    } else if constexpr (K == PointwiseLoss::binary_cross_entropy) {
      const T denominator = (1 - x) * x;
      gx = w * (x - t) / (denominator > T(1e-12) ? denominator : T(1e-12));
      gt = -w * (clamped_log(x) - clamped_log(1 - x));
    } else {
      const T sigmoid_neg = T(1) / (T(1) + exp_of(x));
      gx = w * ((1 - t) - (1 + (pw - 1) * t) * sigmoid_neg);
      gt = w * (-x + (pw - 1) * softplus_neg(x));
    }
  }
};

// Operand order in PointwiseLossGeometry::strides.
enum Operand { kOut, kGradTarget, kGrad, kInput, kTarget, kWeight, kPosWeight, kOperands };

// The element offsets of flat index i for every operand: i itself (or 0 for
// a broadcast scalar) on the linear path, else through the strides.
template <bool kLinear>
__device__ __forceinline__ void offsets_of(const PointwiseLossGeometry& g, int64_t i,
                                           int64_t* offsets) {
  if constexpr (kLinear) {
    EMBER_UNROLL
    for (int k = 0; k < kOperands; ++k) offsets[k] = g.linear_step[k] * i;
  } else {
    EMBER_UNROLL
    for (int k = 0; k < kOperands; ++k) offsets[k] = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t index = i % g.sizes[d];
      i /= g.sizes[d];
      EMBER_UNROLL
      for (int k = 0; k < kOperands; ++k) offsets[k] += index * g.strides[k][d];
    }
  }
}

// The loss of every element, written out or, with `partials`, summed: each
// block leaves the sum of its elements in partials[blockIdx.x]. For
// binary_cross_entropy a non-null `invalid` is set to 1 when an input is
// outside [0, 1] (or NaN), the CPU's check done without a host copy.
template <PointwiseLoss K, typename T, bool kLinear>
__global__ void __launch_bounds__(kThreads)
    pointwise_loss_kernel(T* __restrict__ out, T* __restrict__ partials,
                          const T* __restrict__ input, const T* __restrict__ target,
                          const T* __restrict__ weight, const T* __restrict__ pos_weight,
                          int* __restrict__ invalid, PointwiseLossGeometry g, T beta) {
  const PointwiseMath<K, T> math{beta};
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  T total = 0;
  // Rolled: unrolled, the contiguous float64 smooth_l1 instance keeps more
  // values live across its division's slow-path call and spills to a stack
  // frame. The loads of one element per trip still keep the memory busy.
  EMBER_NO_UNROLL
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += step) {
    int64_t at[kOperands];
    offsets_of<kLinear>(g, i, at);
    const T x = input[at[kInput]];
    if constexpr (K == PointwiseLoss::binary_cross_entropy) {
      if (invalid && !(x >= T(0) && x <= T(1))) *invalid = 1;
    }
    const T v = math.value(x, target[at[kTarget]], weight[at[kWeight]], pos_weight[at[kPosWeight]]);
    if (partials) {
      total += v;
    } else {
      out[at[kOut]] = v;
    }
  }
  if (!partials) return;
  total = group_reduce(total, Sum());
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// out[0] = the sum of `count` partials, divided by `divisor` (the element
// count for 'mean', 1 for 'sum'). One block, in a fixed order: deterministic.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    loss_total_kernel(T* __restrict__ out, const T* __restrict__ partials, int count, T divisor) {
  T total = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) total += partials[i];
  total = group_reduce(total, Sum());
  if (threadIdx.x == 0) out[0] = total / divisor;
}

template <PointwiseLoss K, typename T, bool kLinear>
__global__ void __launch_bounds__(kThreads)
    pointwise_loss_backward_kernel(T* __restrict__ grad_input, T* __restrict__ grad_target,
                                   const T* __restrict__ grad, const T* __restrict__ input,
                                   const T* __restrict__ target, const T* __restrict__ weight,
                                   const T* __restrict__ pos_weight, PointwiseLossGeometry g,
                                   T beta) {
  const PointwiseMath<K, T> math{beta};
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += step) {
    int64_t at[kOperands];
    offsets_of<kLinear>(g, i, at);
    T gx, gt;
    math.grads(input[at[kInput]], target[at[kTarget]], weight[at[kWeight]],
               pos_weight[at[kPosWeight]], gx, gt);
    const T gv = grad[at[kGrad]];
    grad_input[at[kOut]] = gv * gx;
    grad_target[at[kGradTarget]] = gv * gt;
  }
}

int pointwise_blocks(int64_t numel, int64_t most) {
  return int(std::max<int64_t>(1, std::min(ceil_div<int64_t>(numel, kThreads), most)));
}

const char* pointwise_op(PointwiseLoss kind) {
  switch (kind) {
    case PointwiseLoss::mse: return "mse_loss";
    case PointwiseLoss::l1: return "l1_loss";
    case PointwiseLoss::smooth_l1: return "smooth_l1_loss";
    case PointwiseLoss::binary_cross_entropy: return "binary_cross_entropy";
    default: return "binary_cross_entropy_with_logits";
  }
}

// Calls f(kind constant, T{}, linear constant) for the kernel instance to launch.
template <typename F>
void dispatch_pointwise(PointwiseLoss kind, DType dtype, bool linear, const F& f) {
  dispatch_float(pointwise_op(kind), dtype, [&](auto zero) {
    auto with_kind = [&](auto k) {
      if (linear) return f(k, zero, std::true_type{});
      f(k, zero, std::false_type{});
    };
    using P = PointwiseLoss;
    switch (kind) {
      case P::mse: return with_kind(std::integral_constant<P, P::mse>{});
      case P::l1: return with_kind(std::integral_constant<P, P::l1>{});
      case P::smooth_l1: return with_kind(std::integral_constant<P, P::smooth_l1>{});
      case P::binary_cross_entropy:
        return with_kind(std::integral_constant<P, P::binary_cross_entropy>{});
      case P::binary_cross_entropy_with_logits:
        return with_kind(std::integral_constant<P, P::binary_cross_entropy_with_logits>{});
    }
  });
}

}  // namespace

PointwiseLossGeometry pointwise_loss_geometry(const char* op, const Tensor* operands, int count) {
  EMBER_CHECK(count >= 1 && count <= kPointwiseLossOperands, op,
              ": a pointwise loss has 1 to ", kPointwiseLossOperands, " operands, got ", count);
  const Tensor& first = operands[0];
  PointwiseLossGeometry g;
  g.numel = first.numel();
  // Dims of size 1 are dropped; a dim merges into the previous one when
  // every operand steps through both as one.
  for (int64_t d = 0; d < first.dim(); ++d) {
    const int64_t size = first.size(d);
    if (size == 1) continue;
    bool merge = g.ndim > 0;
    for (int k = 0; k < count && merge; ++k) {
      merge = g.strides[k][g.ndim - 1] == operands[k].stride(d) * size;
    }
    if (merge) {
      g.sizes[g.ndim - 1] *= size;
      for (int k = 0; k < count; ++k) g.strides[k][g.ndim - 1] = operands[k].stride(d);
      continue;
    }
    EMBER_CHECK(g.ndim < kMaxDims, op, ": the CUDA kernel indexes at most ", kMaxDims,
                " non-mergeable dimensions, got ", first.str());
    g.sizes[g.ndim] = size;
    for (int k = 0; k < count; ++k) g.strides[k][g.ndim] = operands[k].stride(d);
    ++g.ndim;
  }
  if (g.ndim == 0) {
    g.sizes[0] = 1;
    g.ndim = 1;
  }
  g.linear = g.ndim == 1;
  for (int k = 0; k < count; ++k) {
    g.linear_step[k] = g.strides[k][0];
    g.linear = g.linear && (g.strides[k][0] == 0 || g.strides[k][0] == 1);
  }
  return g;
}

namespace {

// pointwise_loss_raw with binary_cross_entropy's input flag (see the kernel).
void launch_pointwise_loss(PointwiseLoss kind, DType dtype, void* out, const void* input,
                           const void* target, const void* weight, const void* pos_weight,
                           const PointwiseLossGeometry& g, double beta, Reduction reduction,
                           void* partials, int* invalid) {
  const bool reduce = reduction != Reduction::none;
  if (g.numel == 0 && !reduce) return;
  dispatch_pointwise(kind, dtype, g.linear, [&](auto k, auto zero, auto linear) {
    using T = decltype(zero);
    const int blocks = pointwise_blocks(g.numel, reduce ? kPointwiseLossPartials : kMaxBlocks);
    launch(pointwise_loss_kernel<decltype(k)::value, T, decltype(linear)::value>, dim3(blocks),
           dim3(kThreads), 0, current_stream(), static_cast<T*>(out),
           static_cast<T*>(reduce ? partials : nullptr), static_cast<const T*>(input),
           static_cast<const T*>(target), static_cast<const T*>(weight),
           static_cast<const T*>(pos_weight), invalid, g, T(beta));
    if (!reduce) return;
    // A mean of nothing is 0 / 0 = NaN, as on the CPU.
    const T divisor = reduction == Reduction::mean ? T(g.numel) : T(1);
    launch(loss_total_kernel<T>, dim3(1), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(out), static_cast<const T*>(partials), blocks, divisor);
  });
}

}  // namespace

void pointwise_loss_raw(PointwiseLoss kind, DType dtype, void* out, const void* input,
                        const void* target, const void* weight, const void* pos_weight,
                        const PointwiseLossGeometry& g, double beta, Reduction reduction,
                        void* partials) {
  launch_pointwise_loss(kind, dtype, out, input, target, weight, pos_weight, g, beta, reduction,
                        partials, nullptr);
}

void pointwise_loss_backward_raw(PointwiseLoss kind, DType dtype, void* grad_input,
                                 void* grad_target, const void* grad, const void* input,
                                 const void* target, const void* weight, const void* pos_weight,
                                 const PointwiseLossGeometry& g, double beta) {
  if (g.numel == 0) return;
  dispatch_pointwise(kind, dtype, g.linear, [&](auto k, auto zero, auto linear) {
    using T = decltype(zero);
    launch(pointwise_loss_backward_kernel<decltype(k)::value, T, decltype(linear)::value>,
           dim3(pointwise_blocks(g.numel, kMaxBlocks)), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(grad_input), static_cast<T*>(grad_target),
           static_cast<const T*>(grad), static_cast<const T*>(input),
           static_cast<const T*>(target), static_cast<const T*>(weight),
           static_cast<const T*>(pos_weight), g, T(beta));
  });
}

void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input,
                    const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                    double beta, Reduction reduction) {
  const char* op = pointwise_op(kind);
  const bool reduce = reduction != Reduction::none;
  // Reduced, out is 0-d: input stands in for it in the geometry (its offsets go unused).
  const Tensor& shaped = reduce ? input : out;
  const Tensor operands[] = {shaped, shaped, shaped, input, target, weight, pos_weight};
  const PointwiseLossGeometry g = pointwise_loss_geometry(op, operands, kPointwiseLossOperands);
  Tensor partials;
  if (reduce) partials = Tensor::empty({kPointwiseLossPartials}, input.dtype(), input.device());
  const bool check = kind == PointwiseLoss::binary_cross_entropy;
  Tensor invalid;
  if (check) invalid = Tensor::zeros({}, DType::int32, input.device());
  launch_pointwise_loss(kind, input.dtype(), out.raw_data(), input.raw_data(), target.raw_data(),
                        weight.raw_data(), pos_weight.raw_data(), g, beta, reduction,
                        reduce ? partials.raw_data() : nullptr,
                        check ? static_cast<int*>(invalid.raw_data()) : nullptr);
  // One int comes back; the input only on the error path, for the CPU's message.
  if (check && invalid.item().to<int>() != 0) {
    cpu::check_probabilities(op, input.to(Device()));
    EMBER_FAIL(value, op, ": all elements of input should be between 0 and 1");
  }
}

void pointwise_loss_backward(PointwiseLoss kind, const Tensor& grad_input,
                             const Tensor& grad_target, const Tensor& grad, const Tensor& input,
                             const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                             double beta) {
  const Tensor operands[] = {grad_input, grad_target, grad, input, target, weight, pos_weight};
  const PointwiseLossGeometry g =
      pointwise_loss_geometry(pointwise_op(kind), operands, kPointwiseLossOperands);
  pointwise_loss_backward_raw(kind, input.dtype(), grad_input.raw_data(), grad_target.raw_data(),
                              grad.raw_data(), input.raw_data(), target.raw_data(),
                              weight.raw_data(), pos_weight.raw_data(), g, beta);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
