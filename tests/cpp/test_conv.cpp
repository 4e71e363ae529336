// conv2d forward and backward kernels against direct nested-loop references
// at odd sizes, with stride, padding, dilation, groups and strided inputs.
#include "ops/conv.h"
#include "testing.h"

namespace ember {
namespace {

struct Case {
  int64_t n, c, h, w, oc, kh, kw, stride, pad, dilation, groups;
};

// out[n, o, y, x] = b[o] + sum over (c in o's group, i, j) of in * w.
std::vector<double> conv_reference(const Tensor& in, const Tensor& w, const Tensor& b,
                                   const Case& k, int64_t oh, int64_t ow) {
  std::vector<double> out;
  const int64_t group_in = k.c / k.groups, group_out = k.oc / k.groups;
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t o = 0; o < k.oc; ++o)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          double s = b.defined() ? testing::at<double>(b, {o}) : 0.0;
          const int64_t g = o / group_out;
          for (int64_t ci = 0; ci < group_in; ++ci)
            for (int64_t i = 0; i < k.kh; ++i)
              for (int64_t j = 0; j < k.kw; ++j) {
                int64_t iy = y * k.stride - k.pad + i * k.dilation;
                int64_t ix = x * k.stride - k.pad + j * k.dilation;
                if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
                s += testing::at<double>(in, {n, g * group_in + ci, iy, ix}) *
                     testing::at<double>(w, {o, ci, i, j});
              }
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

// Backward against the forward loop nest run in reverse: every product
// in * w that fed out[n, o, y, x] sends G[n, o, y, x] back to both factors.
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
    std::vector<double> grad_in(in.numel(), 0.0), grad_w(w.numel(), 0.0), grad_b(k.oc, 0.0);
    const int64_t group_in = k.c / k.groups, group_out = k.oc / k.groups;
    testing::for_each_index(out.shape(), [&](const Shape& idx) {
      const int64_t n = idx[0], o = idx[1], y = idx[2], x = idx[3];
      const double go = testing::at<double>(g, idx);
      grad_b[o] += go;
      const int64_t gr = o / group_out;
      for (int64_t ci = 0; ci < group_in; ++ci)
        for (int64_t i = 0; i < k.kh; ++i)
          for (int64_t j = 0; j < k.kw; ++j) {
            int64_t iy = y * k.stride - k.pad + i * k.dilation;
            int64_t ix = x * k.stride - k.pad + j * k.dilation;
            if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
            const int64_t c = gr * group_in + ci;
            grad_in[((n * k.c + c) * k.h + iy) * k.w + ix] +=
                go * testing::at<double>(w, {o, ci, i, j});
            grad_w[((o * group_in + ci) * k.kh + i) * k.kw + j] +=
                go * testing::at<double>(in, {n, c, iy, ix});
          }
    });
    testing::expect_close(grads[0], grad_in, 1e-10, 1e-10);
    testing::expect_close(grads[1], grad_w, 1e-10, 1e-10);
    testing::expect_close(grads[2], grad_b, 1e-10, 1e-10);
    std::vector<Tensor> only_input = conv2d_backward(g, in, w, {k.stride}, {k.pad},
                                                     {k.dilation}, k.groups, true, false, false);
    EXPECT_FALSE(only_input[1].defined());
    testing::expect_close(only_input[0], grad_in, 1e-10, 1e-10);
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
