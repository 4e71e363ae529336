// Reduction entry points: dim handling, output allocation, dispatch.
#include "ops/reduce.h"

#include <algorithm>

#include "cpu/reduce.h"

namespace ember {

Shape reduction_dims(const Shape& dims, int64_t ndim, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  EMBER_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": dim ",
              shape_str(dims), " lists a dim twice");
  if (ndim == 0) out.clear();
  return out;
}

Shape reduced_shape(const Shape& shape, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    bool reduced = std::binary_search(dims.begin(), dims.end(), d);
    if (!reduced) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  Shape rdims = reduction_dims(dims, x.dim(), "sum");
  DType dtype = is_floating(x.dtype()) ? x.dtype() : DType::int64;
  Tensor out = Tensor::empty(reduced_shape(x.shape(), rdims, keepdim), dtype, x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::sum(out, x.to(dtype), rdims); break;
    default: no_kernel("sum", x.device());
  }
  return out;
}

}  // namespace ember
