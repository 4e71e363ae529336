// A kernel that writes one element past its buffer, run on the CUDA-on-CPU
// harness under AddressSanitizer: ctest expects ASan's heap-buffer-overflow
// report, proving such bugs in kernels are caught without a GPU.
#include <vector>

#include "cuda/launch.cuh"

namespace {

// The planted bug: `i <= n` instead of `i < n`.
__global__ void off_by_one_kernel(float* y, const float* x, int n) {
  int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= n) y[i] = 2.0f * x[i < n ? i : 0];
}

}  // namespace

int main() {
  const int n = 100;
  std::vector<float> x(n, 1.0f);
  float* y = new float[n];
  ember::cuda::launch(off_by_one_kernel, dim3(4), dim3(32), 0, nullptr, y, x.data(), n);
  float first = y[0];
  delete[] y;
  return first == 2.0f ? 0 : 1;
}
