// The CUDA conv2d kernels run on the harness against the CPU kernels
// (cpu/conv.h): every gradient, with and without bias, float32 and float64,
// at small odd shapes that straddle the block tiles (128 GEMM rows, 64
// columns, reduction steps of 8), kernels 1x1 to 7x7 and 3x5, strides 1 to
// 3, padding 0 to 3 (and uneven), dilation 1 and 2, groups 1, 2 and
// depthwise, the grad-weight reduction whole and split, and shuffle mode.
// Outputs start as a sentinel and are compared element by element.
// float16/bfloat16: the CUDA kernels and the CPU path (float32 on widened
// operands) are both held to a float64 reference of the widened inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/random.h"
#include "cpu/conv.h"
#include "cuda/geometry.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

struct Case {
  int64_t batch, channels, h, w, out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dilation_h, dilation_w;
  int64_t groups;
};

cpu::Conv2dShape shape_of(const Case& c) {
  cpu::Conv2dShape s{};
  s.batch = c.batch;
  s.in_channels = c.channels;
  s.in_h = c.h;
  s.in_w = c.w;
  s.out_channels = c.out_channels;
  s.kernel_h = c.kernel_h;
  s.kernel_w = c.kernel_w;
  s.out_h = (c.h + c.pad_top + c.pad_bottom - c.dilation_h * (c.kernel_h - 1) - 1) / c.stride_h + 1;
  s.out_w =
      (c.w + c.pad_left + c.pad_right - c.dilation_w * (c.kernel_w - 1) - 1) / c.stride_w + 1;
  s.stride_h = c.stride_h;
  s.stride_w = c.stride_w;
  s.pad_h = c.pad_top;
  s.pad_w = c.pad_left;
  s.dilation_h = c.dilation_h;
  s.dilation_w = c.dilation_w;
  s.groups = c.groups;
  return s;
}

std::string describe(const Case& c, DType dtype) {
  return std::string(dtype_name(dtype)) + " N" + std::to_string(c.batch) + " C" +
         std::to_string(c.channels) + " " + std::to_string(c.h) + "x" + std::to_string(c.w) +
         " OC" + std::to_string(c.out_channels) + " k" + std::to_string(c.kernel_h) + "x" +
         std::to_string(c.kernel_w) + " s" + std::to_string(c.stride_h) + "," +
         std::to_string(c.stride_w) + " p" + std::to_string(c.pad_top) + "," +
         std::to_string(c.pad_left) + "," + std::to_string(c.pad_bottom) + "," +
         std::to_string(c.pad_right) + " d" + std::to_string(c.dilation_h) + "," +
         std::to_string(c.dilation_w) + " g" + std::to_string(c.groups);
}

// Entries of `got` farther from `expected` than the tolerance for sums of
// `terms` products of values in [-1, 1] (the first is reported in `first`).
int64_t mismatches(const Tensor& got, const Tensor& expected, int64_t terms, int64_t* first) {
  const double eps = got.dtype() == DType::float32 ? 2e-7 : 1e-15;
  const double tol = 4 * eps * double(std::max<int64_t>(terms, 1));
  int64_t count = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = value(got, i), e = value(expected, i);
    if (!(std::fabs(g - e) <= tol * std::max(1.0, std::fabs(e)))) {
      if (count++ == 0 && first) *first = i;
    }
  }
  return count;
}

void expect_close(const Tensor& got, const Tensor& expected, int64_t terms,
                  const std::string& what) {
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  int64_t first = -1;
  const int64_t bad = mismatches(got, expected, terms, &first);
  EXPECT_EQ(bad, 0) << what << ": first at " << first << " got " << value(got, first)
                    << " expected " << value(expected, first);
}

