// CPU 2-D pooling: one plane per task, parallel over planes, so a backward
// pass scatters only inside its own plane and needs no atomics.
#include "cpu/pool.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"

namespace ember {
namespace cpu {
namespace {

template <typename F>
void for_each_plane(const Pool2dShape& s, int64_t work_per_plane, const F& f) {
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_plane, 1));
  parallel_for(0, s.planes, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) f(p);
  });
}

// The average-pool window of one output cell, PyTorch's rule: the divisor
// counts padding cells (but not cells past the padding), unless told not to.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  double scale;
};

AvgWindow avg_window(const Pool2dShape& s, int64_t oh, int64_t ow, bool count_include_pad,
                     int64_t divisor_override) {
  int64_t h0 = oh * s.stride_h - s.pad_h, w0 = ow * s.stride_w - s.pad_w;
  int64_t h1 = std::min(h0 + s.kernel_h, s.in_h + s.pad_h);
  int64_t w1 = std::min(w0 + s.kernel_w, s.in_w + s.pad_w);
  const int64_t padded_count = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0);
  w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, s.in_h);
  w1 = std::min(w1, s.in_w);
  int64_t divisor = divisor_override > 0 ? divisor_override
                    : count_include_pad  ? padded_count
                                         : (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, divisor > 0 ? 1.0 / double(divisor) : 0.0};
}

// Output columns [lo, hi) whose windows lie wholly inside the input's width:
// there the window needs no bounds checks and the row kernels below apply.
struct ColumnRange {
  int64_t lo, hi;
};

ColumnRange interior_columns(const Pool2dShape& s) {
  const int64_t lo = (s.pad_w + s.stride_w - 1) / s.stride_w;
  const int64_t last = s.in_w - 1 + s.pad_w - (s.kernel_w - 1) * s.dilation_w;
  const int64_t hi = last < 0 ? 0 : std::min(s.out_w, last / s.stride_w + 1);
  return {std::min(lo, s.out_w), std::max(hi, std::min(lo, s.out_w))};
}

// The window of one output cell in scan order: the first maximum wins, and so
// does the first NaN. Border cells go through here (it checks every bound).
template <typename T>
void max_cell(const Pool2dShape& s, const T* x, int64_t oh, int64_t ow, T* y_row,
              int64_t* idx_row) {
  T best = -INFINITY;
  int64_t best_index = -1;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
    const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
    if (ih < 0 || ih >= s.in_h) continue;
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dilation_w;
      if (iw < 0 || iw >= s.in_w) continue;
      const T v = x[ih * s.in_w + iw];
      if (best_index < 0 || v > best || std::isnan(v)) {
        best = v;
        best_index = ih * s.in_w + iw;
        if (std::isnan(v)) break;
      }
    }
    if (best_index >= 0 && std::isnan(best)) break;
  }
  y_row[ow] = best;
  if (idx_row) idx_row[ow] = best_index;
}

// Folds one input row into n interior output cells (init: the row is the
// window's first valid one). max_cell's scan-order rule without branches: a
// value replaces the running best when it is not <= it (greater, or NaN)
// and the best is not already NaN. kStride/kKernel > 0 fix the column stride
// and window width (dilation 1) at compile time, so the loop vectorises
// (without indices: with them the compiler keeps a branch per compare). The
// indices are 32-bit offsets within the plane, widened once per output row.
template <typename T, bool kWithIndex, int kStride, int kKernel>
void max_row(const T* row, int32_t row_index, int64_t n, const Pool2dShape& s, bool init, T* y,
             int32_t* idx) {
  const int64_t stride = kStride > 0 ? kStride : s.stride_w;
  const int64_t kernel = kKernel > 0 ? kKernel : s.kernel_w;
  const int64_t dilation = kKernel > 0 ? 1 : s.dilation_w;
  auto fold = [&](int64_t j, int64_t kw_begin) {
    T best = y[j];
    int32_t arg = 0;
    if constexpr (kWithIndex) arg = idx[j];
    for (int64_t kw = kw_begin; kw < kernel; ++kw) {
      const T v = row[j * stride + kw * dilation];
      const bool take = !(v <= best) && best == best;
      best = take ? v : best;
      if constexpr (kWithIndex) arg = take ? row_index + int32_t(j * stride + kw * dilation) : arg;
    }
    y[j] = best;
    if constexpr (kWithIndex) idx[j] = arg;
  };
  if (init) {
    for (int64_t j = 0; j < n; ++j) {
      y[j] = row[j * stride];
      if constexpr (kWithIndex) idx[j] = row_index + int32_t(j * stride);
      fold(j, 1);
    }
  } else {
    for (int64_t j = 0; j < n; ++j) fold(j, 0);
  }
}

