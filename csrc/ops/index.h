// Joining, gathering, scattering and indexing ops: cat, gather, scatter(_add),
// index_select, index_add_, masked_fill, advanced indexing (index /
// index_put_), one_hot, constant pad, nonzero.
#pragma once

#include <optional>
#include <vector>

#include "core/tensor.h"

namespace ember {

// Concatenation along `dim` with type promotion; 1-D empty tensors are
// skipped (PyTorch's legacy rule), every other tensor must match off `dim`.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);

Tensor gather(const Tensor& input, int64_t dim, const Tensor& index);
// self[..., index[i][j], ...] = src (or += with accumulate), PyTorch's scatter_.
Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                 bool accumulate = false);
Tensor& scatter_value_(Tensor& self, int64_t dim, const Tensor& index, Scalar value);
Tensor scatter(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src,
               bool accumulate = false);

Tensor index_select(const Tensor& input, int64_t dim, const Tensor& index);
// self.select(dim, index[i]) += source.select(dim, i) for each i.
Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source);

// Fills where the bool `mask` (broadcast) is true.
Tensor masked_fill(const Tensor& input, const Tensor& mask, Scalar value);
Tensor& masked_fill_(Tensor& self, const Tensor& mask, Scalar value);

// Advanced indexing: one optional index tensor per leading dim (nullopt keeps
// the whole dim); integer indices broadcast together, bool masks select their
// true positions. Adjacent index tensors keep their place in the result,
// separated ones move to the front (numpy's rule).
Tensor index(const Tensor& input, const std::vector<std::optional<Tensor>>& indices);
Tensor& index_put_(Tensor& self, const std::vector<std::optional<Tensor>>& indices,
                   const Tensor& values, bool accumulate = false);

// int64 [..., num_classes]; num_classes -1 takes max(input) + 1.
Tensor one_hot(const Tensor& input, int64_t num_classes = -1);
// Constant padding; `pad` lists (before, after) pairs from the last dim
// backwards, negative entries crop.
Tensor pad(const Tensor& input, const Shape& pad, Scalar value = Scalar(0.0));
// int64 [count, ndim]: the coordinates of the nonzero elements.
Tensor nonzero(const Tensor& input);

}  // namespace ember
