// The CUDA cumsum and reduction backward kernels, compiled here as host C++
// against the harness.
#include "cuda/reduce_grad.cu"
