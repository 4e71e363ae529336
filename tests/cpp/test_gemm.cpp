// GEMM kernel and matrix-product ops against a naive triple loop: every
// transpose combination, sizes off the tile grid, alpha/beta, batching.
#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm.h"
#include "ops/gemm.h"
#include "testing.h"

namespace ember {
namespace {

// C = alpha * op(A) * op(B) + beta * C0 computed element by element in double.
template <typename T>
void check_gemm(int64_t M, int64_t N, int64_t K, bool trans_a, bool trans_b, double alpha,
                double beta, double rtol) {
  DType dtype = dtype_of<T>::value;
  Tensor a = testing::random_tensor(trans_a ? Shape{K, M} : Shape{M, K}, dtype);
  Tensor b = testing::random_tensor(trans_b ? Shape{N, K} : Shape{K, N}, dtype);
  Tensor a_view = trans_a ? a.t() : a;
  Tensor b_view = trans_b ? b.t() : b;
  Tensor c = testing::random_tensor({M, N}, dtype);
  // Reference in i-p-j order over contiguous copies, so large sizes stay quick.
  std::vector<double> av = testing::values(a_view.contiguous());
  std::vector<double> bv = testing::values(b_view.contiguous());
  std::vector<double> expected = testing::values(c);
  std::vector<double> row(N);
  for (int64_t i = 0; i < M; ++i) {
    std::fill(row.begin(), row.end(), 0.0);
    for (int64_t p = 0; p < K; ++p) {
      const double aip = av[i * K + p];
      for (int64_t j = 0; j < N; ++j) row[j] += aip * bv[p * N + j];
    }
    for (int64_t j = 0; j < N; ++j)
      expected[i * N + j] = alpha * row[j] + beta * expected[i * N + j];
  }
  cpu::gemm<T>(M, N, K, T(alpha), {a_view.data<T>(), a_view.stride(0), a_view.stride(1)},
               {b_view.data<T>(), b_view.stride(0), b_view.stride(1)}, T(beta),
               {c.data<T>(), c.stride(0), c.stride(1)});
  testing::expect_close(c, expected, rtol, rtol);
}

// check_gemm<T> for each M x N x K in `sizes` with every transpose of A and
// B, under every micro-kernel the CPU supports.
template <typename T>
void check_every_transpose(const std::vector<std::array<int64_t, 3>>& sizes, double alpha,
                           double beta, double rtol) {
  testing::for_each_gemm_isa([&] {
    for (const auto& s : sizes)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          SCOPED_TRACE(::testing::Message() << s[0] << "x" << s[1] << "x" << s[2] << " ta=" << ta
                                            << " tb=" << tb);
          check_gemm<T>(s[0], s[1], s[2], ta, tb, alpha, beta, rtol);
        }
  });
}

TEST(Gemm, AllTransposesOddSizesFloat) {
  check_every_transpose<float>({{1, 1, 1}, {7, 7, 7}, {33, 33, 33}, {129, 129, 129}}, 1.0, 0.0,
                               1e-4);
}

TEST(Gemm, AllTransposesRectangularDouble) {
  check_every_transpose<double>({{1, 1, 1},     {7, 33, 5},     {33, 7, 129},  {129, 31, 13},
                                 {17, 259, 3},  {211, 5, 401},  {97, 101, 389}, {1, 300, 777},
                                 {300, 1, 777}, {1, 1, 5003},   {2, 131, 1}},
                                1.0, 0.0, 1e-10);
}

TEST(Gemm, AlphaBeta) {
  check_gemm<float>(37, 41, 43, false, true, 0.5, 2.0, 1e-4);
  check_gemm<float>(1, 41, 43, true, true, 0.5, 2.0, 1e-4);
  check_gemm<float>(37, 1, 43, true, false, 0.5, -2.0, 1e-4);
  // Matrix-vector shapes large enough to run in parallel.
  check_gemm<double>(1, 2001, 300, false, true, 1.0, 0.5, 1e-10);
  check_gemm<double>(2001, 1, 300, true, false, 1.0, 0.5, 1e-10);
  check_gemm<double>(65, 19, 800, true, false, -1.5, 0.25, 1e-10);
  check_gemm<double>(5, 9, 11, false, false, 0.0, 3.0, 1e-12);
}

TEST(Gemm, LargeBlocksCrossEveryCacheBoundary) {
  testing::for_each_gemm_isa(
      [] { check_gemm<float>(300, 4200, 400, false, false, 1.0, 1.0, 2e-4); });
  check_gemm<double>(200, 2100, 390, true, false, 1.0, 0.0, 1e-10);
}

// N up to 16 with contiguous rows of A takes the dot-product path; with A
// transposed, the blocked path's one-vector (AVX-512) kernel with A read in
// place. Both with alpha/beta, every transpose, and row counts off the blocks.
TEST(Gemm, NarrowOutputs) {
  const std::vector<std::array<int64_t, 3>> sizes = {{64, 10, 784}, {128, 10, 256}, {37, 16, 33},
                                                     {5, 3, 100},   {129, 11, 97},  {7, 17, 64},
                                                     {3001, 7, 200}, {9, 2, 31}};
  check_every_transpose<float>(sizes, 1.0, 0.0, 1e-4);
  check_every_transpose<double>(sizes, 1.5, -0.5, 1e-10);
}

// Two threads splitting C by rows (sharing each packed block of B, several
// blocks along K and N) and by columns (each packing its own panels).
TEST(Gemm, TwoThreadSplits) {
  const int saved = get_num_threads();
  set_num_threads(2);
  testing::for_each_gemm_isa([] {
    check_gemm<float>(1203, 100, 800, false, false, 1.0, 0.0, 2e-4);
    check_gemm<float>(1600, 4200, 9, true, false, 1.0, 1.0, 2e-4);
    check_gemm<float>(70, 3001, 500, false, true, 0.5, 2.0, 2e-4);
    check_gemm<double>(1203, 60, 500, true, true, 1.0, 0.0, 1e-10);
    check_gemm<double>(401, 2100, 401, false, false, 1.0, 0.5, 1e-10);
  });
  set_num_threads(saved);
}

TEST(Gemm, BetaZeroIgnoresNaNInOutput) {
  Tensor a = Tensor::ones({3, 4}), b = Tensor::ones({4, 5});
  Tensor c = Tensor::full({3, 5}, Scalar(std::numeric_limits<double>::quiet_NaN()));
  cpu::gemm<float>(3, 5, 4, 1.0f, {a.data<float>(), 4, 1}, {b.data<float>(), 5, 1}, 0.0f,
                   {c.data<float>(), 5, 1});
  testing::expect_close(c, std::vector<double>(15, 4.0));
  cpu::gemm<float>(3, 5, 0, 1.0f, {a.data<float>(), 4, 1}, {b.data<float>(), 5, 1}, 0.0f,
                   {c.data<float>(), 5, 1});
  testing::expect_close(c, std::vector<double>(15, 0.0));
  // Whole tiles written by the micro-kernel itself (48 x 64), and the narrow
  // dot-product path (48 x 10), on every ISA.
  testing::for_each_gemm_isa([] {
    for (int64_t n : {64, 10}) {
      SCOPED_TRACE(::testing::Message() << "n=" << n);
      Tensor a = Tensor::ones({48, 40}), b = Tensor::ones({40, n});
      Tensor c = Tensor::full({48, n}, Scalar(std::numeric_limits<double>::quiet_NaN()));
      cpu::gemm<float>(48, n, 40, 0.5f, {a.data<float>(), 40, 1}, {b.data<float>(), n, 1}, 0.0f,
                       {c.data<float>(), n, 1});
      testing::expect_close(c, std::vector<double>(48 * n, 20.0));
    }
  });
}

TEST(Gemm, StridedOutputAndOperands) {
  // Every other row/column of larger buffers on all three operands.
  Tensor a = testing::random_tensor({26, 34}, DType::float64).slice(0, 0, 26, 2).slice(1, 0, 34, 2);
  Tensor b = testing::random_tensor({34, 22}, DType::float64).slice(0, 0, 34, 2).slice(1, 0, 22, 2);
  Tensor c_buf = Tensor::zeros({13, 22}, DType::float64);
  Tensor c = c_buf.slice(1, 0, 22, 2);
  cpu::gemm<double>(13, 11, 17, 1.0, {a.data<double>(), a.stride(0), a.stride(1)},
                    {b.data<double>(), b.stride(0), b.stride(1)}, 0.0,
                    {c.data<double>(), c.stride(0), c.stride(1)});
  std::vector<double> expected(13 * 11);
  for (int64_t i = 0; i < 13; ++i)
    for (int64_t j = 0; j < 11; ++j)
      for (int64_t p = 0; p < 17; ++p)
        expected[i * 11 + j] += testing::at<double>(a, {i, p}) * testing::at<double>(b, {p, j});
  testing::expect_close(c, expected, 1e-12, 1e-12);
  testing::expect_close(c_buf.slice(1, 1, 22, 2), std::vector<double>(13 * 11, 0.0));
}

TEST(Gemm, NarrowIntoStridedOutput) {
  // Contiguous rows of A (the dot-product path) and a transposed A (the
  // blocked path) writing every other column of C.
  for (bool ta : {false, true}) {
    SCOPED_TRACE(::testing::Message() << "ta=" << ta);
    Tensor a = testing::random_tensor(ta ? Shape{70, 23} : Shape{23, 70}, DType::float64);
    Tensor a_view = ta ? a.t() : a;
    Tensor b = testing::random_tensor({70, 9}, DType::float64);
    Tensor c_buf = testing::random_tensor({23, 18}, DType::float64);
    Tensor c = c_buf.slice(1, 0, 18, 2);
    std::vector<double> expected = testing::values(c.contiguous());
    for (int64_t i = 0; i < 23; ++i)
      for (int64_t j = 0; j < 9; ++j) {
        double s = 0;
        for (int64_t p = 0; p < 70; ++p)
          s += testing::at<double>(a_view, {i, p}) * testing::at<double>(b, {p, j});
        expected[i * 9 + j] = 2.0 * s + 0.5 * expected[i * 9 + j];
      }
    std::vector<double> untouched = testing::values(c_buf.slice(1, 1, 18, 2).contiguous());
    cpu::gemm<double>(23, 9, 70, 2.0, {a_view.data<double>(), a_view.stride(0), a_view.stride(1)},
                      {b.data<double>(), b.stride(0), b.stride(1)}, 0.5,
                      {c.data<double>(), c.stride(0), c.stride(1)});
    testing::expect_close(c, expected, 1e-12, 1e-12);
    testing::expect_close(c_buf.slice(1, 1, 18, 2), untouched);
  }
}

TEST(Gemm, BatchedWithSharedAndStridedOperands) {
  // Five problems: A shared by all (offset 0), B transposed per problem, C
  // written into every other column of a wider buffer.
  const int64_t batch = 5, M = 9, N = 7, K = 13;
  Tensor a = testing::random_tensor({M, K}, DType::float64);
  Tensor b = testing::random_tensor({batch, N, K}, DType::float64);
  Tensor c = Tensor::zeros({batch, M, 2 * N}, DType::float64);
  std::vector<int64_t> a_off(batch, 0), b_off, c_off;
  for (int64_t i = 0; i < batch; ++i) {
    b_off.push_back(i * N * K);
    c_off.push_back(i * M * 2 * N);
  }
  cpu::gemm_batched<double>(batch, M, N, K, 2.0, {a.data<double>(), K, 1}, a_off.data(),
                            {b.data<double>(), 1, K}, b_off.data(), 0.0,
                            {c.data<double>(), 2 * N, 2}, c_off.data());
  std::vector<double> expected;
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t p = 0; p < K; ++p)
          s += testing::at<double>(a, {i, p}) * testing::at<double>(b, {n, j, p});
        expected.push_back(2.0 * s);
      }
  testing::expect_close(c.slice(2, 0, 2 * N, 2), expected, 1e-12, 1e-12);
  testing::expect_close(c.slice(2, 1, 2 * N, 2), std::vector<double>(batch * M * N, 0.0));
}

