// The CUDA fused LSTM and GRU cell kernels, compiled here as host C++ against the
// harness (the same source nvcc compiles into ember_core).
#include "cuda/rnn.cu"