// max_row for the 2x2, stride-2 float32 window with indices, four outputs per
// step in SSE2 (every x86-64 has it). max_row's branches mispredict on every
// other element of random data: this is 4x faster on LeNet's pooling.
void max_row_2x2(const float* row, int32_t row_index, int64_t n, const Pool2dShape& s, bool init,
                 float* y, int32_t* idx) {
  int64_t j = 0;
  const __m128i step = _mm_set1_epi32(8);
  __m128i even_index = _mm_add_epi32(_mm_set1_epi32(row_index), _mm_setr_epi32(0, 2, 4, 6));
  for (; j + 4 <= n; j += 4, even_index = _mm_add_epi32(even_index, step)) {
    const __m128 a = _mm_loadu_ps(row + 2 * j), b = _mm_loadu_ps(row + 2 * j + 4);
    const __m128 even = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 odd = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128i odd_index = _mm_add_epi32(even_index, _mm_set1_epi32(1));
    __m128 best = init ? even : _mm_loadu_ps(y + j);
    __m128i arg = init ? even_index : _mm_loadu_si128(reinterpret_cast<__m128i*>(idx + j));
    for (int k = init ? 1 : 0; k < 2; ++k) {
      const __m128 v = k == 0 ? even : odd;
      // take: v is not <= best (greater, or NaN) and best is not NaN.
      const __m128 take = _mm_and_ps(_mm_cmpnle_ps(v, best), _mm_cmpeq_ps(best, best));
      best = _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, best));
      const __m128i t = _mm_castps_si128(take);
      arg = _mm_or_si128(_mm_and_si128(t, k == 0 ? even_index : odd_index),
                         _mm_andnot_si128(t, arg));
    }
    _mm_storeu_ps(y + j, best);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + j), arg);
  }
  max_row<float, true, 2, 2>(row + 2 * j, row_index + int32_t(2 * j), n - j, s, init, y + j,
                             idx + j);
}

int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return i * in / out; }
int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* input, T* out, int64_t* indices) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  const ColumnRange inner = interior_columns(s);
  const bool strided2x2 = s.stride_w == 2 && s.kernel_w == 2 && s.dilation_w == 1;
  EMBER_CHECK(in_plane <= INT32_MAX, "max_pool2d: a plane of ", s.in_h, " x ", s.in_w,
              " exceeds 2^31 elements");
  for_each_plane(s, out_plane * s.kernel_h * s.kernel_w, [&](int64_t p) {
    const T* x = input + p * in_plane;
    T* y = out + p * out_plane;
    int64_t* idx = indices ? indices + p * out_plane : nullptr;
    std::vector<int32_t> row_idx(indices ? s.out_w : 0);
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      T* y_row = y + oh * s.out_w;
      int64_t* idx_row = idx ? idx + oh * s.out_w : nullptr;
      const int64_t top = oh * s.stride_h - s.pad_h;
      int64_t kh0 = 0;
      while (kh0 < s.kernel_h && top + kh0 * s.dilation_h < 0) ++kh0;
      int64_t kh1 = kh0;
      while (kh1 < s.kernel_h && top + kh1 * s.dilation_h < s.in_h) ++kh1;
      const bool rows_valid = kh0 < kh1;
      const int64_t lo = rows_valid ? inner.lo : s.out_w, hi = rows_valid ? inner.hi : s.out_w;
      for (int64_t ow = 0; ow < lo; ++ow) max_cell(s, x, oh, ow, y_row, idx_row);
      for (int64_t kh = kh0; kh < kh1; ++kh) {
        const int64_t ih = top + kh * s.dilation_h;
        const int64_t first = ih * s.in_w + lo * s.stride_w - s.pad_w;
        const bool init = kh == kh0;
        const int32_t first32 = int32_t(first);
        int32_t* arg = row_idx.data() + lo;
        if constexpr (std::is_same_v<T, float>) {
          if (strided2x2 && idx_row) {
            max_row_2x2(x + first, first32, hi - lo, s, init, y_row + lo, arg);
            continue;
          }
        }
        if (strided2x2 && idx_row)
          max_row<T, true, 2, 2>(x + first, first32, hi - lo, s, init, y_row + lo, arg);
        else if (strided2x2)
          max_row<T, false, 2, 2>(x + first, first32, hi - lo, s, init, y_row + lo, nullptr);
        else if (idx_row)
          max_row<T, true, 0, 0>(x + first, first32, hi - lo, s, init, y_row + lo, arg);
        else
          max_row<T, false, 0, 0>(x + first, first32, hi - lo, s, init, y_row + lo, nullptr);
      }
      if (idx_row && kh0 < kh1) std::copy(row_idx.data() + lo, row_idx.data() + hi, idx_row + lo);
      for (int64_t ow = std::max(lo, hi); ow < s.out_w; ++ow)
        max_cell(s, x, oh, ow, y_row, idx_row);
    }
  });
}