// matmul against a per-index reference over broadcast batch dims.
void check_matmul(const Tensor& a, const Tensor& b, const Shape& expected_shape) {
  Tensor out = matmul(a, b);
  ASSERT_EQ(out.shape(), expected_shape);
  Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  Shape batch = broadcast_shapes(Shape(a2.shape().begin(), a2.shape().end() - 2),
                                 Shape(b2.shape().begin(), b2.shape().end() - 2), "test");
  Shape as = batch, bs = batch;
  as.insert(as.end(), {a2.size(-2), a2.size(-1)});
  bs.insert(bs.end(), {b2.size(-2), b2.size(-1)});
  Tensor ax = a2.expand(as), bx = b2.expand(bs);
  Shape full = batch;
  full.insert(full.end(), {a2.size(-2), b2.size(-1)});
  std::vector<double> expected;
  testing::for_each_index(full, [&](const Shape& i) {
    double s = 0;
    Shape ia = i, ib = i;
    for (int64_t p = 0; p < a2.size(-1); ++p) {
      ia.back() = p;
      ib[ib.size() - 2] = p;
      s += testing::at<float>(ax, ia) * testing::at<float>(bx, ib);
    }
    expected.push_back(s);
  });
  testing::expect_close(out, expected, 1e-4, 1e-5);
}

