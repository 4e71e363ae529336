// conv2d entry points: argument checks (PyTorch's rules), output sizes,
// contiguous operands, then the device's kernels.
#include "ops/conv.h"

#include "cpu/conv.h"
#include "cpu/conv_winograd.h"
#include "cuda/geometry.h"
#include "cuda/kernels.h"

namespace ember {
namespace {

// A 1- or 2-value (height, width) argument.
std::pair<int64_t, int64_t> pair_arg(const Shape& values, const char* name) {
  EMBER_CHECK(values.size() == 1 || values.size() == 2, "conv2d: ", name,
              " must have 1 or 2 values, got ", shape_str(values));
  return {values[0], values.back()};
}

struct Padding {
  int64_t top, left, bottom, right;
};

Padding padding_arg(const Shape& values) {
  if (values.size() == 4) {
    for (int64_t v : values)
      EMBER_CHECK(v >= 0, "conv2d: padding must be non-negative, got ", shape_str(values));
    return {values[0], values[1], values[2], values[3]};
  }
  auto [h, w] = pair_arg(values, "padding");
  EMBER_CHECK(h >= 0 && w >= 0, "conv2d: padding must be non-negative, got ", shape_str(values));
  return {h, w, h, w};
}

// Checks everything about a batched conv2d and returns its sizes.
cpu::Conv2dShape conv_shape(const Tensor& input, const Tensor& weight, const Shape& stride,
                            const Shape& padding, const Shape& dilation, int64_t groups) {
  EMBER_CHECK(input.device() == weight.device(), "conv2d: input and weight are on different "
              "devices: ", input.str(), " and ", weight.str());
  EMBER_CHECK_KIND(type, input.dtype() == weight.dtype(), "conv2d: input and weight must have "
                   "the same dtype, got ", input.str(), " and ", weight.str());
  EMBER_CHECK_KIND(type, is_floating(input.dtype()), "conv2d: unsupported dtype ",
                   dtype_name(input.dtype()), " (float32, float64, float16 and bfloat16 only)");
  EMBER_CHECK(input.dim() == 4, "conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, "
              "got shape ", shape_str(input.shape()));
  EMBER_CHECK(weight.dim() == 4, "conv2d: expected a 4-D weight (out_channels, in_channels / "
              "groups, kH, kW), got shape ", shape_str(weight.shape()));
  EMBER_CHECK(groups > 0, "conv2d: groups must be positive, got ", groups);
  auto [stride_h, stride_w] = pair_arg(stride, "stride");
  auto [dilation_h, dilation_w] = pair_arg(dilation, "dilation");
  EMBER_CHECK(stride_h > 0 && stride_w > 0, "conv2d: stride must be positive, got ",
              shape_str(stride));
  EMBER_CHECK(dilation_h > 0 && dilation_w > 0, "conv2d: dilation must be positive, got ",
              shape_str(dilation));
  Padding pad = padding_arg(padding);
  cpu::Conv2dShape s{};
  s.batch = input.size(0);
  s.in_channels = input.size(1);
  s.in_h = input.size(2);
  s.in_w = input.size(3);
  s.out_channels = weight.size(0);
  s.kernel_h = weight.size(2);
  s.kernel_w = weight.size(3);
  EMBER_CHECK(s.kernel_h > 0 && s.kernel_w > 0, "conv2d: kernel size must be positive, got "
              "weight shape ", shape_str(weight.shape()));
  EMBER_CHECK(s.out_channels % groups == 0, "conv2d: out_channels (", s.out_channels,
              ") must be divisible by groups (", groups, "), weight shape ",
              shape_str(weight.shape()));
  EMBER_CHECK(weight.size(1) * groups == s.in_channels, "conv2d: input has ", s.in_channels,
              " channels but weight ", shape_str(weight.shape()), " with groups=", groups,
              " expects ", weight.size(1) * groups, " (input shape ", shape_str(input.shape()),
              ")");
  const int64_t span_h = dilation_h * (s.kernel_h - 1) + 1;
  const int64_t span_w = dilation_w * (s.kernel_w - 1) + 1;
  const int64_t padded_h = s.in_h + pad.top + pad.bottom;
  const int64_t padded_w = s.in_w + pad.left + pad.right;
  EMBER_CHECK(padded_h >= span_h && padded_w >= span_w, "conv2d: kernel size (", span_h, ", ",
              span_w, ") with dilation is larger than the padded input (", padded_h, ", ",
              padded_w, "); input shape ", shape_str(input.shape()), ", weight shape ",
              shape_str(weight.shape()));
  s.out_h = (padded_h - span_h) / stride_h + 1;
  s.out_w = (padded_w - span_w) / stride_w + 1;
  s.stride_h = stride_h;
  s.stride_w = stride_w;
  s.pad_h = pad.top;
  s.pad_w = pad.left;
  s.dilation_h = dilation_h;
  s.dilation_w = dilation_w;
  s.groups = groups;
  return s;
}

}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Shape& stride,
              const Shape& padding, const Shape& dilation, int64_t groups) {
  if (input.dim() == 3)
    return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  cpu::Conv2dShape s = conv_shape(input, weight, stride, padding, dilation, groups);
  if (bias.defined()) {
    EMBER_CHECK(bias.device() == input.device(), "conv2d: bias is on a different device: ",
                bias.str(), " vs input ", input.str());
    EMBER_CHECK_KIND(type, bias.dtype() == input.dtype(), "conv2d: bias dtype must match the "
                     "input, got ", bias.str(), " and ", input.str());
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == s.out_channels, "conv2d: expected a bias of "
                "shape [", s.out_channels, "], got ", shape_str(bias.shape()));
  }
  Shape out_shape{s.batch, s.out_channels, s.out_h, s.out_w};
  checked_numel(out_shape, "conv2d");
  Tensor out = Tensor::empty(out_shape, input.dtype(), input.device());
  if (out.numel() == 0) return out;
  Tensor x = input.contiguous(), w = weight.contiguous();
  Tensor b = bias.defined() ? bias.contiguous() : bias;
  switch (input.device().type) {
    case DeviceType::cpu: cpu::conv2d_forward(s, x, w, b, out); break;
    case DeviceType::cuda: cuda::conv2d_forward(out, x, w, b, cuda::conv2d_geometry(s)); break;
    default: no_kernel("conv2d", input.device());
  }
  return out;
}