template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* grad_out, const int64_t* indices,
                         T* grad_input) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  for_each_plane(s, out_plane + in_plane, [&](int64_t p) {
    T* gx = grad_input + p * in_plane;
    std::fill(gx, gx + in_plane, T(0));
    const T* gy = grad_out + p * out_plane;
    const int64_t* idx = indices + p * out_plane;
    for (int64_t o = 0; o < out_plane; ++o)
      if (idx[o] >= 0) gx[idx[o]] += gy[o];
  });
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, bool count_include_pad, int64_t divisor_override,
                        const T* input, T* out) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  for_each_plane(s, out_plane * s.kernel_h * s.kernel_w, [&](int64_t p) {
    const T* x = input + p * in_plane;
    T* y = out + p * out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh)
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        AvgWindow win = avg_window(s, oh, ow, count_include_pad, divisor_override);
        double total = 0;
        for (int64_t ih = win.h0; ih < win.h1; ++ih)
          for (int64_t iw = win.w0; iw < win.w1; ++iw) total += x[ih * s.in_w + iw];
        y[oh * s.out_w + ow] = T(total * win.scale);
      }
  });
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, bool count_include_pad, int64_t divisor_override,
                         const T* grad_out, T* grad_input) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  for_each_plane(s, out_plane * s.kernel_h * s.kernel_w, [&](int64_t p) {
    T* gx = grad_input + p * in_plane;
    std::fill(gx, gx + in_plane, T(0));
    const T* gy = grad_out + p * out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh)
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        AvgWindow win = avg_window(s, oh, ow, count_include_pad, divisor_override);
        const T g = T(double(gy[oh * s.out_w + ow]) * win.scale);
        for (int64_t ih = win.h0; ih < win.h1; ++ih)
          for (int64_t iw = win.w0; iw < win.w1; ++iw) gx[ih * s.in_w + iw] += g;
      }
  });
}

template <typename T>
void adaptive_avg_pool2d_forward(const Pool2dShape& s, const T* input, T* out) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  for_each_plane(s, in_plane + out_plane, [&](int64_t p) {
    const T* x = input + p * in_plane;
    T* y = out + p * out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const int64_t h0 = adaptive_start(oh, s.in_h, s.out_h);
      const int64_t h1 = adaptive_end(oh, s.in_h, s.out_h);
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        const int64_t w0 = adaptive_start(ow, s.in_w, s.out_w);
        const int64_t w1 = adaptive_end(ow, s.in_w, s.out_w);
        double total = 0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) total += x[ih * s.in_w + iw];
        y[oh * s.out_w + ow] = T(total / double((h1 - h0) * (w1 - w0)));
      }
    }
  });
}

template <typename T>
void adaptive_avg_pool2d_backward(const Pool2dShape& s, const T* grad_out, T* grad_input) {
  const int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  for_each_plane(s, in_plane + out_plane, [&](int64_t p) {
    T* gx = grad_input + p * in_plane;
    std::fill(gx, gx + in_plane, T(0));
    const T* gy = grad_out + p * out_plane;
    for (int64_t oh = 0; oh < s.out_h; ++oh) {
      const int64_t h0 = adaptive_start(oh, s.in_h, s.out_h);
      const int64_t h1 = adaptive_end(oh, s.in_h, s.out_h);
      for (int64_t ow = 0; ow < s.out_w; ++ow) {
        const int64_t w0 = adaptive_start(ow, s.in_w, s.out_w);
        const int64_t w1 = adaptive_end(ow, s.in_w, s.out_w);
        const T g = T(double(gy[oh * s.out_w + ow]) / double((h1 - h0) * (w1 - w0)));
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) gx[ih * s.in_w + iw] += g;
      }
    }
  });
}

#define EMBER_INSTANTIATE_POOL(T)                                                               \
  template void max_pool2d_forward<T>(const Pool2dShape&, const T*, T*, int64_t*);              \
  template void max_pool2d_backward<T>(const Pool2dShape&, const T*, const int64_t*, T*);       \
  template void avg_pool2d_forward<T>(const Pool2dShape&, bool, int64_t, const T*, T*);         \
  template void avg_pool2d_backward<T>(const Pool2dShape&, bool, int64_t, const T*, T*);        \
  template void adaptive_avg_pool2d_forward<T>(const Pool2dShape&, const T*, T*);               \
  template void adaptive_avg_pool2d_backward<T>(const Pool2dShape&, const T*, T*);
EMBER_INSTANTIATE_POOL(float)
EMBER_INSTANTIATE_POOL(double)
#undef EMBER_INSTANTIATE_POOL

}  // namespace cpu
}  // namespace ember