TEST(Gemm, MatmulShapesAndBroadcasting) {
  using testing::random_tensor;
  check_matmul(random_tensor({7}), random_tensor({7}), {});
  check_matmul(random_tensor({7}), random_tensor({7, 3}), {3});
  check_matmul(random_tensor({5, 7}), random_tensor({7}), {5});
  check_matmul(random_tensor({3, 5, 7}), random_tensor({7}), {3, 5});
  check_matmul(random_tensor({7}), random_tensor({2, 7, 3}), {2, 3});
  check_matmul(random_tensor({2, 1, 5, 7}), random_tensor({3, 7, 4}), {2, 3, 5, 4});
  check_matmul(random_tensor({33, 5, 7}).transpose(1, 2), random_tensor({33, 5, 3}), {33, 7, 3});
  check_matmul(random_tensor({0, 5, 7}), random_tensor({7, 3}), {0, 5, 3});
  check_matmul(random_tensor({5, 0}), random_tensor({0, 3}), {5, 3});
}

TEST(Gemm, BadInputs) {
  using testing::random_tensor;
  EXPECT_THROW(matmul(random_tensor({2, 3}), random_tensor({4, 5})), Error);
  EXPECT_THROW(matmul(random_tensor({2, 3}), random_tensor({2, 3}, DType::float64)), Error);
  EXPECT_THROW(matmul(Tensor::zeros({2, 2}, DType::int64), Tensor::zeros({2, 2}, DType::int64)),
               Error);
  EXPECT_THROW(matmul(random_tensor({}), random_tensor({3})), Error);
  EXPECT_THROW(mm(random_tensor({2, 3, 4}), random_tensor({4, 5})), Error);
  EXPECT_THROW(bmm(random_tensor({2, 3, 4}), random_tensor({3, 4, 5})), Error);
  EXPECT_THROW(dot(random_tensor({3}), random_tensor({4})), Error);
  try {
    matmul(random_tensor({2, 3}), random_tensor({4, 5}));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[4, 5]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ember
