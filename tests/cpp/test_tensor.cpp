// Core: views share memory and read the right elements, copies/casts,
// the allocator's reuse and alignment, the random generator's determinism.
#include <cstdint>

#include "core/allocator.h"
#include "core/random.h"
#include "ops/creation.h"
#include "testing.h"

namespace ember {
namespace {

using testing::at;
using testing::values;

Tensor iota(const Shape& shape) { return arange(0, checked_numel(shape, "iota"), 1, DType::float32).reshape(shape); }

TEST(Tensor, ViewsShareStorageAndIndexCorrectly) {
  Tensor x = iota({3, 4, 5});
  Tensor p = x.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{5, 3, 4}));
  EXPECT_EQ(p.storage(), x.storage());
  EXPECT_EQ(at<float>(p, {4, 2, 3}), at<float>(x, {2, 3, 4}));
  Tensor s = x.slice(2, 1, 5, 2);
  EXPECT_EQ(s.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(at<float>(s, {1, 2, 1}), 1 * 20 + 2 * 5 + 3);
  Tensor sel = x.select(1, -1);
  EXPECT_EQ(sel.shape(), (Shape{3, 5}));
  EXPECT_EQ(at<float>(sel, {2, 4}), 2 * 20 + 3 * 5 + 4);
  Tensor e = iota({3, 1}).expand({2, 3, 4});
  EXPECT_EQ(e.stride(0), 0);
  EXPECT_EQ(at<float>(e, {1, 2, 3}), 2);
  Tensor d = iota({4, 4}).diagonal(1);
  EXPECT_EQ(values(d), (std::vector<double>{1, 6, 11}));
}

TEST(Tensor, ReshapeViewsWhenPossibleAndCopiesOtherwise) {
  Tensor x = iota({4, 6});
  Tensor v = x.reshape({2, -1, 3});
  EXPECT_EQ(v.storage(), x.storage());
  EXPECT_EQ(v.shape(), (Shape{2, 4, 3}));
  Tensor t = x.t();
  EXPECT_THROW(t.view({24}), Error);
  Tensor r = t.reshape({24});
  EXPECT_NE(r.storage(), x.storage());
  EXPECT_EQ(at<float>(r, {1}), 6);
  EXPECT_THROW(x.reshape({5, -1}), Error);
  EXPECT_THROW(x.reshape({-1, -1}), Error);
}

TEST(Tensor, ContiguousCopyAndCastOddSizes) {
  for (int64_t n : {1, 7, 33, 129}) {
    Tensor x = testing::random_tensor({n, 3, 5});
    Tensor y = x.permute({2, 0, 1}).contiguous();
    ASSERT_TRUE(y.is_contiguous());
    std::vector<double> expected;
    testing::for_each_index(y.shape(), [&](const Shape& i) { expected.push_back(at<float>(x, {i[1], i[2], i[0]})); });
    testing::expect_close(y, expected, 0, 0);
    Tensor z = y.to(DType::float64).to(DType::int32);
    std::vector<double> truncated;
    for (double v : expected) truncated.push_back(double(int32_t(float(v))));
    testing::expect_close(z, truncated, 0, 0);
  }
}

TEST(Tensor, CopyIntoOverlappingViewReadsOriginalValues) {
  Tensor x = iota({3, 3});
  x.copy_(x.t());
  EXPECT_EQ(values(x), (std::vector<double>{0, 3, 6, 1, 4, 7, 2, 5, 8}));
}

TEST(Tensor, CopyBumpsTheSharedVersion) {
  Tensor x = iota({4});
  Tensor v = x.slice(0, 1, 3);
  uint64_t before = x.version();
  v.fill_(Scalar(2.0));
  EXPECT_GT(x.version(), before);
  EXPECT_EQ(values(x), (std::vector<double>{0, 2, 2, 3}));
}

TEST(Tensor, BadArgumentsThrow) {
  Tensor x = iota({2, 3});
  EXPECT_THROW(x.permute({0, 0}), Error);
  EXPECT_THROW(x.select(0, 2), Error);
  EXPECT_THROW(x.transpose(0, 2), Error);
  EXPECT_THROW(x.expand({3, 3}), Error);
  EXPECT_THROW(Tensor::empty({2, -1}), Error);
  EXPECT_THROW(Tensor::empty({int64_t(1) << 40, int64_t(1) << 40}), Error);
  EXPECT_THROW(x.item(), Error);
}

TEST(Allocator, ReusesFreedBlocksAndAligns) {
  void* a = cpu_allocate(1000);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  cpu_free(a, 1000);
  uint64_t os_before = cpu_memory_stats().num_os_allocs;
  void* b = cpu_allocate(990);
  EXPECT_EQ(a, b);
  EXPECT_EQ(cpu_memory_stats().num_os_allocs, os_before);
  cpu_free(b, 990);
  void* big = cpu_allocate(size_t(5) << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % (size_t(2) << 20), 0u);
  cpu_free(big, size_t(5) << 20);
}

TEST(Random, SeededAndIndependentOfThreads) {
  manual_seed(7);
  Tensor a = randn({1000}, DType::float64);
  manual_seed(7);
  Tensor b = randn({1000}, DType::float64);
  EXPECT_EQ(values(a), values(b));
  std::vector<double> v = values(a);
  double mean = 0, sq = 0;
  for (double x : v) mean += x / v.size();
  for (double x : v) sq += (x - mean) * (x - mean) / v.size();
  EXPECT_NEAR(mean, 0.0, 0.1);
  EXPECT_NEAR(sq, 1.0, 0.1);
  Tensor u = rand({5000}, DType::float32);
  for (double x : values(u)) ASSERT_TRUE(x >= 0 && x < 1);
  Tensor r = randint(-3, 4, {2000}, DType::int64);
  std::vector<int> seen(7, 0);
  for (double x : values(r)) seen[int(x) + 3]++;
  for (int c : seen) EXPECT_GT(c, 200);
}

TEST(Creation, RangesAndEye) {
  EXPECT_EQ(values(arange(1, 10, 3, DType::int64)), (std::vector<double>{1, 4, 7}));
  EXPECT_EQ(values(arange(Scalar(0.0), Scalar(1.0), Scalar(0.25), DType::float64)),
            (std::vector<double>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(values(linspace(0, 1, 5, DType::float64)), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(values(eye(2, 3, DType::float32)), (std::vector<double>{1, 0, 0, 0, 1, 0}));
}

}  // namespace
}  // namespace ember
