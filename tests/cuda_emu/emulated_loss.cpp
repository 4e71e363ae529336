// The CUDA cross entropy and nll_loss kernels, compiled here as host C++
// against the harness (the same source nvcc compiles into ember_core).
#include "cuda/loss.cu"
