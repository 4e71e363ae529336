// CPU copy and fill over strided views (see copy.h).
#include "cpu/copy.h"

#include <cstring>

#include "core/iter.h"

namespace ember {
namespace cpu {

template <typename Out, typename In>
static Out convert(In v) {
  if constexpr (std::is_same_v<Out, bool>) {
    return v != In(0);
  } else {
    return static_cast<Out>(v);
  }
}

void copy(const Tensor& dst, const Tensor& src) {
  EMBER_DISPATCH_ALL_AND_HALF(dst.dtype(), "copy_", [&] {
    using out_t = scalar_t;
    EMBER_DISPATCH_ALL_AND_HALF(src.dtype(), "copy_", [&] {
      using in_t = scalar_t;
      std::array<int64_t, 2> sizes{sizeof(out_t), sizeof(in_t)};
      for_each_run<2>({dst, src}, [&](char** p, const int64_t* stride, int64_t n) {
        if constexpr (std::is_same_v<out_t, in_t>) {
          if (run_is_contiguous<2>(stride, sizes)) {
            std::memcpy(p[0], p[1], size_t(n) * sizeof(out_t));
            return;
          }
        }
        if (run_is_contiguous<2>(stride, sizes)) {
          auto* out = reinterpret_cast<out_t*>(p[0]);
          auto* in = reinterpret_cast<const in_t*>(p[1]);
          for (int64_t i = 0; i < n; ++i) out[i] = convert<out_t>(in[i]);
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<out_t*>(p[0] + i * stride[0]) =
              convert<out_t>(*reinterpret_cast<const in_t*>(p[1] + i * stride[1]));
        }
      });
    });
  });
}

void fill(const Tensor& dst, Scalar value) {
  EMBER_DISPATCH_ALL_AND_HALF(dst.dtype(), "fill_", [&] {
    scalar_t v = value.to<scalar_t>();
    for_each_run<1>({dst}, [&](char** p, const int64_t* stride, int64_t n) {
      if (stride[0] == sizeof(scalar_t)) {
        auto* out = reinterpret_cast<scalar_t*>(p[0]);
        for (int64_t i = 0; i < n; ++i) out[i] = v;
        return;
      }
      for (int64_t i = 0; i < n; ++i) *reinterpret_cast<scalar_t*>(p[0] + i * stride[0]) = v;
    });
  });
}

}  // namespace cpu
}  // namespace ember
