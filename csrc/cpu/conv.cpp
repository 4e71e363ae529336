// CPU conv2d: each (image, group) is one GEMM between the group's weights and
// the image's column matrix (im2col: one row per (channel, kh, kw), one column
// per output pixel). The backward passes reuse the same column layout.
// 3x3 stride-1 layers with enough channels take the Winograd path instead
// (cpu/conv_winograd.cpp). float16/bfloat16 run the float32 kernels on
// widened copies (cpu/widen.h).
#include "cpu/conv.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "cpu/blocked_sum.h"
#include "cpu/conv_winograd.h"
#include "cpu/gemm.h"
#include "cpu/widen.h"

namespace ember {
namespace cpu {
namespace {

int64_t col_rows(const Conv2dShape& s) {
  return s.in_channels / s.groups * s.kernel_h * s.kernel_w;
}

// The output columns [lo, hi) whose input column ow * stride - pad + offset
// lies inside [0, in_w): outside them the column reads padding.
struct ValidRange {
  int64_t lo, hi;
};

ValidRange valid_columns(int64_t out_w, int64_t in_w, int64_t stride, int64_t shift) {
  // shift = kw * dilation - pad; ow is valid when 0 <= ow * stride + shift < in_w.
  const int64_t lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  const int64_t last = in_w - 1 - shift;
  const int64_t hi = last < 0 ? 0 : std::min(out_w, last / stride + 1);
  return {std::min(lo, out_w), std::max(hi, std::min(lo, out_w))};
}

// col (channels*KH*KW, (oh1-oh0)*OW) from one image's `channels` planes, for
// output rows [oh0, oh1). Each output row is a zero head, a copy of the valid
// input span (contiguous when the stride is 1) and a zero tail, so the inner
// loops carry no bounds checks.
template <typename T>
void im2col(const Conv2dShape& s, int64_t channels, const T* image, int64_t oh0, int64_t oh1,
            T* col) {
  const int64_t pixels = (oh1 - oh0) * s.out_w;
  const int64_t rows = channels * s.kernel_h * s.kernel_w;
  parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(pixels, 1)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t kw = r % s.kernel_w, kh = (r / s.kernel_w) % s.kernel_h;
      const int64_t c = r / (s.kernel_w * s.kernel_h);
      const T* plane = image + c * s.in_h * s.in_w;
      T* dst = col + r * pixels;
      const int64_t shift = kw * s.dilation_w - s.pad_w;
      const ValidRange v = valid_columns(s.out_w, s.in_w, s.stride_w, shift);
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
        T* row = dst + (oh - oh0) * s.out_w;
        if (ih < 0 || ih >= s.in_h) {
          std::fill(row, row + s.out_w, T(0));
          continue;
        }
        std::fill(row, row + v.lo, T(0));
        if (v.lo < v.hi) {
          const T* src = plane + ih * s.in_w + v.lo * s.stride_w + shift;
          T* out = row + v.lo;
          const int64_t count = v.hi - v.lo;
          if (s.stride_w == 1) {
            std::copy(src, src + count, out);
          } else {
            for (int64_t j = 0; j < count; ++j) out[j] = src[j * s.stride_w];
          }
        }
        std::fill(row + v.hi, row + s.out_w, T(0));
      }
    }
  });
}

// Adds col's entries (output rows [oh0, oh1)) back into one image's planes:
// the adjoint of im2col. Parallel over channels: rows of different channels
// touch different planes.
template <typename T>
void col2im(const Conv2dShape& s, int64_t channels, const T* col, int64_t oh0, int64_t oh1,
            T* image) {
  const int64_t pixels = (oh1 - oh0) * s.out_w;
  const int64_t per_channel = s.kernel_h * s.kernel_w;
  parallel_for(0, channels,
               std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(pixels * per_channel, 1)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T* plane = image + c * s.in_h * s.in_w;
      for (int64_t k = 0; k < per_channel; ++k) {
        const int64_t kh = k / s.kernel_w, kw = k % s.kernel_w;
        const T* src = col + (c * per_channel + k) * pixels;
        const int64_t shift = kw * s.dilation_w - s.pad_w;
        const ValidRange v = valid_columns(s.out_w, s.in_w, s.stride_w, shift);
        if (v.lo >= v.hi) continue;
        const int64_t count = v.hi - v.lo;
        for (int64_t oh = oh0; oh < oh1; ++oh) {
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          T* dst = plane + ih * s.in_w + v.lo * s.stride_w + shift;
          const T* row = src + (oh - oh0) * s.out_w + v.lo;
          if (s.stride_w == 1) {
            for (int64_t j = 0; j < count; ++j) dst[j] += row[j];
          } else {
            for (int64_t j = 0; j < count; ++j) dst[j * s.stride_w] += row[j];
          }
        }
      }
    }
  });
}

