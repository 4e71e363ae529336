// Creation ops. Random tensors are drawn on their device from the seeded
// counter-based generator (so a seed gives the same numbers on every
// device); ranges and identities are written directly on their device, by
// kernels that compute the CPU's values.
#include "ops/creation.h"

#include <cmath>

#include "core/random.h"
#include "cuda/kernels.h"

namespace ember {

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype, Device device) {
  double s = start.to<double>(), e = end.to<double>(), st = step.to<double>();
  EMBER_CHECK(st != 0, "arange: step must be nonzero");
  EMBER_CHECK(std::isfinite(s) && std::isfinite(e), "arange: start and end must be finite");
  EMBER_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), "arange: upper bound ", e,
              " and lower bound ", s, " inconsistent with step sign ", st);
  int64_t n;
  if (is_floating(dtype)) {
    n = int64_t(std::ceil((e - s) / st));
  } else {
    int64_t si = start.to<int64_t>(), ei = end.to<int64_t>(), sti = step.to<int64_t>();
    EMBER_CHECK(sti != 0, "arange: an integer dtype needs an integer step, got ", st);
    n = sti > 0 ? (ei - si + sti - 1) / sti : (si - ei - sti - 1) / -sti;
  }
  Tensor out = Tensor::empty({n}, dtype, device);
  switch (device.type) {
    case DeviceType::cpu: break;
    case DeviceType::cuda: cuda::arange(out, start, step); return out;
    default: no_kernel("arange", device);
  }
  EMBER_DISPATCH_NUMERIC(dtype, "arange", [&] {
    scalar_t* o = out.data<scalar_t>();
    if constexpr (std::is_floating_point_v<scalar_t>) {
      for (int64_t i = 0; i < n; ++i) o[i] = scalar_t(s + st * double(i));
    } else {
      int64_t si = start.to<int64_t>(), sti = step.to<int64_t>();
      for (int64_t i = 0; i < n; ++i) o[i] = scalar_t(si + sti * i);
    }
  });
  return out;
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  EMBER_CHECK(steps >= 0, "linspace: number of steps must be non-negative, got ", steps);
  Tensor out = Tensor::empty({steps}, dtype, device);
  const double step = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
  switch (device.type) {
    case DeviceType::cpu: break;
    case DeviceType::cuda: cuda::linspace(out, start, end, step); return out;
    default: no_kernel("linspace", device);
  }
  EMBER_DISPATCH_NUMERIC(dtype, "linspace", [&] {
    scalar_t* o = out.data<scalar_t>();
    // Fill from both ends so the last value is exactly `end`.
    for (int64_t i = 0; i < steps; ++i) {
      o[i] = i < steps / 2 ? scalar_t(start + step * double(i))
                           : scalar_t(end - step * double(steps - 1 - i));
    }
  });
  return out;
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  EMBER_CHECK(n >= 0 && m >= 0, "eye: sizes must be non-negative, got ", n, " and ", m);
  switch (device.type) {
    case DeviceType::cpu: break;
    case DeviceType::cuda: {
      Tensor out = Tensor::empty({n, m}, dtype, device);
      cuda::eye(out);
      return out;
    }
    default: no_kernel("eye", device);
  }
  Tensor out = Tensor::zeros({n, m}, dtype);
  out.diagonal().fill_(Scalar(int64_t(1)));
  return out;
}

Tensor rand(const Shape& shape, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  uniform_(out, 0.0, 1.0);
  return out;
}

Tensor randn(const Shape& shape, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  normal_(out, 0.0, 1.0);
  return out;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device) {
  Tensor out = Tensor::empty(shape, dtype, device);
  randint_(out, low, high);
  return out;
}

}  // namespace ember
