// Self-tests of the CUDA-on-CPU harness: barriers and shared memory, the
// shuffle mode catching a missing __syncthreads, warp shuffles and votes,
// atomics across blocks, dynamic shared memory, and the misuse it reports.
#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "cuda/launch.cuh"

namespace {

using ember::cuda::launch;

constexpr int kBlock = 256;

// Tree reduction of each block's slice into sums[blockIdx.x]; the partial
// sums move toward the block's last thread. kPlantedBug drops the barrier
// between the stores and the first reads: in thread order every read still
// sees a finished store (lower threads store first), so only a different
// order exposes it.
template <bool kPlantedBug>
__global__ void block_sum_kernel(const float* x, float* sums, int n) {
  __shared__ float partial[kBlock];
  int tid = int(threadIdx.x);
  int i = int(blockIdx.x * blockDim.x) + tid;
  partial[tid] = i < n ? x[i] : 0.0f;
  if (!kPlantedBug) __syncthreads();
  for (int s = kBlock / 2; s > 0; s /= 2) {
    if (tid >= kBlock - s) partial[tid] += partial[tid - s];
    __syncthreads();
  }
  if (tid == kBlock - 1) sums[blockIdx.x] = partial[tid];
}

std::vector<float> iota_values(int n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) x[size_t(i)] = float(i % 17);
  return x;
}

template <bool kPlantedBug>
std::vector<float> block_sums(const std::vector<float>& x) {
  int n = int(x.size());
  int blocks = (n + kBlock - 1) / kBlock;
  std::vector<float> sums(size_t(blocks), -1.0f);
  launch(block_sum_kernel<kPlantedBug>, dim3(blocks), dim3(kBlock), 0, nullptr, x.data(),
         sums.data(), n);
  return sums;
}

std::vector<float> expected_sums(const std::vector<float>& x) {
  std::vector<float> sums;
  for (size_t b = 0; b < x.size(); b += kBlock) {
    sums.push_back(std::accumulate(x.begin() + long(b),
                                   x.begin() + long(std::min(x.size(), b + kBlock)), 0.0f));
  }
  return sums;
}

class CudaEmuHarness : public ::testing::Test {
 protected:
  void TearDown() override { cuda_emu::set_shuffle(false); }
};

TEST_F(CudaEmuHarness, BlockReductionWithSharedMemoryAndBarriers) {
  for (int n : {1, 31, 256, 1000}) {
    std::vector<float> x = iota_values(n);
    EXPECT_EQ(block_sums<false>(x), expected_sums(x)) << "n = " << n;
    cuda_emu::set_shuffle(true, 7);
    EXPECT_EQ(block_sums<false>(x), expected_sums(x)) << "n = " << n << ", shuffled";
    cuda_emu::set_shuffle(false);
  }
}

TEST_F(CudaEmuHarness, ShuffleModeCatchesMissingSyncthreads) {
  std::vector<float> x = iota_values(1000);
  // Thread order hides the race...
  cuda_emu::set_shuffle(false);
  EXPECT_EQ(block_sums<true>(x), expected_sums(x));
  // ...a shuffled order does not, whatever the seed.
  for (uint64_t seed : {1, 2, 3}) {
    cuda_emu::set_shuffle(true, seed);
    EXPECT_NE(block_sums<true>(x), expected_sums(x)) << "seed " << seed;
  }
}

__global__ void shuffle_kernel(int* out) {
  int lane = int(threadIdx.x) % warpSize;
  int base = int(threadIdx.x) * 6;
  out[base + 0] = __shfl_sync(0xffffffffu, lane * 10, 3);
  out[base + 1] = __shfl_up_sync(0xffffffffu, lane * 10, 2);
  out[base + 2] = __shfl_down_sync(0xffffffffu, lane * 10, 5);
  out[base + 3] = __shfl_xor_sync(0xffffffffu, lane * 10, 1);
  out[base + 4] = __shfl_sync(0xffffffffu, lane * 10, 1, 8);
  // A warp-shuffle sum over the warp, in double to check 8-byte values.
  double sum = lane;
  for (int offset = warpSize / 2; offset > 0; offset /= 2) {
    sum += __shfl_down_sync(0xffffffffu, sum, unsigned(offset));
  }
  out[base + 5] = int(__shfl_sync(0xffffffffu, sum, 0));
}

