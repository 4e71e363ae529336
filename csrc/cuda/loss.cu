// CUDA loss kernels: cross entropy (fused stable log-softmax, class weights,
// ignore_index, label smoothing, probability targets) and nll_loss over an
// (N, C, D) input, forward and backward, and the pointwise losses (mse, l1,
// smooth_l1, binary cross entropy with and without logits) with their
// derivatives, the forward optionally reduced to one value in the same pass.
// Class kernels give each sample a group of `lanes` threads: a warp or a
// block walks a contiguous row when D == 1; one thread per sample when
// D > 1, so neighbouring threads read neighbouring d and loads coalesce.
// Out-of-range class targets set a device flag that the host reads back after
// the launch and turns into an IndexError, instead of reading out of bounds.
#include <math.h>

#include <algorithm>
#include <type_traits>

#include "core/check.h"
#include "cpu/loss.h"
#include "cuda/device/divide.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 65535;
// Rows at least this long get a whole block each; shorter ones one warp.
constexpr int64_t kBlockRowLength = 1024;

__device__ __forceinline__ float exp_of(float v) { return expf(v); }
__device__ __forceinline__ double exp_of(double v) { return exp(v); }
__device__ __forceinline__ float log_of(float v) { return logf(v); }
__device__ __forceinline__ double log_of(double v) { return log(v); }
__device__ __forceinline__ float log1p_of(float v) { return log1pf(v); }
__device__ __forceinline__ double log1p_of(double v) { return log1p(v); }
__device__ __forceinline__ float abs_of(float v) { return fabsf(v); }
__device__ __forceinline__ double abs_of(double v) { return fabs(v); }
template <typename T>
__device__ __forceinline__ bool is_inf(T v) {
  return v == T(HUGE_VAL) || v == T(-HUGE_VAL);
}

// Combines v over the blockDim.x threads that own one sample (1, a warp, or
// the whole block); every one of them gets the result. Whole-block groups
// call it from every thread of the block (it has barriers).
template <typename T, typename Op>
__device__ T group_reduce(T v, Op op) {
  if (blockDim.x == 1) return v;
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, mask));
  if (blockDim.x == 32) return v;
  __shared__ T partial[kMaxWarps];
  const int warps = int(blockDim.x) / 32;
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  T total = partial[0];
  for (int w = 1; w < warps; ++w) total = op(total, partial[w]);
  // The next call writes `partial` again: nobody may still be reading it.
  __syncthreads();
  return total;
}

struct Sum {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
// NaN is dropped like std::max drops it; a NaN row still ends up NaN through its exp sum.
struct Max {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return b > a ? b : a; }
};

// Sample s = n * D + d of an (N, C, D) tensor: its first class and class step.
struct SampleRow {
  int64_t base, step;
};
__device__ __forceinline__ SampleRow sample_row(const ClassLossGeometry& g, int64_t s) {
  if (g.D == 1) return {s * g.C, 1};
  const int64_t n = index_div(s, g.D);
  return {n * g.C * g.D + (s - n * g.D), g.D};
}

// Runs body(sample) for each sample of this thread's group, grid-stride. A
// group's threads share one trip count, so group_reduce inside is safe.
template <typename Body>
__device__ __forceinline__ void for_each_sample(int64_t samples, const Body& body) {
  const int64_t step = int64_t(gridDim.x) * blockDim.y;
  for (int64_t s = int64_t(blockIdx.x) * blockDim.y + threadIdx.y; s < samples; s += step) {
    body(s);
  }
}

template <typename T>
__device__ __forceinline__ T weight_of(const T* weight, int64_t c) {
  return weight ? weight[c] : T(1);
}

// log(sum_c exp(x_c)) of one row, computed by the group: max first, then the
// shifted exp sum, as on the CPU (an infinite max is the answer itself).
template <typename T>
__device__ T row_logsumexp(const T* x, int64_t C, int64_t step) {
  T peak = -HUGE_VAL;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) peak = Max()(peak, T(x[c * step]));
  peak = group_reduce(peak, Max());
  T total = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) total += exp_of(T(x[c * step]) - peak);
  total = group_reduce(total, Sum());
  return is_inf(peak) ? peak : peak + log_of(total);
}

