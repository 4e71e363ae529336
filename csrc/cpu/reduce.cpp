// CPU reductions: each output sums a contiguous row with blocked partial
// sums (accurate and vectorisable), or, when the reduced dims lead and the
// kept ones are contiguous (a bias gradient), whole rows are added to the output.
#include "cpu/reduce.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"

namespace ember {
namespace cpu {

Tensor kept_then_reduced(const Tensor& x, const Shape& dims, int64_t& outer, int64_t& inner) {
  Shape order, kept_shape;
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!std::binary_search(dims.begin(), dims.end(), d)) {
      order.push_back(d);
      outer *= x.size(d);
    }
  }
  for (int64_t d : dims) {
    order.push_back(d);
    inner *= x.size(d);
  }
  return x.permute(order);
}

namespace {

// Sum of n contiguous values: 16 independent lanes per block, blocks folded
// into a wider accumulator so error grows with n/1024, not n.
template <typename T, typename Acc>
Acc sum_contiguous(const T* x, int64_t n) {
  constexpr int kLanes = 16;
  constexpr int64_t kBlock = 1024;
  Acc total = 0;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    T lanes[kLanes] = {};
    for (int64_t j = 0; j < kBlock; j += kLanes)
      for (int k = 0; k < kLanes; ++k) lanes[k] += x[i + j + k];
    T block = 0;
    for (int k = 0; k < kLanes; ++k) block += lanes[k];
    total += block;
  }
  T rest = 0;
  for (; i < n; ++i) rest += x[i];
  return total + rest;
}

template <typename T>
using wide_t = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <typename T>
void sum_kernel(const Tensor& out, const Tensor& x, const Shape& dims) {
  int64_t outer, inner;
  Tensor perm = kept_then_reduced(x, dims, outer, inner);
  T* o = static_cast<T*>(out.raw_data());
  // Reduced dims leading and the kept block contiguous: add rows.
  if (x.is_contiguous() && !dims.empty() && dims.back() == int64_t(dims.size()) - 1 &&
      inner > 1 && outer > 1) {
    const T* in = static_cast<const T*>(x.raw_data());
    parallel_for(0, outer, std::max<int64_t>(1, kParallelGrain / inner), [&](int64_t lo, int64_t hi) {
      std::vector<wide_t<T>> acc(hi - lo, 0);
      for (int64_t r = 0; r < inner; ++r) {
        const T* row = in + r * outer;
        for (int64_t j = lo; j < hi; ++j) acc[j - lo] += row[j];
      }
      for (int64_t j = lo; j < hi; ++j) o[j] = T(acc[j - lo]);
    });
    return;
  }
  Tensor rows = perm.reshape({outer, inner}).contiguous();
  const T* in = static_cast<const T*>(rows.raw_data());
  parallel_for(0, outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t j = lo; j < hi; ++j) o[j] = T(sum_contiguous<T, wide_t<T>>(in + j * inner, inner));
               });
}

}  // namespace

void sum(const Tensor& out, const Tensor& x, const Shape& dims) {
  EMBER_DISPATCH_NUMERIC(x.dtype(), "sum", [&] { sum_kernel<scalar_t>(out, x, dims); });
}

}  // namespace cpu
}  // namespace ember
