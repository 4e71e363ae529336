// CUDA cross entropy (fused stable log-softmax, class weights, ignore_index,
// label smoothing, probability targets) and nll_loss over an (N, C, D) input,
// forward and backward. The pointwise losses are in loss_pointwise.cu.
// Class kernels give each sample a group of `lanes` threads: a warp or a
// block walks a contiguous row when D == 1; one thread per sample when
// D > 1, so neighbouring threads read neighbouring d and loads coalesce.
// Out-of-range class targets set a device flag that the host reads back after
// the launch and turns into an IndexError, instead of reading out of bounds.
#include <algorithm>

#include "core/check.h"
#include "cpu/loss.h"
#include "cuda/device/divide.cuh"
#include "cuda/device/loss.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using namespace losses;

// Rows at least this long get a whole block each; shorter ones one warp.
constexpr int64_t kBlockRowLength = 1024;

template <typename T>
__device__ __forceinline__ bool is_inf(T v) {
  return v == T(HUGE_VAL) || v == T(-HUGE_VAL);
}

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

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