// Class-index targets: loss, logsumexp and the target's class weight per sample.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_kernel(T* __restrict__ loss, T* __restrict__ lse_out, T* __restrict__ sample_w,
                         const T* __restrict__ input, const int64_t* __restrict__ target,
                         const T* __restrict__ weight, int* error_flag, ClassLossGeometry g,
                         int64_t ignore_index, T smoothing) {
  for_each_sample(g.N * g.D, [&](int64_t s) {
    const SampleRow r = sample_row(g, s);
    const T* x = input + r.base;
    const T lse = row_logsumexp(x, g.C, r.step);
    const int64_t cls = target[s];
    const bool ignored = cls == ignore_index;
    const bool bad = !ignored && (cls < 0 || cls >= g.C);
    T smooth = 0;
    if (smoothing > 0 && !ignored && !bad) {
      for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) {
        smooth += T(weight_of(weight, c)) * (lse - T(x[c * r.step]));
      }
    }
    if (smoothing > 0) smooth = group_reduce(smooth, Sum());
    if (threadIdx.x != 0) return;
    lse_out[s] = T(lse);
    if (ignored || bad) {
      if (bad) *error_flag = 1;
      loss[s] = 0;
      sample_w[s] = 0;
      return;
    }
    const T wt = weight_of(weight, cls);
    T value = wt * (lse - T(x[cls * r.step]));
    if (smoothing > 0) value = (1 - smoothing) * value + smoothing / T(g.C) * smooth;
    loss[s] = T(value);
    sample_w[s] = T(wt);
  });
}

// Probability targets: loss = sum_c w_c * t_c * (lse - x_c), t smoothed.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_probs_kernel(T* __restrict__ loss, T* __restrict__ lse_out,
                               const T* __restrict__ input, const T* __restrict__ probs,
                               const T* __restrict__ weight, ClassLossGeometry g,
                               T smoothing) {
  for_each_sample(g.N * g.D, [&](int64_t s) {
    const SampleRow r = sample_row(g, s);
    const T* x = input + r.base;
    const T* p = probs + r.base;
    const T lse = row_logsumexp(x, g.C, r.step);
    const T uniform = smoothing / T(g.C);
    T value = 0;
    for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) {
      const T tc = (1 - smoothing) * T(p[c * r.step]) + uniform;
      value += T(weight_of(weight, c)) * tc * (lse - T(x[c * r.step]));
    }
    value = group_reduce(value, Sum());
    if (threadIdx.x != 0) return;
    lse_out[s] = T(lse);
    loss[s] = T(value);
  });
}

// grad_x_c = g * (w_t (1 - eps) (softmax_c - [c == t]) + eps / C (softmax_c W - w_c)),
// W the sum of all class weights; ignored samples get a zero row.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ grad,
                                  const T* __restrict__ input, const int64_t* __restrict__ target,
                                  const T* __restrict__ weight, const T* __restrict__ lse_in,
                                  int* error_flag, ClassLossGeometry g, int64_t ignore_index,
                                  T smoothing) {
  for_each_sample(g.N * g.D, [&](int64_t s) {
    const SampleRow r = sample_row(g, s);
    const T* x = input + r.base;
    T* gx = grad_input + r.base;
    const int64_t cls = target[s];
    const bool ignored = cls == ignore_index;
    if (ignored || cls < 0 || cls >= g.C) {
      if (!ignored && threadIdx.x == 0) *error_flag = 1;
      for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) gx[c * r.step] = 0;
      return;
    }
    T weight_total = 0;
    if (smoothing > 0) {
      for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) {
        weight_total += T(weight_of(weight, c));
      }
      weight_total = group_reduce(weight_total, Sum());
    }
    const int64_t n = index_div(s, g.D);
    const T gs = grad[n * g.grad_stride_n + (s - n * g.D) * g.grad_stride_d];
    const T lse = lse_in[s];
    const T wt = T(weight_of(weight, cls)) * (1 - smoothing);
    const T uniform = smoothing / T(g.C);
    for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) {
      const T prob = exp_of(T(x[c * r.step]) - lse);
      T v = wt * (prob - (c == cls ? T(1) : T(0)));
      if (smoothing > 0) v += uniform * (prob * weight_total - T(weight_of(weight, c)));
      gx[c * r.step] = T(gs * v);
    }
  });
}

