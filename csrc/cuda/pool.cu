// CUDA 2-D pooling over contiguous (planes, H, W) data, a plane being one
// (image, channel): max (with int64 argmax indices), average (padding,
// ceil_mode, count_include_pad, divisor_override) and adaptive average,
// forward and backward. One thread per output element in the forward passes.
// The average backward passes gather: one thread per input element sums the
// outputs whose windows cover it, so no atomics and a fixed order. The max
// backward only knows the indices (not the window), so it scatters with
// atomicAdd; with non-overlapping windows (stride >= kernel, the usual case)
// each input gets at most one contribution and the result is deterministic.
#include <math.h>

#include <algorithm>

#include "core/check.h"
#include "cuda/device/divide.cuh"
#include "cuda/device/reciprocal.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

int blocks_for(int64_t work) {
  return int(std::max<int64_t>(1, std::min(ceil_div<int64_t>(work, kThreads), kMaxBlocks)));
}

// Runs body(i) for i in [0, n), grid-stride.
template <typename Body>
__device__ __forceinline__ void for_each_index(int64_t n, const Body& body) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) body(i);
}

// Flat index i of (planes, rows, cols) as its plane, row and column.
struct Cell {
  int64_t plane, row, col;
};
__device__ __forceinline__ Cell cell_of(int64_t i, int64_t rows, int64_t cols) {
  const int64_t rest = index_div(i, cols);
  return {index_div(rest, rows), index_mod(rest, rows), i - rest * cols};
}

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

template <typename T>
__device__ __forceinline__ bool is_nan(T v) {
  return v != v;
}

// NaN wins, as on the CPU; ties keep the first maximum in window order.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    max_pool2d_kernel(T* __restrict__ out, int64_t* __restrict__ indices,
                      const T* __restrict__ input, Pool2dGeometry s) {
  for_each_index(s.planes * s.out_h * s.out_w, [&](int64_t i) {
    const Cell o = cell_of(i, s.out_h, s.out_w);
    const T* x = input + o.plane * s.in_h * s.in_w;
    const int64_t h0 = o.row * s.stride_h - s.pad_h, w0 = o.col * s.stride_w - s.pad_w;
    T best = T(-HUGE_VAL);
    int64_t best_index = -1;
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      const int64_t ih = h0 + kh * s.dilation_h;
      if (ih < 0 || ih >= s.in_h) continue;
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t iw = w0 + kw * s.dilation_w;
        if (iw < 0 || iw >= s.in_w) continue;
        const T v = x[ih * s.in_w + iw];
        if (best_index < 0 || v > best || is_nan(v)) {
          best = v;
          best_index = ih * s.in_w + iw;
          if (is_nan(v)) break;
        }
      }
      if (best_index >= 0 && is_nan(best)) break;
    }
    out[i] = best;
    indices[i] = best_index;
  });
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    max_pool2d_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ grad_out,
                               const int64_t* __restrict__ indices, Pool2dGeometry s) {
  const int64_t out_plane = s.out_h * s.out_w;
  for_each_index(s.planes * out_plane, [&](int64_t i) {
    const int64_t index = indices[i];
    if (index >= 0) {
      atomicAdd(grad_input + index_div(i, out_plane) * s.in_h * s.in_w + index, grad_out[i]);
    }
  });
}