TEST_F(CudaEmuHarness, WarpShuffles) {
  for (bool shuffled : {false, true}) {
    cuda_emu::set_shuffle(shuffled, 11);
    std::vector<int> out(64 * 6, -1);
    launch(shuffle_kernel, dim3(1), dim3(64), 0, nullptr, out.data());
    for (int t = 0; t < 64; ++t) {
      int lane = t % 32;
      const int* o = &out[size_t(t) * 6];
      EXPECT_EQ(o[0], 30);
      EXPECT_EQ(o[1], lane >= 2 ? (lane - 2) * 10 : lane * 10);
      EXPECT_EQ(o[2], lane + 5 < 32 ? (lane + 5) * 10 : lane * 10);
      EXPECT_EQ(o[3], (lane ^ 1) * 10);
      EXPECT_EQ(o[4], ((lane & ~7) + 1) * 10);
      EXPECT_EQ(o[5], 31 * 32 / 2);
    }
  }
}

__global__ void vote_kernel(unsigned* ballots, int* any, int* all) {
  int lane = int(threadIdx.x) % warpSize;
  int warp = int(threadIdx.x) / warpSize;
  unsigned b = __ballot_sync(0xffffffffu, lane % 3 == 0);
  int some = __any_sync(0xffffffffu, lane == 7 && warp == 0);
  int every = __all_sync(0xffffffffu, warp == 1 || lane < 31);
  // Half-warp collectives with disjoint masks proceed independently.
  unsigned half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  unsigned hb = __ballot_sync(half, lane % 2 == 0);
  __syncwarp();
  if (lane == 0) {
    ballots[warp * 2] = b;
    any[warp] = some;
    all[warp] = every;
  }
  if (lane == 16) ballots[warp * 2 + 1] = hb;
}

TEST_F(CudaEmuHarness, WarpVotes) {
  std::vector<unsigned> ballots(4, 0);
  std::vector<int> any(2, -1), all(2, -1);
  launch(vote_kernel, dim3(1), dim3(64), 0, nullptr, ballots.data(), any.data(), all.data());
  unsigned every_third = 0;
  for (int l = 0; l < 32; l += 3) every_third |= 1u << l;
  EXPECT_EQ(ballots[0], every_third);
  EXPECT_EQ(ballots[2], every_third);
  EXPECT_EQ(ballots[1], 0x55550000u);
  EXPECT_EQ(ballots[3], 0x55550000u);
  EXPECT_EQ(any[0], 1);
  EXPECT_EQ(any[1], 0);
  EXPECT_EQ(all[0], 0);
  EXPECT_EQ(all[1], 1);
}

__global__ void atomics_kernel(float* fsum, double* dsum, int* isum, unsigned* usum, int* imax,
                               int* imin, unsigned* umax, unsigned* umin, int* cas_count,
                               unsigned long long* ull, float* exch) {
  int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(fsum, 1.0f);
  atomicAdd(dsum, 0.5);
  atomicAdd(isum, i);
  atomicAdd(usum, 2u);
  atomicMax(imax, i - 100);
  atomicMin(imin, i - 100);
  atomicMax(umax, unsigned(i));
  atomicMin(umin, unsigned(i) + 5u);
  // A CAS loop: the classic way to build an atomic out of atomicCAS.
  int old = *cas_count, seen;
  do {
    seen = old;
    old = atomicCAS(cas_count, seen, seen + 3);
  } while (old != seen);
  atomicAdd(ull, 1ull);
  atomicExch(exch, 1.5f);
}