// Runs every kernel of one case in `dtype` and compares with the CPU.
void check_case(const Case& c, DType dtype, int weight_splits = 0) {
  const cpu::Conv2dShape s = shape_of(c);
  const cuda::Conv2dGeometry g = cuda::conv2d_geometry(s);
  const std::string what = describe(c, dtype);
  const Shape in_shape{c.batch, c.channels, c.h, c.w};
  const Shape w_shape{c.out_channels, c.channels / c.groups, c.kernel_h, c.kernel_w};
  const Shape out_shape{c.batch, c.out_channels, s.out_h, s.out_w};
  const Tensor x = random_tensor(in_shape, dtype, -1.0, 1.0),
               w = random_tensor(w_shape, dtype, -1.0, 1.0);
  const Tensor bias = random_tensor({c.out_channels}, dtype, -1.0, 1.0);
  const Tensor grad_out = random_tensor(out_shape, dtype, -1.0, 1.0);
  const int64_t taps = c.kernel_h * c.kernel_w;
  const int64_t pixels = s.out_h * s.out_w;

  EMBER_DISPATCH_FLOAT(dtype, "test", [&] {
    for (bool with_bias : {false, true}) {
      Tensor expected = Tensor::empty(out_shape, dtype), got = sentinel(out_shape, dtype);
      const scalar_t* b = with_bias ? bias.data<scalar_t>() : nullptr;
      cpu::conv2d_forward<scalar_t>(s, x.data<scalar_t>(), w.data<scalar_t>(), b,
                                    expected.data<scalar_t>());
      cuda::conv2d_forward_raw(dtype, got.raw_data(), x.raw_data(), w.raw_data(), b, g);
      expect_close(got, expected, c.channels / c.groups * taps + 1,
                   what + (with_bias ? " forward+bias" : " forward"));
    }
    {
      Tensor expected = Tensor::empty(in_shape, dtype), got = sentinel(in_shape, dtype);
      cpu::conv2d_backward_input<scalar_t>(s, grad_out.data<scalar_t>(), w.data<scalar_t>(),
                                           expected.data<scalar_t>());
      cuda::conv2d_backward_input_raw(dtype, got.raw_data(), grad_out.raw_data(), w.raw_data(),
                                      g);
      expect_close(got, expected, c.out_channels / c.groups * taps, what + " grad input");
    }
    for (int splits : {0, weight_splits}) {
      if (splits == 0 && weight_splits != 0) continue;
      Tensor expected = Tensor::empty(w_shape, dtype), got = sentinel(w_shape, dtype);
      cpu::conv2d_backward_weight<scalar_t>(s, grad_out.data<scalar_t>(), x.data<scalar_t>(),
                                            expected.data<scalar_t>());
      const int64_t workspace_size = cuda::conv2d_backward_weight_workspace(g, splits);
      std::vector<scalar_t> workspace(size_t(workspace_size), scalar_t(-3));
      cuda::conv2d_backward_weight_raw(dtype, got.raw_data(), grad_out.raw_data(),
                                       x.raw_data(), workspace_size ? workspace.data() : nullptr,
                                       g, splits);
      expect_close(got, expected, c.batch * pixels,
                   what + " grad weight, splits " + std::to_string(splits));
    }
    {
      Tensor expected = Tensor::empty({c.out_channels}, dtype);
      Tensor got = sentinel({c.out_channels}, dtype);
      cpu::conv2d_backward_bias<scalar_t>(s, grad_out.data<scalar_t>(),
                                          expected.data<scalar_t>());
      cuda::conv2d_backward_bias_raw(dtype, got.raw_data(), grad_out.raw_data(), g);
      expect_close(got, expected, c.batch * pixels, what + " grad bias");
    }
  });
}

void check_both(const Case& c, int weight_splits = 0) {
  for (DType dtype : {DType::float32, DType::float64}) check_case(c, dtype, weight_splits);
}

