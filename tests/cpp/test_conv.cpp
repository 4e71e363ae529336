// conv2d forward and backward kernels against direct nested-loop references
// at odd sizes, with stride, padding, dilation, groups and strided inputs.
#include "cpu/conv_winograd.h"
#include "ops/conv.h"
#include "testing.h"

namespace ember {
namespace {

struct Case {
  int64_t n, c, h, w, oc, kh, kw, stride, pad, dilation, groups;
};

// Calls f(c, ci, i, j, iy, ix) for each filter tap (ci, i, j) of output
// channel o at output (y, x) that reads the input inside the image: input
// channel c (ci within o's group) at (iy, ix).
template <typename F>
void for_each_tap(const Case& k, int64_t o, int64_t y, int64_t x, const F& f) {
  const int64_t group_in = k.c / k.groups, group = o / (k.oc / k.groups);
  for (int64_t ci = 0; ci < group_in; ++ci)
    for (int64_t i = 0; i < k.kh; ++i)
      for (int64_t j = 0; j < k.kw; ++j) {
        const int64_t iy = y * k.stride - k.pad + i * k.dilation;
        const int64_t ix = x * k.stride - k.pad + j * k.dilation;
        if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
        f(group * group_in + ci, ci, i, j, iy, ix);
      }
}

// out[n, o, y, x] = b[o] + sum over (c in o's group, i, j) of in * w.
std::vector<double> conv_reference(const Tensor& in, const Tensor& w, const Tensor& b,
                                   const Case& k, int64_t oh, int64_t ow) {
  std::vector<double> out;
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t o = 0; o < k.oc; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          double s = b.defined() ? testing::at<double>(b, {o}) : 0.0;
          for_each_tap(k, o, y, x, [&](int64_t c, int64_t ci, int64_t i, int64_t j, int64_t iy,
                                       int64_t ix) {
            s += testing::at<double>(in, {n, c, iy, ix}) * testing::at<double>(w, {o, ci, i, j});
          });
          out.push_back(s);
        }
  return out;
}

const Case kCases[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1},   {2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1},
    {3, 4, 11, 13, 6, 3, 2, 2, 1, 1, 2}, {1, 6, 9, 9, 6, 3, 3, 1, 2, 2, 6},
    {5, 2, 17, 7, 3, 5, 1, 3, 2, 1, 1},  {2, 3, 33, 31, 5, 2, 3, 2, 0, 3, 1},
    // Enough channels that the kernels split each image into several tiles of
    // output rows (the last one shorter), with and without stride and groups.
    {2, 16, 40, 37, 5, 5, 5, 1, 2, 1, 1}, {2, 32, 50, 21, 6, 3, 3, 2, 2, 2, 2},
    // Padding wider than the kernel reach: whole output rows and columns read zeros.
    {1, 3, 4, 5, 2, 2, 2, 3, 4, 1, 1},
};

TEST(Conv, ForwardMatchesReference) {
  for (const Case& k : kCases) {
    SCOPED_TRACE(::testing::Message() << "c=" << k.c << " h=" << k.h << " groups=" << k.groups);
    Tensor in = testing::random_tensor({k.n, k.c, k.h, k.w}, DType::float64);
    Tensor w = testing::random_tensor({k.oc, k.c / k.groups, k.kh, k.kw}, DType::float64);
    Tensor b = testing::random_tensor({k.oc}, DType::float64);
    Tensor out = conv2d(in, w, b, {k.stride}, {k.pad}, {k.dilation}, k.groups);
    std::vector<double> ref = conv_reference(in, w, b, k, out.size(2), out.size(3));
    testing::expect_close(out, ref, 1e-10, 1e-10);
    // The same values through a non-contiguous input, in float32, without bias.
    Tensor in_t = in.to(DType::float32).transpose(2, 3).contiguous().transpose(2, 3);
    Tensor out32 = conv2d(in_t, w.to(DType::float32), Tensor(), {k.stride}, {k.pad},
                          {k.dilation}, k.groups);
    testing::expect_close(out32, conv_reference(in, w, Tensor(), k, out.size(2), out.size(3)),
                          1e-4, 1e-4);
  }
}

struct ConvGrads {
  std::vector<double> input, weight, bias;
};

// Backward against the forward loop nest run in reverse: every product
// in * w that fed out[n, o, y, x] sends G[n, o, y, x] back to both factors.
ConvGrads backward_reference(const Tensor& in, const Tensor& w, const Tensor& g, const Case& k) {
  ConvGrads r{std::vector<double>(in.numel(), 0.0), std::vector<double>(w.numel(), 0.0),
              std::vector<double>(k.oc, 0.0)};
  const int64_t group_in = k.c / k.groups;
  testing::for_each_index(g.shape(), [&](const Shape& idx) {
    const int64_t n = idx[0], o = idx[1], y = idx[2], x = idx[3];
    const double go = testing::at<double>(g, idx);
    r.bias[o] += go;
    for_each_tap(k, o, y, x, [&](int64_t c, int64_t ci, int64_t i, int64_t j, int64_t iy,
                                 int64_t ix) {
      r.input[((n * k.c + c) * k.h + iy) * k.w + ix] += go * testing::at<double>(w, {o, ci, i, j});
      r.weight[((o * group_in + ci) * k.kh + i) * k.kw + j] +=
          go * testing::at<double>(in, {n, c, iy, ix});
    });
  });
  return r;
}