const char* conv2d_algorithm(const Tensor& input, const Tensor& weight, const Shape& stride,
                             const Shape& padding, const Shape& dilation, int64_t groups) {
  if (input.dim() == 3)
    return conv2d_algorithm(input.unsqueeze(0), weight, stride, padding, dilation, groups);
  const cpu::Conv2dShape s = conv_shape(input, weight, stride, padding, dilation, groups);
  switch (input.device().type) {
    case DeviceType::cpu: return cpu::winograd_applies(s) ? "winograd" : "im2col";
    case DeviceType::cuda: return "implicit_gemm";
    default: no_kernel("conv2d", input.device());
  }
}

std::vector<Tensor> conv2d_backward(const Tensor& grad_out, const Tensor& input,
                                    const Tensor& weight, const Shape& stride,
                                    const Shape& padding, const Shape& dilation, int64_t groups,
                                    bool need_input, bool need_weight, bool need_bias) {
  cpu::Conv2dShape s = conv_shape(input, weight, stride, padding, dilation, groups);
  Shape out_shape{s.batch, s.out_channels, s.out_h, s.out_w};
  EMBER_CHECK(grad_out.shape() == out_shape, "conv2d_backward: grad_output has shape ",
              shape_str(grad_out.shape()), ", expected ", shape_str(out_shape));
  EMBER_CHECK_KIND(type, grad_out.dtype() == input.dtype(), "conv2d_backward: grad_output dtype ",
                   dtype_name(grad_out.dtype()), " doesn't match the input's ",
                   dtype_name(input.dtype()));
  Tensor g = grad_out.contiguous(), x = input.contiguous(), w = weight.contiguous();
  std::vector<Tensor> grads(3);
  if (need_input) grads[0] = Tensor::zeros(input.shape(), input.dtype(), input.device());
  if (need_weight) grads[1] = Tensor::zeros(weight.shape(), weight.dtype(), weight.device());
  if (need_bias) grads[2] = Tensor::zeros({s.out_channels}, input.dtype(), input.device());
  if (g.numel() == 0) return grads;
  switch (input.device().type) {
    case DeviceType::cpu:
      if (need_input) cpu::conv2d_backward_input(s, g, w, grads[0]);
      if (need_weight) cpu::conv2d_backward_weight(s, g, x, grads[1]);
      if (need_bias) cpu::conv2d_backward_bias(s, g, grads[2]);
      break;
    case DeviceType::cuda: {
      const cuda::Conv2dGeometry geometry = cuda::conv2d_geometry(s);
      if (need_input) cuda::conv2d_backward_input(grads[0], g, w, geometry);
      if (need_weight) cuda::conv2d_backward_weight(grads[1], g, x, geometry);
      if (need_bias) cuda::conv2d_backward_bias(grads[2], g, geometry);
      break;
    }
    default: no_kernel("conv2d_backward", input.device());
  }
  return grads;
}

}  // namespace ember
