// SmallVector (the type of Shape): inline up to N values, on the heap beyond,
// and the std::vector operations ember uses, including ranges that point into
// the vector itself.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "core/small_vector.h"

namespace {

using Small = ember::SmallVector<int64_t, 3>;

std::vector<int64_t> as_vector(const Small& v) { return std::vector<int64_t>(v); }

TEST(SmallVector, GrowsPastInlineCapacity) {
  Small v;
  for (int64_t i = 0; i < 10; ++i) v.push_back(i);
  ASSERT_EQ(v.size(), 10u);
  EXPECT_GE(v.capacity(), 10u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(v[size_t(i)], i);
  v.push_back(v[0]);  // a value from the vector itself, at a reallocation
  v.resize(20, v[1]);
  EXPECT_EQ(v[10], 0);
  EXPECT_EQ(v[19], 1);
  v.pop_back();
  v.resize(2);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{0, 1}));
}

TEST(SmallVector, CopyAndMoveInlineAndHeap) {
  for (size_t n : {size_t(2), size_t(7)}) {
    Small a(n, 5);
    a[0] = 9;
    Small copy = a;
    EXPECT_EQ(copy, a);
    Small moved = std::move(copy);
    EXPECT_EQ(moved, a);
    EXPECT_TRUE(copy.empty());  // NOLINT: a moved-from SmallVector is empty
    Small assigned{1, 2, 3, 4};
    assigned = a;
    EXPECT_EQ(assigned, a);
    assigned = std::move(moved);
    EXPECT_EQ(assigned, a);
    assigned = assigned;
    EXPECT_EQ(assigned, a);
  }
}

TEST(SmallVector, InsertAndEraseIncludingSelfRanges) {
  Small v{1, 2, 3};
  v.insert(v.begin() + 1, 7);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 7, 2, 3}));
  v.insert(v.end(), v.begin(), v.begin() + 2);  // a range into v itself
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 7, 2, 3, 1, 7}));
  v.insert(v.begin(), size_t(2), v.back());
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{7, 7, 1, 7, 2, 3, 1, 7}));
  v.erase(v.begin() + 1, v.begin() + 6);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{7, 1, 7}));
  v.erase(v.begin());
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 7}));
  v.assign(v.rbegin(), v.rend());
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{7, 1}));
}

TEST(SmallVector, ComparesLikeVector) {
  EXPECT_EQ(Small({1, 2}), Small(std::vector<int64_t>{1, 2}));
  EXPECT_NE(Small({1, 2}), Small({1, 2, 0}));
  EXPECT_LT(Small({1, 2}), Small({1, 3}));
  EXPECT_LT(Small({1, 2}), Small({1, 2, 0}));
  EXPECT_EQ(Small(4), Small(size_t(4), 0));
  EXPECT_THROW(Small({1}).at(1), std::out_of_range);
}

}  // namespace