// Output rows per column tile: the tile's column matrix stays near 256 KiB so
// that im2col's writes are still in L2 when the GEMM packs them, but it keeps
// at least 256 pixels (or the whole image) so the GEMM stays efficient.
template <typename T>
int64_t tile_rows(const Conv2dShape& s) {
  constexpr int64_t kTileBytes = 256 * 1024, kMinPixels = 256;
  const int64_t target = std::max<int64_t>(
      kMinPixels, kTileBytes / (col_rows(s) * static_cast<int64_t>(sizeof(T))));
  return std::min(s.out_h, std::max<int64_t>(1, (target + s.out_w - 1) / s.out_w));
}

// Runs f(n, oh0, oh1, col_buffer) over every image and tile of output rows:
// images in parallel when there are enough of them (each GEMM then serial),
// otherwise one by one with the parallelism inside im2col and the GEMM.
template <typename T, typename F>
void for_each_tile(const Conv2dShape& s, const F& f) {
  const int64_t step = tile_rows<T>(s);
  const int64_t col_size = col_rows(s) * step * s.out_w;
  const bool across = s.batch >= get_num_threads() && s.batch > 1;
  parallel_for(0, s.batch, across ? 1 : s.batch, [&](int64_t lo, int64_t hi) {
    std::vector<T> col(col_size);
    for (int64_t n = lo; n < hi; ++n)
      for (int64_t oh0 = 0; oh0 < s.out_h; oh0 += step)
        f(n, oh0, std::min(s.out_h, oh0 + step), col.data());
  });
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* input, const T* weight, const T* bias,
                    T* out) {
  if (winograd_applies(s)) return winograd_forward(s, input, weight, bias, out);
  const int64_t group_in = s.in_channels / s.groups, group_out = s.out_channels / s.groups;
  const int64_t pixels = s.out_h * s.out_w, rows = col_rows(s);
  for_each_tile<T>(s, [&](int64_t n, int64_t oh0, int64_t oh1, T* col) {
    const int64_t first = oh0 * s.out_w, count = (oh1 - oh0) * s.out_w;
    T* image_out = out + n * s.out_channels * pixels + first;
    if (bias) {
      for (int64_t oc = 0; oc < s.out_channels; ++oc)
        std::fill(image_out + oc * pixels, image_out + oc * pixels + count, bias[oc]);
    }
    for (int64_t g = 0; g < s.groups; ++g) {
      im2col(s, group_in, input + (n * s.in_channels + g * group_in) * s.in_h * s.in_w, oh0,
             oh1, col);
      gemm<T>(group_out, count, rows, T(1), {weight + g * group_out * rows, rows, 1},
              {col, count, 1}, bias ? T(1) : T(0),
              {image_out + g * group_out * pixels, pixels, 1});
    }
  });
}

template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* grad_out, const T* weight,
                           T* grad_input) {
  if (winograd_applies(s)) return winograd_backward_input(s, grad_out, weight, grad_input);
  const int64_t group_in = s.in_channels / s.groups, group_out = s.out_channels / s.groups;
  const int64_t pixels = s.out_h * s.out_w, rows = col_rows(s);
  const int64_t plane = s.in_h * s.in_w;
  for_each_tile<T>(s, [&](int64_t n, int64_t oh0, int64_t oh1, T* col) {
    const int64_t first = oh0 * s.out_w, count = (oh1 - oh0) * s.out_w;
    T* image = grad_input + n * s.in_channels * plane;
    if (oh0 == 0) std::fill(image, image + s.in_channels * plane, T(0));
    for (int64_t g = 0; g < s.groups; ++g) {
      // col = W_g^T (rows x group_out) * grad_out_g (group_out x count).
      gemm<T>(rows, count, group_out, T(1), {weight + g * group_out * rows, 1, rows},
              {grad_out + (n * s.out_channels + g * group_out) * pixels + first, pixels, 1},
              T(0), {col, count, 1});
      col2im(s, group_in, col, oh0, oh1, image + g * group_in * plane);
    }
  });
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* grad_out, const T* input,
                            T* grad_weight) {
  if (winograd_applies(s)) return winograd_backward_weight(s, grad_out, input, grad_weight);
  const int64_t group_in = s.in_channels / s.groups, group_out = s.out_channels / s.groups;
  const int64_t pixels = s.out_h * s.out_w, rows = col_rows(s);
  const int64_t weight_size = s.out_channels * rows;
  const int64_t step = tile_rows<T>(s);
  // Adds the gradient of images [begin, end) into `dst`.
  auto accumulate = [&](int64_t begin, int64_t end, T* dst) {
    std::vector<T> col(rows * step * s.out_w);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh0 = 0; oh0 < s.out_h; oh0 += step) {
        const int64_t oh1 = std::min(s.out_h, oh0 + step);
        const int64_t first = oh0 * s.out_w, count = (oh1 - oh0) * s.out_w;
        for (int64_t g = 0; g < s.groups; ++g) {
          im2col(s, group_in, input + (n * s.in_channels + g * group_in) * s.in_h * s.in_w,
                 oh0, oh1, col.data());
          // grad_W_g += grad_out_g (group_out x count) * col^T (count x rows).
          gemm<T>(group_out, rows, count, T(1),
                  {grad_out + (n * s.out_channels + g * group_out) * pixels + first, pixels, 1},
                  {col.data(), 1, count}, T(1), {dst + g * group_out * rows, rows, 1});
        }
      }
    }
  };
  std::fill(grad_weight, grad_weight + weight_size, T(0));
  const int64_t chunks = std::min<int64_t>(get_num_threads(), s.batch);
  if (chunks <= 1) {
    accumulate(0, s.batch, grad_weight);
    return;
  }
  // Each thread sums its own images into a private buffer; the buffers are
  // added in a fixed order, so the result does not depend on thread timing.
  std::vector<std::vector<T>> partial(chunks);
  parallel_for(0, chunks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      partial[c].assign(weight_size, T(0));
      accumulate(c * s.batch / chunks, (c + 1) * s.batch / chunks, partial[c].data());
    }
  });
  for (const std::vector<T>& part : partial)
    for (int64_t i = 0; i < weight_size; ++i) grad_weight[i] += part[i];
}