// grad_x_c = g * (softmax_c * sum_k w_k t_k - w_c t_c), t smoothed.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    cross_entropy_probs_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ grad,
                                        const T* __restrict__ input, const T* __restrict__ probs,
                                        const T* __restrict__ weight,
                                        const T* __restrict__ lse_in, ClassLossGeometry g,
                                        T smoothing) {
  for_each_sample(g.N * g.D, [&](int64_t s) {
    const SampleRow r = sample_row(g, s);
    const T* x = input + r.base;
    const T* p = probs + r.base;
    T* gx = grad_input + r.base;
    const T uniform = smoothing / T(g.C);
    T weighted_target = 0;
    for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) {
      weighted_target +=
          T(weight_of(weight, c)) * ((1 - smoothing) * T(p[c * r.step]) + uniform);
    }
    weighted_target = group_reduce(weighted_target, Sum());
    const int64_t n = index_div(s, g.D);
    const T gs = grad[n * g.grad_stride_n + (s - n * g.D) * g.grad_stride_d];
    const T lse = lse_in[s];
    for (int64_t c = threadIdx.x; c < g.C; c += blockDim.x) {
      const T tc = (1 - smoothing) * T(p[c * r.step]) + uniform;
      const T softmax = exp_of(T(x[c * r.step]) - lse);
      gx[c * r.step] = T(gs * (softmax * weighted_target - T(weight_of(weight, c)) * tc));
    }
  });
}

// One thread per sample: a gather of the target's log-probability.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    nll_loss_kernel(T* __restrict__ loss, T* __restrict__ sample_w, const T* __restrict__ input,
                    const int64_t* __restrict__ target, const T* __restrict__ weight,
                    int* error_flag, ClassLossGeometry g, int64_t ignore_index) {
  const int64_t samples = g.N * g.D, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t s = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; s < samples; s += step) {
    const int64_t cls = target[s];
    if (cls == ignore_index || cls < 0 || cls >= g.C) {
      if (cls != ignore_index) *error_flag = 1;
      loss[s] = 0;
      sample_w[s] = 0;
      continue;
    }
    const int64_t n = index_div(s, g.D);
    const T wt = weight_of(weight, cls);
    loss[s] = -wt * input[(n * g.C + cls) * g.D + (s - n * g.D)];
    sample_w[s] = wt;
  }
}

// One thread per sample: scatters -w_t * g into the zero-filled grad_input.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    nll_loss_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ grad,
                             const int64_t* __restrict__ target, const T* __restrict__ weight,
                             int* error_flag, ClassLossGeometry g, int64_t ignore_index) {
  const int64_t samples = g.N * g.D, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t s = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; s < samples; s += step) {
    const int64_t cls = target[s];
    if (cls == ignore_index) continue;
    if (cls < 0 || cls >= g.C) {
      *error_flag = 1;
      continue;
    }
    const int64_t n = index_div(s, g.D), d = s - n * g.D;
    grad_input[(n * g.C + cls) * g.D + d] =
        -weight_of(weight, cls) * grad[n * g.grad_stride_n + d * g.grad_stride_d];
  }
}

// The block shape for samples of C classes: (lanes per sample, samples per block).
dim3 class_block(const char* op, const ClassLossGeometry& g, int lanes) {
  if (lanes == 0) lanes = g.D > 1 ? 1 : g.C >= kBlockRowLength ? kThreads : 32;
  EMBER_CHECK(lanes == 1 || lanes == 32 || lanes == kThreads, op,
              ": lanes per sample must be 1, 32 or ", kThreads, ", got ", lanes);
  return dim3(unsigned(lanes), unsigned(kThreads / lanes));
}

dim3 class_grid(const ClassLossGeometry& g, const dim3& block) {
  return dim3(unsigned(std::max<int64_t>(1, std::min(ceil_div<int64_t>(g.N * g.D, block.y),
                                                      kMaxBlocks))));
}

dim3 sample_grid(const ClassLossGeometry& g) {
  return dim3(unsigned(std::max<int64_t>(1, std::min(ceil_div<int64_t>(g.N * g.D, kThreads),
                                                     kMaxBlocks))));
}

[[noreturn]] void bad_dtype(const char* op, DType dtype) {
  EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
             " (float32 and float64 have one)");
}

// Calls f(T{}) with T the C++ type of a floating dtype.
template <typename F>
void dispatch_float(const char* op, DType dtype, const F& f) {
  switch (dtype) {
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    default: bad_dtype(op, dtype);
  }
}

}  // namespace