TEST(Conv, BackwardMatchesReference) {
  for (const Case& k : kCases) {
    SCOPED_TRACE(::testing::Message() << "c=" << k.c << " h=" << k.h << " groups=" << k.groups);
    Tensor in = testing::random_tensor({k.n, k.c, k.h, k.w}, DType::float64);
    Tensor w = testing::random_tensor({k.oc, k.c / k.groups, k.kh, k.kw}, DType::float64);
    Tensor out = conv2d(in, w, Tensor(), {k.stride}, {k.pad}, {k.dilation}, k.groups);
    Tensor g = testing::random_tensor(out.shape(), DType::float64).transpose(2, 3).contiguous()
                   .transpose(2, 3);
    std::vector<Tensor> grads = conv2d_backward(g, in, w, {k.stride}, {k.pad}, {k.dilation},
                                                k.groups, true, true, true);
    const ConvGrads ref = backward_reference(in, w, g, k);
    testing::expect_close(grads[0], ref.input, 1e-10, 1e-10);
    testing::expect_close(grads[1], ref.weight, 1e-10, 1e-10);
    testing::expect_close(grads[2], ref.bias, 1e-10, 1e-10);
    std::vector<Tensor> only_input = conv2d_backward(g, in, w, {k.stride}, {k.pad},
                                                     {k.dilation}, k.groups, true, false, false);
    EXPECT_FALSE(only_input[1].defined());
    testing::expect_close(only_input[0], ref.input, 1e-10, 1e-10);
  }
}

// 3x3 stride-1 layers with at least 16 channels each way take the Winograd
// path: odd sizes, padding 0 to 3 (3 makes the gradient's tiles start inside
// grad_out), rows of more than 16 tiles, and enough tile rows for several
// chunks, one spanning two images. float32 and float64, under every GEMM
// instruction set (the Winograd row kernels follow it).
TEST(Conv, WinogradMatchesReference) {
  const Case cases[] = {
      {2, 16, 9, 11, 17, 3, 3, 1, 1, 1, 1}, {3, 20, 7, 6, 16, 3, 3, 1, 0, 1, 1},
      {1, 16, 4, 3, 18, 3, 3, 1, 3, 1, 1}, {2, 17, 30, 37, 19, 3, 3, 1, 1, 1, 1},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(::testing::Message() << "c=" << k.c << " h=" << k.h << " w=" << k.w
                                      << " pad=" << k.pad);
    Tensor in = testing::random_tensor({k.n, k.c, k.h, k.w}, DType::float64);
    Tensor w = testing::random_tensor({k.oc, k.c, 3, 3}, DType::float64);
    Tensor b = testing::random_tensor({k.oc}, DType::float64);
    const int64_t oh = k.h + 2 * k.pad - 2, ow = k.w + 2 * k.pad - 2;
    ASSERT_TRUE(cpu::winograd_applies({k.n, k.c, k.h, k.w, k.oc, 3, 3, oh, ow, 1, 1, k.pad,
                                       k.pad, 1, 1, 1}));
    const std::vector<double> out_ref = conv_reference(in, w, b, k, oh, ow);
    Tensor g = testing::random_tensor({k.n, k.oc, oh, ow}, DType::float64);
    const ConvGrads ref = backward_reference(in, w, g, k);
    testing::for_each_gemm_isa([&] {
      for (DType dtype : {DType::float32, DType::float64}) {
        const double tol = dtype == DType::float32 ? 1e-4 : 1e-10;
        Tensor out = conv2d(in.to(dtype), w.to(dtype), b.to(dtype), {1}, {k.pad}, {1}, 1);
        testing::expect_close(out, out_ref, tol, tol);
        std::vector<Tensor> grads = conv2d_backward(g.to(dtype), in.to(dtype), w.to(dtype), {1},
                                                    {k.pad}, {1}, 1, true, true, true);
        testing::expect_close(grads[0], ref.input, tol, tol);
        testing::expect_close(grads[1], ref.weight, tol, tol);
        testing::expect_close(grads[2], ref.bias, tol, tol);
      }
    });
  }
}

TEST(Conv, AsymmetricPaddingAndUnbatched) {
  Tensor in = testing::random_tensor({2, 5, 6}, DType::float64);
  Tensor w = testing::random_tensor({3, 2, 2, 3}, DType::float64);
  Tensor out = conv2d(in, w, Tensor(), {1}, {0, 1, 1, 1}, {1}, 1);
  EXPECT_EQ(out.shape(), (Shape{3, 5, 6}));
  // Same as padding (1, 1) with the first output row dropped.
  Tensor full = conv2d(in, w, Tensor(), {1}, {1}, {1}, 1);
  testing::expect_close(out, testing::values(full.slice(1, 1, 6)), 1e-12, 1e-12);
}

TEST(Conv, BadInputs) {
  Tensor x = testing::random_tensor({1, 4, 5, 5});
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 3, 3, 3}), Tensor(), {1}, {0}, {1}, 1), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({3, 2, 3, 3}), Tensor(), {1}, {0}, {1}, 2), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 4, 7, 7}), Tensor(), {1}, {0}, {1}, 1), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 4, 3, 3}), Tensor(), {0}, {0}, {1}, 1), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 4, 3, 3}), Tensor(), {1}, {-1}, {1}, 1), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 4, 3, 3}, DType::float64), Tensor(), {1}, {0},
                      {1}, 1), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 4, 3}), Tensor(), {1}, {0}, {1}, 1), Error);
  EXPECT_THROW(conv2d(x, testing::random_tensor({2, 4, 3, 3}), testing::random_tensor({3}), {1},
                      {0}, {1}, 1), Error);
}

}  // namespace
}  // namespace ember
