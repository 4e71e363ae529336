// Index kernels (gather, scatter, index_select, index_add_, advanced index /
// index_put_, masked_fill, cat, pad, one_hot, nonzero) against naive
// per-element references, at odd sizes and on non-contiguous views.
#include "ops/index.h"
#include "testing.h"

namespace ember {
namespace {

using testing::at;

// Random int64 values in [0, high) with the given shape.
Tensor random_index(const Shape& shape, int64_t high) {
  Tensor u = testing::random_tensor(shape, DType::float64, 0, double(high));
  Tensor out = Tensor::empty(shape, DType::int64);
  testing::for_each_index(shape, [&](const Shape& i) {
    int64_t off = 0;
    for (size_t d = 0; d < i.size(); ++d) off += i[d] * out.stride(int64_t(d));
    out.data<int64_t>()[off] = std::min<int64_t>(int64_t(at<double>(u, i)), high - 1);
  });
  return out;
}

Tensor from_values(const std::vector<int64_t>& v) {
  Tensor t = Tensor::empty({int64_t(v.size())}, DType::int64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// A transposed copy: the same values, non-contiguous strides.
Tensor strided(const Tensor& t) { return t.t().contiguous().t(); }

TEST(IndexGather, MatchesReferenceAtOddSizes) {
  for (int64_t n : {1, 7, 33, 129}) {
    for (bool transpose : {false, true}) {
      Tensor input = testing::random_tensor({n, 5});
      if (transpose) input = strided(input);
      for (int64_t dim : {0, 1}) {
        Shape ishape = dim == 0 ? Shape{n + 2, 3} : Shape{n, 11};
        Tensor index = random_index(ishape, input.size(dim));
        if (dim == 0) index = index.slice(1, 0, 3, 2);
        Tensor out = gather(input, dim, index);
        std::vector<double> expected;
        testing::for_each_index(index.shape(), [&](const Shape& i) {
          Shape src = i;
          src[size_t(dim)] = at<int64_t>(index, i);
          expected.push_back(at<float>(input, src));
        });
        testing::expect_close(out, expected, 0, 0);
      }
    }
  }
}

TEST(IndexScatter, ScatterAddAccumulatesRepeatsAcrossThreads) {
  for (int64_t n : {1, 7, 129, 40009}) {
    Tensor self = testing::random_tensor({3, n}, DType::float64);
    Tensor index = random_index({5, n}, 3);
    Tensor src = testing::random_tensor({n, 6}, DType::float64).t();
    std::vector<double> expected = testing::values(self);
    testing::for_each_index(index.shape(), [&](const Shape& i) {
      expected[size_t(at<int64_t>(index, i) * n + i[1])] += at<double>(src, i);
    });
    Tensor out = scatter(self, 0, index, src, true);
    testing::expect_close(out, expected, 1e-12, 1e-12);
  }
}

TEST(IndexScatter, ScatterWritesAndValueForm) {
  Tensor self = Tensor::zeros({4, 7});
  Tensor index = random_index({4, 7}, 7);
  Tensor src = testing::random_tensor({4, 7});
  scatter_(self, 1, index, src);
  testing::for_each_index(index.shape(), [&](const Shape& i) {
    // The last write along a row wins for repeated targets.
    int64_t last = -1;
    for (int64_t j = 0; j < 7; ++j)
      if (at<int64_t>(index, {i[0], j}) == at<int64_t>(index, i)) last = j;
    EXPECT_EQ(at<float>(self, {i[0], at<int64_t>(index, i)}), at<float>(src, {i[0], last}));
  });
  Tensor filled = Tensor::zeros({3});
  scatter_value_(filled, 0, from_values({2, 0}), Scalar(1.5));
  testing::expect_close(filled, {1.5, 0, 1.5}, 0, 0);
}

TEST(IndexSelect, SelectAndAddAreAdjoint) {
  for (int64_t n : {1, 7, 33, 131}) {
    Tensor input = strided(testing::random_tensor({n, 9}, DType::float64));
    Tensor index = random_index({13}, n);
    Tensor out = index_select(input, 0, index);
    std::vector<double> expected;
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      expected.push_back(at<double>(input, {at<int64_t>(index, {i[0]}), i[1]}));
    });
    testing::expect_close(out, expected, 0, 0);

    Tensor acc = Tensor::zeros({n, 9}, DType::float64);
    index_add_(acc, 0, index, out);
    std::vector<double> sums(size_t(n * 9), 0.0);
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      sums[size_t(at<int64_t>(index, {i[0]}) * 9 + i[1])] += at<double>(out, i);
    });
    testing::expect_close(acc, sums, 1e-12, 1e-12);
  }
}

TEST(IndexSelect, InnerDimSelectAndAdd) {
  for (int64_t n : {1, 7, 33}) {
    Tensor input = strided(testing::random_tensor({5, n}, DType::float64));
    Tensor index = random_index({11}, n);
    Tensor out = index_select(input, 1, index);
    std::vector<double> expected;
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      expected.push_back(at<double>(input, {i[0], at<int64_t>(index, {i[1]})}));
    });
    testing::expect_close(out, expected, 0, 0);

    Tensor acc = Tensor::zeros({5, n}, DType::float64);
    index_add_(acc, -1, index, out);
    std::vector<double> sums(size_t(5 * n), 0.0);
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      sums[size_t(i[0] * n + at<int64_t>(index, {i[1]}))] += at<double>(out, i);
    });
    testing::expect_close(acc, sums, 1e-12, 1e-12);
  }
}