//                 N  C   H    W   OC KH KW sh sw pt pl pb pr dh dw  g
TEST(CudaEmuConv, KernelSizesStridesPadding) {
  check_both({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1});
  check_both({2, 3, 9, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  check_both({3, 5, 13, 13, 33, 3, 5, 2, 2, 1, 2, 1, 2, 1, 1, 1});
  check_both({2, 3, 13, 9, 7, 5, 5, 3, 3, 2, 2, 2, 2, 2, 2, 1});
  check_both({1, 3, 9, 13, 33, 7, 7, 1, 1, 3, 3, 3, 3, 1, 1, 1});
  check_both({2, 1, 5, 5, 1, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1});
}

TEST(CudaEmuConv, UnevenPaddingDilationMixedStrides) {
  check_both({2, 3, 9, 13, 7, 3, 3, 2, 1, 1, 0, 2, 3, 1, 2, 1});
  check_both({1, 5, 13, 5, 7, 3, 5, 3, 2, 0, 3, 2, 1, 2, 1, 1});
}

TEST(CudaEmuConv, GroupsAndDepthwise) {
  check_both({2, 6, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 2});
  check_both({3, 5, 13, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5});
  check_both({1, 5, 9, 9, 10, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 5});
}

// GEMM rows, columns and reduction steps at the tile sizes and one either side.
TEST(CudaEmuConv, TileEdges) {
  check_both({1, 7, 1, 127, 63, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1});
  check_both({1, 8, 1, 128, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1});
  check_both({1, 9, 1, 129, 65, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1});
  // Grad input's columns are the input channels; grad weight's rows are
  // channels x taps (65 x 2 = 130 > 128).
  check_both({1, 65, 3, 43, 9, 1, 2, 1, 1, 0, 0, 0, 1, 1, 1, 1});
}

TEST(CudaEmuConv, SplitWeightReduction) {
  // batch * pixels = 3 * 169 = 507 reduced in 2, 3 and 7 splits (the last
  // one short), and more splits than steps (clamped to non-empty ones).
  for (int splits : {2, 3, 7, 100})
    check_both({3, 5, 13, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, splits);
  check_both({2, 6, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 2}, 3);
}

TEST(CudaEmuConv, Shuffled) {
  cuda_emu::set_shuffle(true, 11);
  check_case({2, 3, 9, 9, 7, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1}, DType::float32, 2);
  check_case({2, 6, 5, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 2}, DType::float64);
  cuda_emu::set_shuffle(false);
}

// ---- float16 / bfloat16 ------------------------------------------------------

// A 16-bit result against the float64 one: one rounding to 16 bits (half an
// ulp, taken as a whole one) plus float accumulation over `terms` products of
// values in [-1, 1].
int64_t half_mismatches(const Tensor& got, const Tensor& expected, int64_t terms,
                        int64_t* first) {
  const double eps = got.dtype() == DType::float16 ? 0x1p-10 : 0x1p-7;
  const Tensor wide = got.to(DType::float64);
  int64_t count = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = value(wide, i), e = value(expected, i);
    const double tol = eps * std::fabs(e) + 4 * 0x1p-24 * double(std::max<int64_t>(terms, 1));
    if (!(std::fabs(g - e) <= tol) && count++ == 0 && first) *first = i;
  }
  return count;
}

void expect_half_close(const Tensor& got, const Tensor& expected, int64_t terms,
                       const std::string& what) {
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  int64_t first = -1;
  const int64_t bad = half_mismatches(got, expected, terms, &first);
  EXPECT_EQ(bad, 0) << what << ": first at " << first << " got "
                    << value(got.to(DType::float64), first) << " expected "
                    << value(expected, first);
}

// Every kernel of one case in a 16-bit `dtype`: the CUDA kernel and the CPU
// path, each against float64 on the same (exactly widened) inputs.
void check_half_case(const Case& c, DType dtype, int weight_splits = 0) {
  const cpu::Conv2dShape s = shape_of(c);
  const cuda::Conv2dGeometry g = cuda::conv2d_geometry(s);
  const std::string what = describe(c, dtype);
  const Shape in_shape{c.batch, c.channels, c.h, c.w};
  const Shape w_shape{c.out_channels, c.channels / c.groups, c.kernel_h, c.kernel_w};
  const Shape out_shape{c.batch, c.out_channels, s.out_h, s.out_w};
  const Tensor x = random_from_f64(in_shape, dtype, -1.0, 1.0),
               w = random_from_f64(w_shape, dtype, -1.0, 1.0);
  const Tensor bias = random_from_f64({c.out_channels}, dtype, -1.0, 1.0);
  const Tensor grad_out = random_from_f64(out_shape, dtype, -1.0, 1.0);
  const Tensor x64 = x.to(DType::float64), w64 = w.to(DType::float64);
  const Tensor bias64 = bias.to(DType::float64), grad_out64 = grad_out.to(DType::float64);
  const int64_t taps = c.kernel_h * c.kernel_w;
  const int64_t pixels = s.out_h * s.out_w;

  for (bool with_bias : {false, true}) {
    Tensor expected = Tensor::empty(out_shape, DType::float64);
    Tensor got = sentinel(out_shape, dtype), cpu_got = sentinel(out_shape, dtype);
    cpu::conv2d_forward(s, x64, w64, with_bias ? bias64 : Tensor(), expected);
    cpu::conv2d_forward(s, x, w, with_bias ? bias : Tensor(), cpu_got);
    cuda::conv2d_forward_raw(dtype, got.raw_data(), x.raw_data(), w.raw_data(),
                             with_bias ? bias.raw_data() : nullptr, g);
    const int64_t terms = c.channels / c.groups * taps + 1;
    const std::string label = what + (with_bias ? " forward+bias" : " forward");
    expect_half_close(got, expected, terms, label);
    expect_half_close(cpu_got, expected, terms, label + " (CPU)");
  }
  {
    Tensor expected = Tensor::empty(in_shape, DType::float64);
    Tensor got = sentinel(in_shape, dtype), cpu_got = sentinel(in_shape, dtype);
    cpu::conv2d_backward_input(s, grad_out64, w64, expected);
    cpu::conv2d_backward_input(s, grad_out, w, cpu_got);
    cuda::conv2d_backward_input_raw(dtype, got.raw_data(), grad_out.raw_data(), w.raw_data(), g);
    const int64_t terms = c.out_channels / c.groups * taps;
    expect_half_close(got, expected, terms, what + " grad input");
    expect_half_close(cpu_got, expected, terms, what + " grad input (CPU)");
  }
  {
    Tensor expected = Tensor::empty(w_shape, DType::float64);
    Tensor got = sentinel(w_shape, dtype), cpu_got = sentinel(w_shape, dtype);
    cpu::conv2d_backward_weight(s, grad_out64, x64, expected);
    cpu::conv2d_backward_weight(s, grad_out, x, cpu_got);
    // The partial sums are float: a 16-bit workspace would round each split.
    const int64_t workspace_size = cuda::conv2d_backward_weight_workspace(g, weight_splits);
    std::vector<float> workspace(size_t(workspace_size), -3.0f);
    cuda::conv2d_backward_weight_raw(dtype, got.raw_data(), grad_out.raw_data(), x.raw_data(),
                                     workspace_size ? workspace.data() : nullptr, g,
                                     weight_splits);
    const std::string label = what + " grad weight, splits " + std::to_string(weight_splits);
    expect_half_close(got, expected, c.batch * pixels, label);
    expect_half_close(cpu_got, expected, c.batch * pixels, label + " (CPU)");
  }
  {
    Tensor expected = Tensor::empty({c.out_channels}, DType::float64);
    Tensor got = sentinel({c.out_channels}, dtype), cpu_got = sentinel({c.out_channels}, dtype);
    cpu::conv2d_backward_bias(s, grad_out64, expected);
    cpu::conv2d_backward_bias(s, grad_out, cpu_got);
    cuda::conv2d_backward_bias_raw(dtype, got.raw_data(), grad_out.raw_data(), g);
    expect_half_close(got, expected, c.batch * pixels, what + " grad bias");
    expect_half_close(cpu_got, expected, c.batch * pixels, what + " grad bias (CPU)");
  }
}

void check_halves(const Case& c, int weight_splits = 0) {
  for (DType dtype : {DType::float16, DType::bfloat16}) check_half_case(c, dtype, weight_splits);
}

//                 N  C   H    W   OC KH KW sh sw pt pl pb pr dh dw  g
TEST(CudaEmuConvHalf, KernelSizesStridesPadding) {
  check_halves({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1});
  check_halves({2, 3, 9, 9, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  check_halves({3, 5, 13, 13, 33, 3, 5, 2, 2, 1, 2, 1, 2, 1, 1, 1});
  check_halves({2, 3, 9, 13, 7, 3, 3, 2, 1, 1, 0, 2, 3, 1, 2, 1});
}

TEST(CudaEmuConvHalf, GroupsAndDepthwise) {
  check_halves({2, 6, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 2, 2, 2});
  check_halves({3, 5, 13, 13, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5});
}

// 31, 33 and 129 GEMM rows/columns either side of the 128 x 64 tile.
TEST(CudaEmuConvHalf, TileEdges) {
  check_halves({1, 33, 1, 129, 31, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1});
  check_halves({1, 65, 3, 43, 9, 1, 2, 1, 1, 0, 0, 0, 1, 1, 1, 1});
}

// The split grad-weight reduction: float partials summed in order, rounded once.
TEST(CudaEmuConvHalf, SplitWeightReduction) {
  for (int splits : {3, 100})
    check_halves({3, 5, 13, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, splits);
}

TEST(CudaEmuConvHalf, Shuffled) {
  cuda_emu::set_shuffle(true, 13);
  check_half_case({2, 3, 9, 9, 7, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1}, DType::float16, 2);
  check_half_case({2, 6, 5, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1, 2}, DType::bfloat16);
  cuda_emu::set_shuffle(false);
}

// A result two ulps off (40 lies in [32, 64), where an ulp is 32 eps) is caught.
TEST(CudaEmuConvHalf, ComparisonCatchesOneWrongElement) {
  for (DType dtype : {DType::float16, DType::bfloat16}) {
    const double eps = dtype == DType::float16 ? 0x1p-10 : 0x1p-7;
    const Tensor expected = Tensor::full({5}, Scalar(40.0), DType::float64);
    Tensor got = Tensor::full({5}, Scalar(40.0), dtype);
    Tensor(got.slice(0, 3, 4)).copy_(Tensor::full({1}, Scalar(40.0 + 2 * 32 * eps), dtype));
    int64_t first = -1;
    EXPECT_EQ(half_mismatches(got, expected, 4, &first), 1) << dtype_name(dtype);
    EXPECT_EQ(first, 3);
  }
}

TEST(CudaEmuConv, ComparisonCatchesOneWrongElement) {
  const Tensor expected = random_tensor({3, 5, 7}, DType::float32, -1.0, 1.0);
  for (int64_t i : {int64_t(0), int64_t(52), int64_t(104)}) {
    Tensor got = expected.clone();
    static_cast<float*>(got.raw_data())[i] += 1e-3f;
    int64_t first = -1;
    EXPECT_EQ(mismatches(got, expected, 16, &first), 1);
    EXPECT_EQ(first, i);
  }
}

TEST(CudaEmuConv, RejectsOtherDtypes) {
  const cuda::Conv2dGeometry g =
      cuda::conv2d_geometry(shape_of({1, 1, 3, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1}));
  int32_t buffer[9] = {};
  try {
    cuda::conv2d_forward_raw(DType::int32, buffer, buffer, buffer, nullptr, g);
    FAIL() << "int32 conv2d did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::type);
    EXPECT_NE(std::string(e.what()).find("conv2d"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ember
