// CPU conv2d: each (image, group) is one GEMM between the group's weights and
// the image's column matrix (im2col: one row per (channel, kh, kw), one column
// per output pixel). The backward passes reuse the same column layout.
#include "cpu/conv.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm.h"

namespace ember {
namespace cpu {
namespace {

int64_t col_rows(const Conv2dShape& s) {
  return s.in_channels / s.groups * s.kernel_h * s.kernel_w;
}

// col (channels*KH*KW, OH*OW) from one image's `channels` planes.
template <typename T>
void im2col(const Conv2dShape& s, int64_t channels, const T* image, T* col) {
  const int64_t pixels = s.out_h * s.out_w;
  const int64_t rows = channels * s.kernel_h * s.kernel_w;
  parallel_for(0, rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(pixels, 1)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t kw = r % s.kernel_w, kh = (r / s.kernel_w) % s.kernel_h;
      const int64_t c = r / (s.kernel_w * s.kernel_h);
      const T* plane = image + c * s.in_h * s.in_w;
      T* dst = col + r * pixels;
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
        T* row = dst + oh * s.out_w;
        if (ih < 0 || ih >= s.in_h) {
          std::fill(row, row + s.out_w, T(0));
          continue;
        }
        const T* src = plane + ih * s.in_w;
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dilation_w;
          row[ow] = (iw >= 0 && iw < s.in_w) ? src[iw] : T(0);
        }
      }
    }
  });
}

// Adds col's entries back into one image's planes (the adjoint of im2col).
// Parallel over channels: rows of different channels touch different planes.
template <typename T>
void col2im(const Conv2dShape& s, int64_t channels, const T* col, T* image) {
  const int64_t pixels = s.out_h * s.out_w;
  const int64_t per_channel = s.kernel_h * s.kernel_w;
  parallel_for(0, channels,
               std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(pixels * per_channel, 1)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T* plane = image + c * s.in_h * s.in_w;
      for (int64_t k = 0; k < per_channel; ++k) {
        const int64_t kh = k / s.kernel_w, kw = k % s.kernel_w;
        const T* src = col + (c * per_channel + k) * pixels;
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
          if (ih < 0 || ih >= s.in_h) continue;
          T* dst = plane + ih * s.in_w;
          const T* row = src + oh * s.out_w;
          for (int64_t ow = 0; ow < s.out_w; ++ow) {
            const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dilation_w;
            if (iw >= 0 && iw < s.in_w) dst[iw] += row[ow];
          }
        }
      }
    }
  });
}

// Runs f(n, col_buffer) for every image: images in parallel when there are
// enough of them (each GEMM then serial), otherwise one by one with the
// parallelism inside im2col and the GEMM.
template <typename T, typename F>
void for_each_image(const Conv2dShape& s, const F& f) {
  const int64_t col_size = col_rows(s) * s.out_h * s.out_w;
  const bool across = s.batch >= get_num_threads() && s.batch > 1;
  parallel_for(0, s.batch, across ? 1 : s.batch, [&](int64_t lo, int64_t hi) {
    std::vector<T> col(col_size);
    for (int64_t n = lo; n < hi; ++n) f(n, col.data());
  });
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* input, const T* weight, const T* bias,
                    T* out) {
  const int64_t group_in = s.in_channels / s.groups, group_out = s.out_channels / s.groups;
  const int64_t pixels = s.out_h * s.out_w, rows = col_rows(s);
  for_each_image<T>(s, [&](int64_t n, T* col) {
    T* image_out = out + n * s.out_channels * pixels;
    if (bias) {
      for (int64_t oc = 0; oc < s.out_channels; ++oc)
        std::fill(image_out + oc * pixels, image_out + (oc + 1) * pixels, bias[oc]);
    }
    for (int64_t g = 0; g < s.groups; ++g) {
      im2col(s, group_in, input + (n * s.in_channels + g * group_in) * s.in_h * s.in_w, col);
      gemm<T>(group_out, pixels, rows, T(1), {weight + g * group_out * rows, rows, 1},
              {col, pixels, 1}, bias ? T(1) : T(0),
              {image_out + g * group_out * pixels, pixels, 1});
    }
  });
}

template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* grad_out, const T* weight,
                           T* grad_input) {
  const int64_t group_in = s.in_channels / s.groups, group_out = s.out_channels / s.groups;
  const int64_t pixels = s.out_h * s.out_w, rows = col_rows(s);
  const int64_t plane = s.in_h * s.in_w;
  for_each_image<T>(s, [&](int64_t n, T* col) {
    T* image = grad_input + n * s.in_channels * plane;
    std::fill(image, image + s.in_channels * plane, T(0));
    for (int64_t g = 0; g < s.groups; ++g) {
      // col = W_g^T (rows x group_out) * grad_out_g (group_out x pixels).
      gemm<T>(rows, pixels, group_out, T(1), {weight + g * group_out * rows, 1, rows},
              {grad_out + (n * s.out_channels + g * group_out) * pixels, pixels, 1}, T(0),
              {col, pixels, 1});
      col2im(s, group_in, col, image + g * group_in * plane);
    }
  });
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* grad_out, const T* input,
                            T* grad_weight) {
  const int64_t group_in = s.in_channels / s.groups, group_out = s.out_channels / s.groups;
  const int64_t pixels = s.out_h * s.out_w, rows = col_rows(s);
  const int64_t weight_size = s.out_channels * rows;
  // Adds the gradient of images [begin, end) into `dst`.
  auto accumulate = [&](int64_t begin, int64_t end, T* dst) {
    std::vector<T> col(rows * pixels);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t g = 0; g < s.groups; ++g) {
        im2col(s, group_in, input + (n * s.in_channels + g * group_in) * s.in_h * s.in_w,
               col.data());
        // grad_W_g += grad_out_g (group_out x pixels) * col^T (pixels x rows).
        gemm<T>(group_out, rows, pixels, T(1),
                {grad_out + (n * s.out_channels + g * group_out) * pixels, pixels, 1},
                {col.data(), 1, pixels}, T(1), {dst + g * group_out * rows, rows, 1});
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
      // Per-image partial sums in double keep long reductions accurate.
      double total = 0;
      for (int64_t n = 0; n < s.batch; ++n) {
        const T* src = grad_out + (n * s.out_channels + oc) * pixels;
        double partial = 0;
        for (int64_t p = 0; p < pixels; ++p) partial += src[p];
        total += partial;
      }
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

}  // namespace cpu
}  // namespace ember
