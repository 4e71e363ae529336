"""ember's GPU benchmarks against PyTorch with CUDA (cuBLAS / cuDNN).

    python -m bench.gpu [--quick] [--json PATH] [--only gemm,conv,memory,train] [--repeats N]
    python bench/gpu/run.py ...            # the same
    python -m bench.gpu.gemm [--quick]     # one section alone (also conv, memory, train)

Sections:
- gemm: square 1024..8192 and the DL shapes of bench/ops.py and bench/conv.py's
  layers as GEMMs; sgemm with TF32 off and on, dgemm at small sizes;
  GFLOP/s and % of the FP32 peak.
- conv: bench/conv.py's layers, forward and forward+backward.
- memory: softmax / log_softmax, sum / mean over rows and columns, add / mul /
  relu on 2^24 and 2^26 elements; GB/s and % of the measured copy bandwidth.
- train: one training step of the Fashion-MNIST CNN (examples/), ms per step.

Every case is checked against PyTorch (or ember's CPU result) first, then timed
with CUDA events (ember's em.cuda.Event, torch.cuda.Event for PyTorch): a
warm-up, then interleaved ember / PyTorch repeats with the L2 cache flushed
before each, medians reported. The torch column and the ratio (torch time /
ember time, > 1: ember faster) appear only when torch.cuda.is_available().
The FP32 peak is SMs x FP32 lanes per SM (by compute capability) x 2 x clock;
bandwidth is measured with a large device-to-device copy, and the theoretical
figure from the memory clock and bus width is printed beside it. The table and
the JSON record are bench/report.py's.

Without a CUDA build or a GPU every entry point prints one line,
"bench/gpu: no CUDA device (ember built with CUDA: yes/no)", and exits 0.
"""