TEST_F(CudaEmuHarness, AtomicsFromManyBlocks) {
  const int blocks = 13, threads = 96, total = blocks * threads;
  float fsum = 0, exch = 0;
  double dsum = 0;
  int isum = 0, imax = -1000000, imin = 1000000, cas_count = 0;
  unsigned usum = 0, umax = 0, umin = 1u << 30;
  unsigned long long ull = 0;
  cuda_emu::set_shuffle(true, 5);
  launch(atomics_kernel, dim3(blocks), dim3(threads), 0, nullptr, &fsum, &dsum, &isum, &usum,
         &imax, &imin, &umax, &umin, &cas_count, &ull, &exch);
  EXPECT_EQ(fsum, float(total));
  EXPECT_EQ(dsum, total * 0.5);
  EXPECT_EQ(isum, total * (total - 1) / 2);
  EXPECT_EQ(usum, 2u * total);
  EXPECT_EQ(imax, total - 1 - 100);
  EXPECT_EQ(imin, -100);
  EXPECT_EQ(umax, unsigned(total - 1));
  EXPECT_EQ(umin, 5u);
  EXPECT_EQ(cas_count, 3 * total);
  EXPECT_EQ(ull, 1ull * total);
  EXPECT_EQ(exch, 1.5f);
  int x = 4;
  EXPECT_EQ(atomicExch(&x, 9), 4);
  EXPECT_EQ(atomicCAS(&x, 8, 1), 9);
  EXPECT_EQ(x, 9);
}

// Reverses each block's slice through dynamic shared memory, in 2-D blocks.
__global__ void reverse_kernel(const double* x, double* y) {
  EMBER_DYNAMIC_SHARED(double, tile);
  int threads = int(blockDim.x * blockDim.y);
  int tid = int(threadIdx.y * blockDim.x + threadIdx.x);
  int base = int(blockIdx.x) * threads;
  tile[tid] = x[base + tid];
  __syncthreads();
  y[base + tid] = __ldg(&tile[threads - 1 - tid]);
}

TEST_F(CudaEmuHarness, DynamicSharedMemoryAndTwoDimensionalBlocks) {
  const int threads = 8 * 6, blocks = 3;
  std::vector<double> x(threads * blocks), y(x.size(), 0);
  std::iota(x.begin(), x.end(), 0.0);
  cuda_emu::set_shuffle(true, 3);
  launch(reverse_kernel, dim3(blocks), dim3(8, 6), threads * sizeof(double), nullptr, x.data(),
         y.data());
  for (int b = 0; b < blocks; ++b) {
    for (int t = 0; t < threads; ++t) {
      EXPECT_EQ(y[size_t(b * threads + t)], x[size_t(b * threads + threads - 1 - t)]);
    }
  }
}

__global__ void grid_index_kernel(int* out) {
  unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  out[block * per_block + thread] = int(block * per_block + thread);
}

TEST_F(CudaEmuHarness, ThreeDimensionalGridsAndBlocks) {
  std::vector<int> out(2 * 3 * 2 * 4 * 2 * 3, -1);
  launch(grid_index_kernel, dim3(2, 3, 2), dim3(4, 2, 3), 0, nullptr, out.data());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i], int(i));
}

// Half a warp waits at a barrier while the other half waits for it at a
// shuffle: a hang on a GPU.
__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
  }
}

__global__ void exited_lane_kernel(int* out) {
  if (threadIdx.x == 5) return;
  out[threadIdx.x] = __shfl_sync(0xffffffffu, int(threadIdx.x), 0);
}

TEST_F(CudaEmuHarness, ReportsMisuseInsteadOfHanging) {
  std::vector<int> out(64, 0);
  EXPECT_THROW(launch(divergent_barrier_kernel, dim3(1), dim3(32), 0, nullptr, out.data()),
               cuda_emu::Error);
  EXPECT_THROW(launch(exited_lane_kernel, dim3(1), dim3(32), 0, nullptr, out.data()),
               cuda_emu::Error);
  EXPECT_THROW(launch(grid_index_kernel, dim3(1), dim3(2048), 0, nullptr, out.data()),
               cuda_emu::Error);
  EXPECT_THROW(launch(reverse_kernel, dim3(1), dim3(32), 64 * 1024, nullptr,
                      static_cast<const double*>(nullptr), static_cast<double*>(nullptr)),
               cuda_emu::Error);
  // The harness is still usable afterwards.
  std::vector<float> x = iota_values(300);
  EXPECT_EQ(block_sums<false>(x), expected_sums(x));
}

