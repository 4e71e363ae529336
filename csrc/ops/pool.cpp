// Pooling entry points: argument checks and PyTorch's output-size rules, then
// the device's kernels on contiguous (planes, H, W) data.
#include "ops/pool.h"

#include <algorithm>

#include "cpu/pool.h"
#include "cuda/geometry.h"
#include "cuda/kernels.h"

namespace ember {
namespace {

std::pair<int64_t, int64_t> pair_arg(const char* op, const Shape& values, const char* name) {
  EMBER_CHECK(values.size() == 1 || values.size() == 2, op, ": ", name,
              " must have 1 or 2 values, got ", shape_str(values));
  return {values[0], values.back()};
}

void check_input(const char* op, const Tensor& input) {
  EMBER_CHECK_KIND(type, is_floating(input.dtype()), op, ": unsupported dtype ",
                   dtype_name(input.dtype()), " (only float32 and float64)");
  EMBER_CHECK(input.dim() == 3 || input.dim() == 4, op, ": expected a 3-D (C, H, W) or 4-D "
              "(N, C, H, W) input, got shape ", shape_str(input.shape()));
  EMBER_CHECK(input.size(-1) > 0 && input.size(-2) > 0, op, ": input has an empty spatial "
              "size: ", shape_str(input.shape()));
}

// PyTorch's pooling_output_shape: with ceil_mode, a last window that would
// start inside the right padding is dropped.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                    bool ceil_mode) {
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t numerator = in + 2 * pad - span + (ceil_mode ? stride - 1 : 0);
  int64_t out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// Checks a windowed pooling and returns its sizes (planes = all leading dims).
cpu::Pool2dShape window_shape(const char* op, const Shape& input_shape, const Shape& kernel_size,
                              const Shape& stride, const Shape& padding, const Shape& dilation,
                              bool ceil_mode) {
  auto [kh, kw] = pair_arg(op, kernel_size, "kernel_size");
  auto [sh, sw] = stride.empty() ? std::make_pair(kh, kw) : pair_arg(op, stride, "stride");
  auto [ph, pw] = pair_arg(op, padding, "padding");
  auto [dh, dw] = pair_arg(op, dilation, "dilation");
  EMBER_CHECK(kh > 0 && kw > 0, op, ": kernel_size must be positive, got ",
              shape_str(kernel_size));
  EMBER_CHECK(sh > 0 && sw > 0, op, ": stride must be positive, got ", shape_str(stride));
  EMBER_CHECK(dh > 0 && dw > 0, op, ": dilation must be positive, got ", shape_str(dilation));
  EMBER_CHECK(ph >= 0 && pw >= 0, op, ": padding must be non-negative, got ",
              shape_str(padding));
  EMBER_CHECK(ph <= (dh * (kh - 1) + 1) / 2 && pw <= (dw * (kw - 1) + 1) / 2, op,
              ": padding ", shape_str(padding), " should be at most half of the kernel size ",
              shape_str(kernel_size));
  cpu::Pool2dShape s{};
  s.in_h = input_shape[input_shape.size() - 2];
  s.in_w = input_shape.back();
  s.planes = 1;
  for (size_t d = 0; d + 2 < input_shape.size(); ++d) s.planes *= input_shape[d];
  s.out_h = pooled_size(s.in_h, kh, sh, ph, dh, ceil_mode);
  s.out_w = pooled_size(s.in_w, kw, sw, pw, dw, ceil_mode);
  EMBER_CHECK(s.out_h > 0 && s.out_w > 0, op, ": kernel_size ", shape_str(kernel_size),
              " is larger than the padded input ", shape_str(input_shape), " (output would be ",
              s.out_h, "x", s.out_w, ")");
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = sh;
  s.stride_w = sw;
  s.pad_h = ph;
  s.pad_w = pw;
  s.dilation_h = dh;
  s.dilation_w = dw;
  return s;
}

Shape pooled_shape(const Shape& input_shape, int64_t out_h, int64_t out_w) {
  Shape shape(input_shape.begin(), input_shape.end() - 2);
  shape.push_back(out_h);
  shape.push_back(out_w);
  return shape;
}

void check_grad(const char* op, const Tensor& grad_out, const Shape& input_shape,
                const Shape& expected) {
  EMBER_CHECK(input_shape.size() == 3 || input_shape.size() == 4, op,
              ": expected a 3-D or 4-D input shape, got ", shape_str(input_shape));
  EMBER_CHECK(grad_out.shape() == expected, op, ": grad_output has shape ",
              shape_str(grad_out.shape()), ", expected ", shape_str(expected));
  EMBER_CHECK_KIND(type, is_floating(grad_out.dtype()), op, ": unsupported dtype ",
                   dtype_name(grad_out.dtype()));
}

}  // namespace

std::vector<Tensor> max_pool2d(const Tensor& input, const Shape& kernel_size, const Shape& stride,
                               const Shape& padding, const Shape& dilation, bool ceil_mode,
                               bool return_indices) {
  check_input("max_pool2d", input);
  cpu::Pool2dShape s = window_shape("max_pool2d", input.shape(), kernel_size, stride, padding,
                                    dilation, ceil_mode);
  Shape shape = pooled_shape(input.shape(), s.out_h, s.out_w);
  Tensor out = Tensor::empty(shape, input.dtype(), input.device());
  const bool is_cpu = input.device().type == DeviceType::cpu;
  // The CPU kernel skips the indices when they are not wanted (a quarter of the
  // traffic of a 2x2 pool is spared); the CUDA kernel always writes them.
  Tensor indices = return_indices || !is_cpu ? Tensor::empty(shape, DType::int64, input.device())
                                             : Tensor();
  auto result = [&] {
    return return_indices ? std::vector<Tensor>{out, indices} : std::vector<Tensor>{out};
  };
  if (out.numel() == 0) return result();
  Tensor x = input.contiguous();
  switch (input.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(input.dtype(), "max_pool2d", [&] {
        cpu::max_pool2d_forward<scalar_t>(s, x.data<scalar_t>(), out.data<scalar_t>(),
                                          return_indices ? indices.data<int64_t>() : nullptr);
      });
      break;
    case DeviceType::cuda:
      cuda::max_pool2d_raw(input.dtype(), out.raw_data(), indices.data<int64_t>(), x.raw_data(),
                           cuda::pool2d_geometry(s));
      break;
    default: no_kernel("max_pool2d", input.device());
  }
  return result();
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices,
                           const Shape& input_shape) {
  const char* op = "max_pool2d_backward";
  check_grad(op, grad_out, input_shape, indices.shape());
  EMBER_CHECK_KIND(type, indices.dtype() == DType::int64, op, ": indices must be int64, got ",
                   indices.str());
  cpu::Pool2dShape s{};
  s.in_h = input_shape[input_shape.size() - 2];
  s.in_w = input_shape.back();
  s.out_h = grad_out.size(-2);
  s.out_w = grad_out.size(-1);
  s.planes = grad_out.numel() == 0 ? 0 : grad_out.numel() / (s.out_h * s.out_w);
  EMBER_CHECK(grad_out.dim() == int64_t(input_shape.size()) &&
                  std::equal(input_shape.begin(), input_shape.end() - 2,
                             grad_out.shape().begin()),
              op, ": grad_output ", shape_str(grad_out.shape()),
              " does not match the leading dims of the input shape ", shape_str(input_shape));
  // The CPU kernel writes every element of grad_in (zeros first, plane by
  // plane while the plane is in cache); the CUDA kernel only adds to it.
  const bool is_cpu = grad_out.device().type == DeviceType::cpu;
  Tensor grad_in = is_cpu && grad_out.numel() > 0
                       ? Tensor::empty(input_shape, grad_out.dtype(), grad_out.device())
                       : Tensor::zeros(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0 || grad_out.numel() == 0) return grad_in;
  Tensor g = grad_out.contiguous(), idx = indices.contiguous();
  switch (grad_out.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(grad_out.dtype(), op, [&] {
        cpu::max_pool2d_backward<scalar_t>(s, g.data<scalar_t>(), idx.data<int64_t>(),
                                           grad_in.data<scalar_t>());
      });
      break;
    case DeviceType::cuda:
      cuda::max_pool2d_backward_raw(grad_out.dtype(), grad_in.raw_data(), g.raw_data(),
                                    idx.data<int64_t>(), cuda::pool2d_geometry(s));
      break;
    default: no_kernel(op, grad_out.device());
  }
  return grad_in;
}

Tensor avg_pool2d(const Tensor& input, const Shape& kernel_size, const Shape& stride,
                  const Shape& padding, bool ceil_mode, bool count_include_pad,
                  int64_t divisor_override) {
  check_input("avg_pool2d", input);
  EMBER_CHECK(divisor_override >= 0, "avg_pool2d: divisor_override must be positive, got ",
              divisor_override);
  cpu::Pool2dShape s = window_shape("avg_pool2d", input.shape(), kernel_size, stride, padding,
                                    {1}, ceil_mode);
  Tensor out = Tensor::empty(pooled_shape(input.shape(), s.out_h, s.out_w), input.dtype(),
                             input.device());
  if (out.numel() == 0) return out;
  Tensor x = input.contiguous();
  switch (input.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(input.dtype(), "avg_pool2d", [&] {
        cpu::avg_pool2d_forward<scalar_t>(s, count_include_pad, divisor_override,
                                          x.data<scalar_t>(), out.data<scalar_t>());
      });
      break;
    case DeviceType::cuda:
      cuda::avg_pool2d_raw(input.dtype(), out.raw_data(), x.raw_data(), cuda::pool2d_geometry(s),
                           count_include_pad, divisor_override);
      break;
    default: no_kernel("avg_pool2d", input.device());
  }
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape,
                           const Shape& kernel_size, const Shape& stride, const Shape& padding,
                           bool ceil_mode, bool count_include_pad, int64_t divisor_override) {
  const char* op = "avg_pool2d_backward";
  EMBER_CHECK(input_shape.size() == 3 || input_shape.size() == 4, op,
              ": expected a 3-D or 4-D input shape, got ", shape_str(input_shape));
  EMBER_CHECK(divisor_override >= 0, op, ": divisor_override must be positive, got ",
              divisor_override);
  cpu::Pool2dShape s =
      window_shape(op, input_shape, kernel_size, stride, padding, {1}, ceil_mode);
  check_grad(op, grad_out, input_shape, pooled_shape(input_shape, s.out_h, s.out_w));
  Tensor grad_in = Tensor::zeros(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0) return grad_in;
  Tensor g = grad_out.contiguous();
  switch (grad_out.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(grad_out.dtype(), op, [&] {
        cpu::avg_pool2d_backward<scalar_t>(s, count_include_pad, divisor_override,
                                           g.data<scalar_t>(), grad_in.data<scalar_t>());
      });
      break;
    case DeviceType::cuda:
      cuda::avg_pool2d_backward_raw(grad_out.dtype(), grad_in.raw_data(), g.raw_data(),
                                    cuda::pool2d_geometry(s), count_include_pad, divisor_override);
      break;
    default: no_kernel(op, grad_out.device());
  }
  return grad_in;
}

namespace {

cpu::Pool2dShape adaptive_shape(const char* op, const Shape& input_shape,
                                const Shape& output_size) {
  auto [oh, ow] = pair_arg(op, output_size, "output_size");
  EMBER_CHECK(oh > 0 && ow > 0, op, ": output_size must be positive, got ",
              shape_str(output_size));
  cpu::Pool2dShape s{};
  s.in_h = input_shape[input_shape.size() - 2];
  s.in_w = input_shape.back();
  s.out_h = oh;
  s.out_w = ow;
  s.planes = 1;
  for (size_t d = 0; d + 2 < input_shape.size(); ++d) s.planes *= input_shape[d];
  return s;
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& input, const Shape& output_size) {
  check_input("adaptive_avg_pool2d", input);
  cpu::Pool2dShape s = adaptive_shape("adaptive_avg_pool2d", input.shape(), output_size);
  Tensor out = Tensor::empty(pooled_shape(input.shape(), s.out_h, s.out_w), input.dtype(),
                             input.device());
  if (out.numel() == 0) return out;
  Tensor x = input.contiguous();
  switch (input.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(input.dtype(), "adaptive_avg_pool2d", [&] {
        cpu::adaptive_avg_pool2d_forward<scalar_t>(s, x.data<scalar_t>(), out.data<scalar_t>());
      });
      break;
    case DeviceType::cuda:
      cuda::adaptive_avg_pool2d_raw(input.dtype(), out.raw_data(), x.raw_data(),
                                    cuda::pool2d_geometry(s));
      break;
    default: no_kernel("adaptive_avg_pool2d", input.device());
  }
  return out;
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape) {
  const char* op = "adaptive_avg_pool2d_backward";
  EMBER_CHECK(input_shape.size() == 3 || input_shape.size() == 4, op,
              ": expected a 3-D or 4-D input shape, got ", shape_str(input_shape));
  EMBER_CHECK(grad_out.dim() == int64_t(input_shape.size()), op, ": grad_output has shape ",
              shape_str(grad_out.shape()), " for input shape ", shape_str(input_shape));
  cpu::Pool2dShape s = adaptive_shape(op, input_shape, {grad_out.size(-2), grad_out.size(-1)});
  check_grad(op, grad_out, input_shape, pooled_shape(input_shape, s.out_h, s.out_w));
  Tensor grad_in = Tensor::zeros(input_shape, grad_out.dtype(), grad_out.device());
  if (grad_in.numel() == 0) return grad_in;
  Tensor g = grad_out.contiguous();
  switch (grad_out.device().type) {
    case DeviceType::cpu:
      EMBER_DISPATCH_FLOAT(grad_out.dtype(), op, [&] {
        cpu::adaptive_avg_pool2d_backward<scalar_t>(s, g.data<scalar_t>(),
                                                    grad_in.data<scalar_t>());
      });
      break;
    case DeviceType::cuda:
      cuda::adaptive_avg_pool2d_backward_raw(grad_out.dtype(), grad_in.raw_data(), g.raw_data(),
                                             cuda::pool2d_geometry(s));
      break;
    default: no_kernel(op, grad_out.device());
  }
  return grad_in;
}

}  // namespace ember
