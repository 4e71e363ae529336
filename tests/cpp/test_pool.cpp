// Pooling kernels (max, avg, adaptive avg; forward and backward) against
// direct window loops at odd sizes, with padding, dilation and ceil_mode.
#include <cmath>

#include "ops/pool.h"
#include "testing.h"

namespace ember {
namespace {

struct Window {
  int64_t k, s, p, d;
  bool ceil;
};

int64_t out_size(int64_t in, const Window& w) {
  double span = double(w.d * (w.k - 1) + 1);
  double raw = (double(in + 2 * w.p) - span) / double(w.s);
  int64_t out = int64_t(w.ceil ? std::ceil(raw) : std::floor(raw)) + 1;
  if (w.ceil && (out - 1) * w.s >= in + w.p) --out;
  return out;
}

const Window kWindows[] = {{1, 1, 0, 1, false}, {2, 2, 0, 1, false}, {3, 2, 1, 1, true},
                           {3, 1, 1, 2, false}, {2, 3, 1, 1, true},  {5, 2, 2, 1, false}};

TEST(Pool, MaxForwardBackwardMatchReference) {
  for (const Window& win : kWindows)
    for (int64_t size : {1, 7, 13}) {
      if (out_size(size, win) < 1) continue;
      SCOPED_TRACE(::testing::Message() << "k=" << win.k << " s=" << win.s << " size=" << size);
      Tensor x = testing::random_tensor({2, 3, size + 2, size}, DType::float64)
                     .transpose(2, 3).contiguous().transpose(2, 3).slice(2, 1, size + 1);
      std::vector<Tensor> res = max_pool2d(x, {win.k}, {win.s}, {win.p}, {win.d}, win.ceil);
      const int64_t oh = out_size(size, win), ow = out_size(size, win);
      ASSERT_EQ(res[0].shape(), (Shape{2, 3, oh, ow}));
      std::vector<double> expected, expected_grad(x.numel(), 0.0);
      std::vector<double> expected_idx;
      Tensor g = testing::random_tensor(res[0].shape(), DType::float64);
      testing::for_each_index(res[0].shape(), [&](const Shape& i) {
        double best = -INFINITY;
        int64_t arg = -1;
        for (int64_t a = 0; a < win.k; ++a)
          for (int64_t b = 0; b < win.k; ++b) {
            int64_t y = i[2] * win.s - win.p + a * win.d, z = i[3] * win.s - win.p + b * win.d;
            if (y < 0 || y >= size || z < 0 || z >= size) continue;
            double v = testing::at<double>(x, {i[0], i[1], y, z});
            if (arg < 0 || v > best) best = v, arg = y * size + z;
          }
        expected.push_back(best);
        expected_idx.push_back(double(arg));
        expected_grad[(i[0] * 3 + i[1]) * size * size + arg] += testing::at<double>(g, i);
      });
      testing::expect_close(res[0], expected, 0, 0);
      testing::expect_close(res[1], expected_idx, 0, 0);
      Tensor grad = max_pool2d_backward(g, res[1], x.shape());
      testing::expect_close(grad, expected_grad, 1e-12, 1e-12);
    }
}

TEST(Pool, MaxPropagatesNaN) {
  Tensor x = Tensor::zeros({1, 1, 2, 2});
  x.data<float>()[2] = NAN;
  std::vector<Tensor> res = max_pool2d(x, {2}, {}, {0}, {1}, false);
  EXPECT_TRUE(std::isnan(res[0].item().to<double>()));
  EXPECT_EQ(res[1].item().to<int64_t>(), 2);
}

// The row kernels (vectorised across output columns, with and without the
// argmax) against a scan-order window loop on float32: rectangular planes
// wide enough for full vectors plus odd tails, windows with padding, dilation
// and overlap, NaNs placed at window starts, middles and borders, ties and
// -inf.
TEST(Pool, MaxRowKernelsMatchScanOrderReference) {
  const Window windows[] = {{2, 2, 0, 1, false}, {2, 2, 1, 1, true}, {3, 1, 1, 1, false},
                            {3, 2, 0, 1, false}, {3, 2, 1, 2, false}, {2, 1, 0, 1, false},
                            {4, 3, 2, 1, true}};
  for (const Window& win : windows)
    for (int64_t h : {2, 5, 9})
      for (int64_t w : {2, 7, 33, 64, 67}) {
        const int64_t oh = out_size(h, win), ow = out_size(w, win);
        if (oh < 1 || ow < 1) continue;
        SCOPED_TRACE(::testing::Message() << "k=" << win.k << " s=" << win.s << " p=" << win.p
                                          << " d=" << win.d << " h=" << h << " w=" << w);
        Tensor x = testing::random_tensor({2, 3, h, w});
        float* data = x.data<float>();
        for (int64_t i = 5; i < x.numel(); i += 97) data[i] = NAN;
        data[x.numel() - 1] = NAN;
        // Ties (the first in scan order wins) and -inf, also whole windows of it.
        for (int64_t i = 11; i + 1 < x.numel(); i += 61) data[i + 1] = data[i];
        for (int64_t i = 3; i + 1 < x.numel(); i += 89) data[i] = data[i + 1] = -INFINITY;
        for (int64_t i = 0; i < std::min<int64_t>(2 * w, x.numel()); ++i) data[i] = -INFINITY;
        std::vector<double> expected, expected_idx;
        testing::for_each_index({2, 3, oh, ow}, [&](const Shape& i) {
          const float* plane = data + (i[0] * 3 + i[1]) * h * w;
          float best = -INFINITY;
          int64_t arg = -1;
          for (int64_t a = 0; a < win.k && !(arg >= 0 && std::isnan(best)); ++a)
            for (int64_t b = 0; b < win.k; ++b) {
              int64_t y = i[2] * win.s - win.p + a * win.d, z = i[3] * win.s - win.p + b * win.d;
              if (y < 0 || y >= h || z < 0 || z >= w) continue;
              float v = plane[y * w + z];
              if (arg < 0 || v > best || std::isnan(v)) best = v, arg = y * w + z;
              if (std::isnan(v)) break;
            }
          expected.push_back(best);
          expected_idx.push_back(double(arg));
        });
        std::vector<Tensor> with_idx = max_pool2d(x, {win.k}, {win.s}, {win.p}, {win.d}, win.ceil);
        std::vector<Tensor> values_only =
            max_pool2d(x, {win.k}, {win.s}, {win.p}, {win.d}, win.ceil, false);
        ASSERT_EQ(values_only.size(), 1u);
        testing::expect_close(with_idx[0], expected, 0, 0);
        testing::expect_close(with_idx[1], expected_idx, 0, 0);
        testing::expect_close(values_only[0], expected, 0, 0);
      }
}

TEST(Pool, AvgForwardBackwardMatchReference) {
  for (const Window& win : kWindows)
    for (bool include_pad : {true, false})
      for (int64_t divisor : {0, 3})
        for (int64_t size : {1, 7, 13}) {
          if (win.d != 1 || out_size(size, win) < 1) continue;
          SCOPED_TRACE(::testing::Message() << "k=" << win.k << " s=" << win.s << " p=" << win.p
                                            << " size=" << size << " pad=" << include_pad);
          Tensor x = testing::random_tensor({3, size, size + 1}, DType::float64)
                         .slice(2, 1, size + 1);
          Tensor out = avg_pool2d(x, {win.k}, {win.s}, {win.p}, win.ceil, include_pad, divisor);
          Tensor g = testing::random_tensor(out.shape(), DType::float64);
          std::vector<double> expected, expected_grad(x.numel(), 0.0);
          testing::for_each_index(out.shape(), [&](const Shape& i) {
            int64_t y0 = i[1] * win.s - win.p, z0 = i[2] * win.s - win.p;
            int64_t y1 = std::min(y0 + win.k, size + win.p);
            int64_t z1 = std::min(z0 + win.k, size + win.p);
            int64_t count = (y1 - y0) * (z1 - z0);
            y0 = std::max<int64_t>(y0, 0), z0 = std::max<int64_t>(z0, 0);
            y1 = std::min(y1, size), z1 = std::min(z1, size);
            if (!include_pad) count = (y1 - y0) * (z1 - z0);
            if (divisor) count = divisor;
            double s = 0;
            for (int64_t y = y0; y < y1; ++y)
              for (int64_t z = z0; z < z1; ++z) {
                s += testing::at<double>(x, {i[0], y, z});
                expected_grad[(i[0] * size + y) * size + z] += testing::at<double>(g, i) / count;
              }
            expected.push_back(s / count);
          });
          testing::expect_close(out, expected, 1e-12, 1e-12);
          Tensor grad = avg_pool2d_backward(g, x.shape(), {win.k}, {win.s}, {win.p}, win.ceil,
                                            include_pad, divisor);
          testing::expect_close(grad, expected_grad, 1e-12, 1e-12);
        }
}

TEST(Pool, AdaptiveAvgForwardBackwardMatchReference) {
  for (int64_t in : {1, 7, 10, 33})
    for (int64_t out_h : {1, 3, 7, 11}) {
      const int64_t out_w = out_h + 1;
      Tensor x = testing::random_tensor({2, 2, in, in + 2}, DType::float64);
      Tensor out = adaptive_avg_pool2d(x, {out_h, out_w});
      ASSERT_EQ(out.shape(), (Shape{2, 2, out_h, out_w}));
      Tensor g = testing::random_tensor(out.shape(), DType::float64);
      std::vector<double> expected, expected_grad(x.numel(), 0.0);
      const int64_t w_in = in + 2;
      testing::for_each_index(out.shape(), [&](const Shape& i) {
        int64_t y0 = i[2] * in / out_h, y1 = int64_t(std::ceil(double((i[2] + 1) * in) / out_h));
        int64_t z0 = i[3] * w_in / out_w,
                z1 = int64_t(std::ceil(double((i[3] + 1) * w_in) / out_w));
        double s = 0, count = double((y1 - y0) * (z1 - z0));
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t z = z0; z < z1; ++z) {
            s += testing::at<double>(x, {i[0], i[1], y, z});
            expected_grad[((i[0] * 2 + i[1]) * in + y) * w_in + z] +=
                testing::at<double>(g, i) / count;
          }
        expected.push_back(s / count);
      });
      testing::expect_close(out, expected, 1e-12, 1e-12);
      testing::expect_close(adaptive_avg_pool2d_backward(g, x.shape()), expected_grad, 1e-12,
                            1e-12);
    }
}

TEST(Pool, BadInputs) {
  Tensor x = testing::random_tensor({1, 2, 4, 4});
  EXPECT_THROW(max_pool2d(x, {5}, {}, {0}, {1}, false), Error);
  EXPECT_THROW(max_pool2d(x, {2}, {0}, {0}, {1}, false), Error);
  EXPECT_THROW(max_pool2d(x, {2}, {}, {2}, {1}, false), Error);
  EXPECT_THROW(max_pool2d(testing::random_tensor({4, 4}), {2}, {}, {0}, {1}, false), Error);
  EXPECT_THROW(max_pool2d(Tensor::zeros({1, 1, 4, 4}, DType::int64), {2}, {}, {0}, {1}, false),
               Error);
  std::vector<Tensor> pooled = max_pool2d(x, {2}, {}, {0}, {1}, false);
  EXPECT_THROW(max_pool2d_backward(pooled[0], pooled[1], {2, 2, 4, 4}), Error);
  EXPECT_THROW(max_pool2d_backward(pooled[0], pooled[1], {2, 4, 4}), Error);
  EXPECT_THROW(avg_pool2d(x, {2}, {-1}, {0}, false, true, 0), Error);
  EXPECT_THROW(avg_pool2d(x, {0}, {}, {0}, false, true, 0), Error);
  EXPECT_THROW(adaptive_avg_pool2d(x, {0, 2}), Error);
  EXPECT_THROW(adaptive_avg_pool2d(testing::random_tensor({2, 0, 3}), {1}), Error);
}

}  // namespace
}  // namespace ember