// The clipped window [h0, h1) x [w0, w1) of output (oh, ow) and its cell
// count, the divisor without divisor_override (PyTorch's rule: padding cells
// count when count_include_pad, cells past the padding never do).
struct AvgWindow {
  int64_t h0, h1, w0, w1, count;
};
__device__ __forceinline__ AvgWindow avg_window(const Pool2dGeometry& s, int64_t oh, int64_t ow,
                                                bool count_include_pad) {
  int64_t h0 = oh * s.stride_h - s.pad_h, w0 = ow * s.stride_w - s.pad_w;
  int64_t h1 = min64(h0 + s.kernel_h, s.in_h + s.pad_h);
  int64_t w1 = min64(w0 + s.kernel_w, s.in_w + s.pad_w);
  const int64_t padded_count = (h1 - h0) * (w1 - w0);
  h0 = max64(h0, 0);
  w0 = max64(w0, 0);
  h1 = min64(h1, s.in_h);
  w1 = min64(w1, s.in_w);
  return {h0, h1, w0, w1, count_include_pad ? padded_count : (h1 - h0) * (w1 - w0)};
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    avg_pool2d_kernel(T* __restrict__ out, const T* __restrict__ input, Pool2dGeometry s,
                      bool count_include_pad, int64_t divisor_override) {
  for_each_index(s.planes * s.out_h * s.out_w, [&](int64_t i) {
    const Cell o = cell_of(i, s.out_h, s.out_w);
    const T* x = input + o.plane * s.in_h * s.in_w;
    const AvgWindow win = avg_window(s, o.row, o.col, count_include_pad);
    const int64_t divisor = divisor_override > 0 ? divisor_override : win.count;
    const double scale = divisor > 0 ? 1.0 / double(divisor) : 0.0;
    T total = 0;
    for (int64_t ih = win.h0; ih < win.h1; ++ih) {
      for (int64_t iw = win.w0; iw < win.w1; ++iw) total += x[ih * s.in_w + iw];
    }
    out[i] = T(total * T(scale));
  });
}

// The outputs whose windows (kernel k, stride s, padding p) can cover input i
// along one axis: [first, last], clipped to [0, out).
struct OutputRange {
  int64_t first, last;
};
__device__ __forceinline__ OutputRange covering(int64_t i, int64_t k, int64_t stride, int64_t pad,
                                                int64_t out) {
  const int64_t first = i + pad < k ? 0 : index_div(i + pad - k, stride) + 1;
  return {first, min64(index_div(i + pad, stride), out - 1)};
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    avg_pool2d_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ grad_out,
                               Pool2dGeometry s, bool count_include_pad,
                               int64_t divisor_override, double override_scale) {
  for_each_index(s.planes * s.in_h * s.in_w, [&](int64_t i) {
    const Cell c = cell_of(i, s.in_h, s.in_w);
    const T* gy = grad_out + c.plane * s.out_h * s.out_w;
    const OutputRange rows = covering(c.row, s.kernel_h, s.stride_h, s.pad_h, s.out_h);
    const OutputRange cols = covering(c.col, s.kernel_w, s.stride_w, s.pad_w, s.out_w);
    T total = 0;
    for (int64_t oh = rows.first; oh <= rows.last; ++oh) {
      for (int64_t ow = cols.first; ow <= cols.last; ++ow) {
        const AvgWindow win = avg_window(s, oh, ow, count_include_pad);
        const double scale = divisor_override > 0 ? override_scale
                             : win.count > 0      ? exact_reciprocal(win.count)
                                                  : 0.0;
        total += T(double(gy[oh * s.out_w + ow]) * scale);
      }
    }
    grad_input[i] = total;
  });
}

__device__ __forceinline__ int64_t adaptive_start(int64_t i, int64_t in, int64_t out) {
  return index_div(i * in, out);
}
__device__ __forceinline__ int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return index_div((i + 1) * in + out - 1, out);
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    adaptive_avg_pool2d_kernel(T* __restrict__ out, const T* __restrict__ input,
                               Pool2dGeometry s) {
  for_each_index(s.planes * s.out_h * s.out_w, [&](int64_t i) {
    const Cell o = cell_of(i, s.out_h, s.out_w);
    const T* x = input + o.plane * s.in_h * s.in_w;
    const int64_t h0 = adaptive_start(o.row, s.in_h, s.out_h);
    const int64_t h1 = adaptive_end(o.row, s.in_h, s.out_h);
    const int64_t w0 = adaptive_start(o.col, s.in_w, s.out_w);
    const int64_t w1 = adaptive_end(o.col, s.in_w, s.out_w);
    T total = 0;
    for (int64_t ih = h0; ih < h1; ++ih) {
      for (int64_t iw = w0; iw < w1; ++iw) total += x[ih * s.in_w + iw];
    }
    out[i] = total / T((h1 - h0) * (w1 - w0));
  });
}

// Output cells i along one axis whose adaptive window holds input j: from
// floor(j * out / in) to ceil((j + 1) * out / in) - 1.
__device__ __forceinline__ OutputRange adaptive_covering(int64_t j, int64_t in, int64_t out) {
  return {index_div(j * out, in), min64(index_div((j + 1) * out + in - 1, in) - 1, out - 1)};
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    adaptive_avg_pool2d_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ grad_out,
                                        Pool2dGeometry s) {
  for_each_index(s.planes * s.in_h * s.in_w, [&](int64_t i) {
    const Cell c = cell_of(i, s.in_h, s.in_w);
    const T* gy = grad_out + c.plane * s.out_h * s.out_w;
    const OutputRange rows = adaptive_covering(c.row, s.in_h, s.out_h);
    const OutputRange cols = adaptive_covering(c.col, s.in_w, s.out_w);
    T total = 0;
    for (int64_t oh = rows.first; oh <= rows.last; ++oh) {
      const int64_t h0 = adaptive_start(oh, s.in_h, s.out_h);
      const int64_t h1 = adaptive_end(oh, s.in_h, s.out_h);
      if (c.row < h0 || c.row >= h1) continue;
      for (int64_t ow = cols.first; ow <= cols.last; ++ow) {
        const int64_t w0 = adaptive_start(ow, s.in_w, s.out_w);
        const int64_t w1 = adaptive_end(ow, s.in_w, s.out_w);
        if (c.col < w0 || c.col >= w1) continue;
        total += T(double(gy[oh * s.out_w + ow]) / double((h1 - h0) * (w1 - w0)));
      }
    }
    grad_input[i] = total;
  });
}

// Calls f(T{}) with T the C++ type of a floating dtype.
template <typename F>
void dispatch_float(const char* op, DType dtype, const F& f) {
  switch (dtype) {
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    default:
      EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32 and float64 have one)");
  }
}

}  // namespace