void cross_entropy_raw(DType dtype, void* loss, void* logsumexp, void* sample_weight,
                       const void* input, const int64_t* target, const void* probs,
                       const void* weight, int* error_flag, const ClassLossGeometry& g,
                       int64_t ignore_index, double label_smoothing, int lanes) {
  const char* op = "cross_entropy";
  const dim3 block = class_block(op, g, lanes);
  if (g.N * g.D == 0) return;
  dispatch_float(op, dtype, [&](auto zero) {
    using T = decltype(zero);
    if (target) {
      launch(cross_entropy_kernel<T>, class_grid(g, block), block, 0, current_stream(),
             static_cast<T*>(loss), static_cast<T*>(logsumexp), static_cast<T*>(sample_weight),
             static_cast<const T*>(input), target, static_cast<const T*>(weight), error_flag, g,
             ignore_index, T(label_smoothing));
    } else {
      launch(cross_entropy_probs_kernel<T>, class_grid(g, block), block, 0, current_stream(),
             static_cast<T*>(loss), static_cast<T*>(logsumexp), static_cast<const T*>(input),
             static_cast<const T*>(probs), static_cast<const T*>(weight), g,
             T(label_smoothing));
    }
  });
}

void cross_entropy_backward_raw(DType dtype, void* grad_input, const void* grad,
                                const void* input, const int64_t* target, const void* probs,
                                const void* weight, const void* logsumexp, int* error_flag,
                                const ClassLossGeometry& g, int64_t ignore_index,
                                double label_smoothing, int lanes) {
  const char* op = "cross_entropy_backward";
  const dim3 block = class_block(op, g, lanes);
  if (g.N * g.D == 0) return;
  dispatch_float(op, dtype, [&](auto zero) {
    using T = decltype(zero);
    if (target) {
      launch(cross_entropy_backward_kernel<T>, class_grid(g, block), block, 0, current_stream(),
             static_cast<T*>(grad_input), static_cast<const T*>(grad),
             static_cast<const T*>(input), target, static_cast<const T*>(weight),
             static_cast<const T*>(logsumexp), error_flag, g, ignore_index,
             T(label_smoothing));
    } else {
      launch(cross_entropy_probs_backward_kernel<T>, class_grid(g, block), block, 0,
             current_stream(), static_cast<T*>(grad_input), static_cast<const T*>(grad),
             static_cast<const T*>(input), static_cast<const T*>(probs),
             static_cast<const T*>(weight), static_cast<const T*>(logsumexp), g,
             T(label_smoothing));
    }
  });
}

void nll_loss_raw(DType dtype, void* loss, void* sample_weight, const void* input,
                  const int64_t* target, const void* weight, int* error_flag,
                  const ClassLossGeometry& g, int64_t ignore_index) {
  if (g.N * g.D == 0) return;
  dispatch_float("nll_loss", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(nll_loss_kernel<T>, sample_grid(g), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(loss), static_cast<T*>(sample_weight), static_cast<const T*>(input),
           target, static_cast<const T*>(weight), error_flag, g, ignore_index);
  });
}

void nll_loss_backward_raw(DType dtype, void* grad_input, const void* grad,
                           const int64_t* target, const void* weight, int* error_flag,
                           const ClassLossGeometry& g, int64_t ignore_index) {
  if (g.N * g.D == 0) return;
  dispatch_float("nll_loss_backward", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(nll_loss_backward_kernel<T>, sample_grid(g), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(grad_input), static_cast<const T*>(grad), target,
           static_cast<const T*>(weight), error_flag, g, ignore_index);
  });
}