TEST(IndexAdvanced, IndexAndIndexPutMatchReference) {
  for (int64_t n : {1, 7, 33}) {
    Tensor input = strided(testing::random_tensor({n, 6}, DType::float32)).unsqueeze(0)
                       .expand({3, n, 6});
    Tensor rows = random_index({5}, n), cols = random_index({5}, 6);
    // Separated index tensors (dims 1 and 2 adjacent; dim 0 kept): [3, 5].
    Tensor out = index(input, {std::nullopt, rows, cols});
    ASSERT_EQ(out.shape(), (Shape{3, 5}));
    std::vector<double> expected;
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      expected.push_back(at<float>(input, {i[0], at<int64_t>(rows, {i[1]}),
                                           at<int64_t>(cols, {i[1]})}));
    });
    testing::expect_close(out, expected, 0, 0);

    Tensor target = Tensor::zeros({3, n, 6});
    index_put_(target, {std::nullopt, rows, cols}, Tensor::ones({}), true);
    std::vector<double> counts(size_t(3 * n * 6), 0.0);
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t k = 0; k < 5; ++k)
        counts[size_t((b * n + at<int64_t>(rows, {k})) * 6 + at<int64_t>(cols, {k}))] += 1;
    testing::expect_close(target, counts, 0, 0);
  }
}

TEST(IndexAdvanced, SeparatedIndicesGoFirstAndNegativesWrap) {
  Tensor input = testing::random_tensor({4, 5, 6});
  Tensor out = index(input, {from_values({0, -1}), std::nullopt, from_values({5, 0})});
  ASSERT_EQ(out.shape(), (Shape{2, 5}));
  for (int64_t j = 0; j < 5; ++j) {
    EXPECT_EQ(at<float>(out, {0, j}), at<float>(input, {0, j, 5}));
    EXPECT_EQ(at<float>(out, {1, j}), at<float>(input, {3, j, 0}));
  }
  EXPECT_THROW(index(input, {from_values({4})}), Error);
}

TEST(IndexMaskedFill, BroadcastMaskOnStridedTensor) {
  for (int64_t n : {1, 7, 129}) {
    Tensor x = strided(testing::random_tensor({n, 3}));
    Tensor mask = Tensor::empty({3}, DType::bool_);
    mask.data<bool>()[0] = true;
    mask.data<bool>()[1] = false;
    mask.data<bool>()[2] = true;
    Tensor out = masked_fill(x, mask, Scalar(-4.0));
    std::vector<double> expected;
    testing::for_each_index(out.shape(), [&](const Shape& i) {
      expected.push_back(i[1] == 1 ? at<float>(x, i) : -4.0);
    });
    testing::expect_close(out, expected, 0, 0);
  }
}

TEST(IndexCat, PromotesAndConcatenatesStridedInputs) {
  Tensor a = strided(testing::random_tensor({7, 2}));
  Tensor b = Tensor::ones({7, 3}, DType::float64);
  Tensor out = cat({a, b, Tensor::empty({0})}, 1);
  ASSERT_EQ(out.shape(), (Shape{7, 5}));
  EXPECT_EQ(out.dtype(), DType::float64);
  std::vector<double> expected;
  testing::for_each_index(out.shape(), [&](const Shape& i) {
    expected.push_back(i[1] < 2 ? double(at<float>(a, i)) : 1.0);
  });
  testing::expect_close(out, expected, 0, 0);
  EXPECT_THROW(cat({a, Tensor::ones({6, 3})}, 1), Error);
}

TEST(IndexPad, ConstantPadAndCrop) {
  Tensor x = testing::random_tensor({3, 7});
  Tensor out = pad(x, {2, -3, -1, 1}, Scalar(9.0));
  ASSERT_EQ(out.shape(), (Shape{3, 6}));
  std::vector<double> expected;
  testing::for_each_index(out.shape(), [&](const Shape& i) {
    int64_t r = i[0] + 1, c = i[1] - 2;
    expected.push_back(r < 3 && c >= 0 && c < 4 ? at<float>(x, {r, c}) : 9.0);
  });
  testing::expect_close(out, expected, 0, 0);
}

TEST(IndexOneHot, OneHotAndNonzero) {
  Tensor labels = from_values({2, 0, 2, 1});
  Tensor out = one_hot(labels);
  testing::expect_close(out, {0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0}, 0, 0);
  Tensor coords = nonzero(out);
  ASSERT_EQ(coords.shape(), (Shape{4, 2}));
  testing::expect_close(coords, {0, 2, 1, 0, 2, 2, 3, 1}, 0, 0);
  EXPECT_THROW(one_hot(labels, 2), Error);
}

}  // namespace
}  // namespace ember