void max_pool2d_raw(DType dtype, void* out, int64_t* indices, const void* input,
                    const Pool2dGeometry& s) {
  const int64_t n = s.planes * s.out_h * s.out_w;
  if (n == 0) return;
  dispatch_float("max_pool2d", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(max_pool2d_kernel<T>, dim3(blocks_for(n)), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(out), indices, static_cast<const T*>(input), s);
  });
}

void max_pool2d_backward_raw(DType dtype, void* grad_input, const void* grad_out,
                             const int64_t* indices, const Pool2dGeometry& s) {
  const int64_t n = s.planes * s.out_h * s.out_w;
  if (n == 0) return;
  dispatch_float("max_pool2d_backward", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(max_pool2d_backward_kernel<T>, dim3(blocks_for(n)), dim3(kThreads), 0,
           current_stream(), static_cast<T*>(grad_input), static_cast<const T*>(grad_out),
           indices, s);
  });
}

void avg_pool2d_raw(DType dtype, void* out, const void* input, const Pool2dGeometry& s,
                    bool count_include_pad, int64_t divisor_override) {
  const int64_t n = s.planes * s.out_h * s.out_w;
  if (n == 0) return;
  dispatch_float("avg_pool2d", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(avg_pool2d_kernel<T>, dim3(blocks_for(n)), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(out), static_cast<const T*>(input), s, count_include_pad,
           divisor_override);
  });
}

void avg_pool2d_backward_raw(DType dtype, void* grad_input, const void* grad_out,
                             const Pool2dGeometry& s, bool count_include_pad,
                             int64_t divisor_override) {
  const char* op = "avg_pool2d_backward";
  const int64_t n = s.planes * s.in_h * s.in_w;
  if (n == 0) return;
  EMBER_CHECK(double(s.kernel_h) * double(s.kernel_w) < 0x1p51, op,
              ": the CUDA kernel takes windows of fewer than 2^51 cells, got ", s.kernel_h, "x",
              s.kernel_w);
  const double override_scale = divisor_override > 0 ? 1.0 / double(divisor_override) : 0.0;
  dispatch_float(op, dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(avg_pool2d_backward_kernel<T>, dim3(blocks_for(n)), dim3(kThreads), 0,
           current_stream(), static_cast<T*>(grad_input), static_cast<const T*>(grad_out), s,
           count_include_pad, divisor_override, override_scale);
  });
}

void adaptive_avg_pool2d_raw(DType dtype, void* out, const void* input,
                             const Pool2dGeometry& s) {
  const int64_t n = s.planes * s.out_h * s.out_w;
  if (n == 0) return;
  dispatch_float("adaptive_avg_pool2d", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(adaptive_avg_pool2d_kernel<T>, dim3(blocks_for(n)), dim3(kThreads), 0,
           current_stream(), static_cast<T*>(out), static_cast<const T*>(input), s);
  });
}

void adaptive_avg_pool2d_backward_raw(DType dtype, void* grad_input, const void* grad_out,
                                      const Pool2dGeometry& s) {
  const int64_t n = s.planes * s.in_h * s.in_w;
  if (n == 0) return;
  dispatch_float("adaptive_avg_pool2d_backward", dtype, [&](auto zero) {
    using T = decltype(zero);
    launch(adaptive_avg_pool2d_backward_kernel<T>, dim3(blocks_for(n)), dim3(kThreads), 0,
           current_stream(), static_cast<T*>(grad_input), static_cast<const T*>(grad_out), s);
  });
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