template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* grad_out, T* grad_bias) {
  const int64_t pixels = s.out_h * s.out_w;
  parallel_for(0, s.out_channels,
               std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(s.batch * pixels, 1)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t oc = lo; oc < hi; ++oc) {
      double total = 0;
      for (int64_t n = 0; n < s.batch; ++n)
        total += sum_contiguous<T, double>(grad_out + (n * s.out_channels + oc) * pixels, pixels);
      grad_bias[oc] = T(total);
    }
  });
}

#define EMBER_INSTANTIATE_CONV(T)                                                            \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);     \
  template void conv2d_backward_input<T>(const Conv2dShape&, const T*, const T*, T*);        \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*);       \
  template void conv2d_backward_bias<T>(const Conv2dShape&, const T*, T*);
EMBER_INSTANTIATE_CONV(float)
EMBER_INSTANTIATE_CONV(double)
#undef EMBER_INSTANTIATE_CONV

void conv2d_forward(const Conv2dShape& s, const Tensor& input, const Tensor& weight,
                    const Tensor& bias, const Tensor& out) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) {
      conv2d_forward(s, widen(input), widen(weight), widen(bias), wide);
    });
  }
  EMBER_DISPATCH_FLOAT(out.dtype(), "conv2d", [&] {
    conv2d_forward<scalar_t>(s, input.data<scalar_t>(), weight.data<scalar_t>(),
                             bias.defined() ? bias.data<scalar_t>() : nullptr,
                             out.data<scalar_t>());
  });
}

void conv2d_backward_input(const Conv2dShape& s, const Tensor& grad_out, const Tensor& weight,
                           const Tensor& grad_input) {
  if (is_half(grad_input.dtype())) {
    return into_widened(grad_input, [&](const Tensor& wide) {
      conv2d_backward_input(s, widen(grad_out), widen(weight), wide);
    });
  }
  EMBER_DISPATCH_FLOAT(grad_input.dtype(), "conv2d_backward", [&] {
    conv2d_backward_input<scalar_t>(s, grad_out.data<scalar_t>(), weight.data<scalar_t>(),
                                    grad_input.data<scalar_t>());
  });
}

void conv2d_backward_weight(const Conv2dShape& s, const Tensor& grad_out, const Tensor& input,
                            const Tensor& grad_weight) {
  if (is_half(grad_weight.dtype())) {
    return into_widened(grad_weight, [&](const Tensor& wide) {
      conv2d_backward_weight(s, widen(grad_out), widen(input), wide);
    });
  }
  EMBER_DISPATCH_FLOAT(grad_weight.dtype(), "conv2d_backward", [&] {
    conv2d_backward_weight<scalar_t>(s, grad_out.data<scalar_t>(), input.data<scalar_t>(),
                                     grad_weight.data<scalar_t>());
  });
}

void conv2d_backward_bias(const Conv2dShape& s, const Tensor& grad_out, const Tensor& grad_bias) {
  if (is_half(grad_bias.dtype())) {
    return into_widened(grad_bias, [&](const Tensor& wide) {
      conv2d_backward_bias(s, widen(grad_out), wide);
    });
  }
  EMBER_DISPATCH_FLOAT(grad_bias.dtype(), "conv2d_backward", [&] {
    conv2d_backward_bias<scalar_t>(s, grad_out.data<scalar_t>(), grad_bias.data<scalar_t>());
  });
}

}  // namespace cpu
}  // namespace ember