// A device function recursing `level` deep with a 256-byte frame each, every
// thread of the block holding its deepest frame at a barrier at the same
// time: the threads' stacks are separate and deep enough, and no thread's
// frames are overwritten by another's.
__device__ __attribute__((noinline)) int deep_call(int level, int tag) {
  volatile int frame[64];
  for (int i = 0; i < 64; ++i) frame[i] = tag + level + i;
  int below = 0;
  if (level == 0) {
    __syncthreads();
  } else {
    below = deep_call(level - 1, tag);
  }
  for (int i = 0; i < 64; ++i) {
    if (frame[i] != tag + level + i) return -1000000;
  }
  return below + 1;
}

__global__ void deep_call_kernel(int* depth_reached, int levels) {
  int tid = int(blockIdx.x * blockDim.x + threadIdx.x);
  depth_reached[tid] = deep_call(levels, tid * 1000);
}

TEST_F(CudaEmuHarness, DeepDeviceCallChainsFitTheFiberStack) {
  // About 100 KiB of frames per thread (twice that under ASan), all live at once.
  const int levels = 400, threads = 128, blocks = 2;
  for (bool shuffled : {false, true}) {
    cuda_emu::set_shuffle(shuffled, 13);
    std::vector<int> depth(threads * blocks, 0);
    launch(deep_call_kernel, dim3(blocks), dim3(threads), 0, nullptr, depth.data(), levels);
    for (int d : depth) EXPECT_EQ(d, levels + 1);
  }
}

TEST(CudaEmuHarnessDeathTest, StackOverflowFaultsInsteadOfCorruptingMemory) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<int> depth(32, 0);
  EXPECT_DEATH(launch(deep_call_kernel, dim3(1), dim3(32), 0, nullptr, depth.data(), 100000), "");
}

// A thread that throws from device code ends the launch with that exception
// while its block-mates wait at a barrier; they are abandoned mid-kernel.
__global__ void throwing_kernel(int* out, int thrower) {
  out[threadIdx.x] = 1;
  __syncthreads();
  if (int(threadIdx.x) == thrower) throw std::runtime_error("thrown by a device thread");
  __syncthreads();
  out[threadIdx.x] = 2;
}

TEST_F(CudaEmuHarness, ManyLaunchesReuseFibersAndStacks) {
  std::vector<float> x = iota_values(700);
  std::vector<float> expected = expected_sums(x);
  for (int round = 0; round < 200; ++round) {
    cuda_emu::set_shuffle(round % 2 == 1, uint64_t(round));
    ASSERT_EQ(block_sums<false>(x), expected) << "round " << round;
    std::vector<int> out(64 * 6, -1);
    launch(shuffle_kernel, dim3(1), dim3(64), 0, nullptr, out.data());
    ASSERT_EQ(out[5], 31 * 32 / 2) << "round " << round;
    if (round % 50 == 0) {
      std::vector<int> flags(128, 0);
      EXPECT_THROW(launch(throwing_kernel, dim3(2), dim3(128), 0, nullptr, flags.data(), 77),
                   std::runtime_error);
      EXPECT_THROW(launch(divergent_barrier_kernel, dim3(1), dim3(32), 0, nullptr, out.data()),
                   cuda_emu::Error);
    }
  }
  std::vector<int> flags(128, 0);
  launch(throwing_kernel, dim3(1), dim3(128), 0, nullptr, flags.data(), -1);
  for (int f : flags) EXPECT_EQ(f, 2);
}

}  // namespace