namespace {

// The (N, C, D) geometry of a contiguous input; grad (N, D) may have any strides.
ClassLossGeometry class_geometry(const Tensor& input, const Tensor* grad = nullptr) {
  ClassLossGeometry g;
  g.N = input.size(0);
  g.C = input.size(1);
  g.D = input.size(2);
  if (grad) {
    g.grad_stride_n = grad->stride(0);
    g.grad_stride_d = grad->stride(1);
  }
  return g;
}

const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// A zeroed device int for a kernel to flag out-of-range targets in; after the
// kernel, check() raises the CPU's IndexError (found on a host copy of the
// targets, so the message names the first bad one) when it was set.
class TargetCheck {
 public:
  TargetCheck(const char* op, const Tensor& target, int64_t classes, int64_t ignore_index)
      : op_(op), target_(target), classes_(classes), ignore_index_(ignore_index),
        flag_(Tensor::empty({1}, DType::int32, target.device())) {
    const int zero = 0;
    cuda::memcpy(flag_.raw_data(), true, &zero, false, sizeof(int));
  }
  int* flag() { return static_cast<int*>(flag_.raw_data()); }
  void check() const {
    int bad = 0;
    cuda::memcpy(&bad, false, flag_.raw_data(), true, sizeof(int));
    if (bad) cpu::check_class_targets(op_, target_.to(Device()), classes_, ignore_index_);
    EMBER_CHECK_KIND(index, !bad, op_, ": a target is out of bounds for ", classes_, " classes");
  }

 private:
  const char* op_;
  Tensor target_;
  int64_t classes_, ignore_index_;
  Tensor flag_;
};

}  // namespace

void cross_entropy(const Tensor& loss, const Tensor& logsumexp, const Tensor& sample_weight,
                   const Tensor& input, const Tensor& target, const Tensor& weight,
                   int64_t ignore_index, double label_smoothing) {
  const ClassLossGeometry g = class_geometry(input);
  TargetCheck check("cross_entropy", target, g.C, ignore_index);
  cross_entropy_raw(input.dtype(), loss.raw_data(), logsumexp.raw_data(),
                    sample_weight.raw_data(), input.raw_data(), target.data<int64_t>(), nullptr,
                    data_or_null(weight), check.flag(), g, ignore_index, label_smoothing);
  check.check();
}

void cross_entropy_probs(const Tensor& loss, const Tensor& logsumexp, const Tensor& input,
                         const Tensor& target, const Tensor& weight, double label_smoothing) {
  cross_entropy_raw(input.dtype(), loss.raw_data(), logsumexp.raw_data(), nullptr,
                    input.raw_data(), nullptr, target.raw_data(), data_or_null(weight), nullptr,
                    class_geometry(input), 0, label_smoothing);
}

void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor& logsumexp,
                            int64_t ignore_index, double label_smoothing) {
  const ClassLossGeometry g = class_geometry(input, &grad);
  TargetCheck check("cross_entropy_backward", target, g.C, ignore_index);
  cross_entropy_backward_raw(input.dtype(), grad_input.raw_data(), grad.raw_data(),
                             input.raw_data(), target.data<int64_t>(), nullptr,
                             data_or_null(weight), logsumexp.raw_data(), check.flag(), g,
                             ignore_index, label_smoothing);
  check.check();
}

void cross_entropy_probs_backward(const Tensor& grad_input, const Tensor& grad,
                                  const Tensor& input, const Tensor& target, const Tensor& weight,
                                  const Tensor& logsumexp, double label_smoothing) {
  cross_entropy_backward_raw(input.dtype(), grad_input.raw_data(), grad.raw_data(),
                             input.raw_data(), nullptr, target.raw_data(), data_or_null(weight),
                             logsumexp.raw_data(), nullptr, class_geometry(input, &grad), 0,
                             label_smoothing);
}

void nll_loss(const Tensor& loss, const Tensor& sample_weight, const Tensor& input,
              const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  const ClassLossGeometry g = class_geometry(input);
  TargetCheck check("nll_loss", target, g.C, ignore_index);
  nll_loss_raw(input.dtype(), loss.raw_data(), sample_weight.raw_data(), input.raw_data(),
               target.data<int64_t>(), data_or_null(weight), check.flag(), g, ignore_index);
  check.check();
}

void nll_loss_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& target,
                       const Tensor& weight, int64_t ignore_index) {
  const ClassLossGeometry g = class_geometry(grad_input, &grad);
  TargetCheck check("nll_loss_backward", target, g.C, ignore_index);
  nll_loss_backward_raw(grad_input.dtype(), grad_input.raw_data(), grad.raw_data(),
                        target.data<int64_t>(), data_or_null(weight), check.flag(), g,
                        ignore_index);
  check.check();
}

// --- pointwise losses ---

namespace {

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
    sum_partials_kernel(T* __restrict__ out, const T* __restrict__ partials, int count,
                        T divisor) {
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
    launch(sum_partials_kernel<T>, dim3(1), dim3(kThreads), 0, current_stream(),
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
