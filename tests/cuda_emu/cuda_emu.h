// The CUDA-on-CPU harness: compiled with a host C++ compiler, it lets the
// .cu kernel sources build and run without a GPU. Each block's threads run
// as user-mode fibers on the calling OS thread (reused, with their stacks,
// from block to block), switching only at __syncthreads and warp
// collectives; blocks run one after another, so a
// block's __shared__ memory can be static storage. Shuffle mode
// (EMBER_EMU_SHUFFLE=1 or cuda_emu::set_shuffle) runs the threads between two
// barriers in a different seeded random order each time, which turns a
// missing __syncthreads into a wrong answer instead of a lucky right one.
#pragma once

#if defined(__CUDACC__)
#error "cuda_emu.h is the host-compiler harness; under nvcc include cuda/launch.cuh only"
#endif

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define EMBER_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_EMU_ASAN 1
#endif
#endif
#if defined(EMBER_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#define EMBER_CUDA_EMU 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __restrict__ __restrict
// Blocks run one at a time (and launches are serialised), so one static
// instance per kernel is a faithful model of per-block shared memory.
#define __shared__ static
#define __launch_bounds__(...)
#define EMBER_DYNAMIC_SHARED(type, name) \
  type* name = reinterpret_cast<type*>(::cuda_emu::detail::dynamic_shared())

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};

using cudaStream_t = struct CUstream_st*;

constexpr int warpSize = 32;

// The built-in indices of the emulated thread now running; the scheduler
// rewrites them at every switch (thread_local: launches on different OS
// threads do not see each other's).
inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

namespace cuda_emu {

// Thrown for misuse a GPU would punish with a hang or undefined behaviour:
// a barrier not reached by every thread, a warp collective whose mask names
// an exited lane, a launch configuration CUDA would refuse.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {

// Fiber switching. ucontext's swapcontext saves and restores the signal mask
// with a system call on every switch, which made the kernel, not the
// emulated kernels, the bottleneck. On x86-64 a switch is instead a dozen
// instructions (ember_emu_switch below); elsewhere, or with
// EMBER_EMU_UCONTEXT defined, ucontext remains the portable fallback.
#if defined(__x86_64__) && defined(__ELF__) && !defined(EMBER_EMU_UCONTEXT)
#define EMBER_EMU_ASM_SWITCH 1
#endif

#if defined(EMBER_EMU_ASM_SWITCH)
// Saves the callee-saved registers and the SSE/x87 control words on the
// current stack, stores the stack pointer in *save_sp, then restores the same
// from load_sp and returns there. It lives in a COMDAT group so that every
// translation unit including this header can define it.
extern "C" void ember_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .pushsection .text.ember_emu_switch,"axG",@progbits,ember_emu_switch,comdat
  .weak ember_emu_switch
  .hidden ember_emu_switch
  .type ember_emu_switch,@function
  .p2align 4
ember_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size ember_emu_switch, .-ember_emu_switch
  .popsection
)");

struct Context {
  void* sp = nullptr;
};

inline void switch_context(Context& from, Context& to) { ember_emu_switch(&from.sp, to.sp); }

// Lays out the frame ember_emu_switch would have saved, so that the first
// switch to `c` "returns" into entry with an ABI-aligned stack, zeroed
// callee-saved registers (a zero frame pointer ends backtraces there) and
// this thread's floating-point modes.
inline void start_context(Context& c, char* stack, size_t size, void (*entry)()) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + size) & ~uintptr_t(15);
  uint64_t* frame = reinterpret_cast<uint64_t*>(top) - 10;
  std::memset(frame, 0, 10 * sizeof(uint64_t));
  uint16_t fpu_control = 0;
  asm volatile("fnstcw %0" : "=m"(fpu_control));
  frame[0] = fpu_control;
  frame[1] = __builtin_ia32_stmxcsr();
  frame[8] = reinterpret_cast<uint64_t>(entry);
  frame[9] = 0;  // entry's return address: it never returns
  c.sp = frame;
}
#else
struct Context {
  ucontext_t uc;
};

inline void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

inline void start_context(Context& c, char* stack, size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
#endif

// Every fiber's stack. Kernels keep small arrays (register tiles, unrolled
// accumulators) and a few levels of device functions on it, but
// AddressSanitizer's redzones double a frame and device code may recurse, so
// the size is generous: pages are committed only when touched, so an unused
// margin costs address space only. A guard page below each stack turns an
// overflow into a fault instead of silent corruption of a neighbour.
constexpr size_t kStackBytes = 256 * 1024;
constexpr size_t kGuardBytes = 4096;

class Stack {
 public:
  Stack() {
    void* p = mmap(nullptr, kGuardBytes + kStackBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mapping_ = static_cast<char*>(p);
    mprotect(mapping_, kGuardBytes, PROT_NONE);
  }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  Stack(Stack&& other) noexcept : mapping_(std::exchange(other.mapping_, nullptr)) {}
  Stack& operator=(Stack&& other) noexcept {
    std::swap(mapping_, other.mapping_);
    return *this;
  }
  ~Stack() {
    if (mapping_) munmap(mapping_, kGuardBytes + kStackBytes);
  }
  char* bottom() const { return mapping_ + kGuardBytes; }
  static constexpr size_t size() { return kStackBytes; }

 private:
  char* mapping_ = nullptr;
};

enum class Wait { none, barrier, warp, done };
enum class Collective { sync, shfl, shfl_up, shfl_down, shfl_xor, ballot, any, all };

// Fibers and their stacks outlive a block: the next block, and the next
// launch on this OS thread, restart them on the same stacks.
struct Fiber {
  Context context;
  Stack stack;
  uint3 index;
  int linear = 0;
  Wait wait = Wait::done;
  Collective op = Collective::sync;
  unsigned mask = 0;
  uint64_t value = 0;  // the lane's operand (the predicate for votes)
  int arg = 0;         // source lane, delta or lane mask
  int width = warpSize;
  uint64_t result = 0;
#if defined(EMBER_EMU_ASAN)
  void* fake_stack = nullptr;
#endif
};

struct State {
  std::vector<Fiber> fibers;  // the first `threads` belong to the running block
  int threads = 0;
  std::vector<int> ready;
  std::vector<unsigned char> dynamic_shared;
  Context scheduler;
  Fiber* current = nullptr;
  void (*body)(void*) = nullptr;
  void* body_arg = nullptr;
  std::exception_ptr error;
  bool shuffle = false;
  bool shuffle_from_env = true;
  uint64_t seed = 0x5eed;
  std::mt19937_64 rng;
#if defined(EMBER_EMU_ASAN)
  void* fake_stack = nullptr;
  const void* scheduler_stack = nullptr;
  size_t scheduler_stack_size = 0;
#endif
};

inline State& state() {
  static thread_local State s;
  return s;
}

inline std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

inline void* dynamic_shared() { return state().dynamic_shared.data(); }

// Every kernel launched since the last take_launched(), for the coverage
// report (bench/gpu/coverage.py); guarded by launch_mutex().
inline std::set<const void*>& launched() {
  static std::set<const void*> kernels;
  return kernels;
}

inline void switch_to_scheduler() {
  State& s = state();
  Fiber& f = *s.current;
#if defined(EMBER_EMU_ASAN)
  __sanitizer_start_switch_fiber(&f.fake_stack, s.scheduler_stack, s.scheduler_stack_size);
#endif
  switch_context(f.context, s.scheduler);
#if defined(EMBER_EMU_ASAN)
  __sanitizer_finish_switch_fiber(f.fake_stack, nullptr, nullptr);
#endif
}

inline void fiber_entry() {
  State& s = state();
#if defined(EMBER_EMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &s.scheduler_stack, &s.scheduler_stack_size);
#endif
  try {
    s.body(s.body_arg);
  } catch (...) {
    if (!s.error) s.error = std::current_exception();
  }
  Fiber& f = *s.current;
  f.wait = Wait::done;
#if defined(EMBER_EMU_ASAN)
  __sanitizer_start_switch_fiber(nullptr, s.scheduler_stack, s.scheduler_stack_size);
#endif
  // The fiber's frames end here; the next block starts it afresh.
  switch_context(f.context, s.scheduler);
  std::abort();
}

inline void resume(Fiber& f) {
  State& s = state();
  s.current = &f;
  f.wait = Wait::none;
  threadIdx = f.index;
#if defined(EMBER_EMU_ASAN)
  __sanitizer_start_switch_fiber(&s.fake_stack, f.stack.bottom(), f.stack.size());
#endif
  switch_context(s.scheduler, f.context);
#if defined(EMBER_EMU_ASAN)
  __sanitizer_finish_switch_fiber(s.fake_stack, nullptr, nullptr);
#endif
  s.current = nullptr;
}

inline int lane_of(const Fiber& f) { return f.linear % warpSize; }

inline uint64_t shuffle_result(const Fiber& f, const Fiber* warp, int lanes) {
  int lane = lane_of(f);
  int segment = lane & ~(f.width - 1);
  int src = lane;
  switch (f.op) {
    case Collective::shfl: src = segment + (f.arg & (f.width - 1)); break;
    case Collective::shfl_up:
      src = lane - f.arg >= segment ? lane - f.arg : lane;
      break;
    case Collective::shfl_down:
      src = lane + f.arg < segment + f.width ? lane + f.arg : lane;
      break;
    case Collective::shfl_xor:
      src = lane ^ f.arg;
      if (src >= segment + f.width) src = lane;
      break;
    default: break;
  }
  // A lane outside the block or outside the mask has no defined value: the
  // caller keeps its own, as it would for an out-of-segment source.
  if (src >= lanes || !((f.mask >> src) & 1u)) return f.value;
  return warp[src].value;
}

// Completes the collective of the warp holding `f` when every lane its mask
// names has arrived; exited lanes named by the mask are an error.
inline bool try_resolve_warp(Fiber& f) {
  State& s = state();
  int base = f.linear - lane_of(f);
  int lanes = std::min<int>(warpSize, s.threads - base);
  Fiber* warp = &s.fibers[base];
  for (int l = 0; l < lanes; ++l) {
    if (!((f.mask >> l) & 1u)) continue;
    Fiber& other = warp[l];
    if (other.wait == Wait::done) {
      throw Error("warp collective: mask names lane " + std::to_string(l) + " of warp " +
                  std::to_string(base / warpSize) + ", which has already exited");
    }
    if (other.wait != Wait::warp) return false;
    if (other.mask != f.mask || other.op != f.op) {
      throw Error("warp collective: lanes of warp " + std::to_string(base / warpSize) +
                  " meet at different collectives or with different masks");
    }
  }
  uint32_t ballot = 0;
  unsigned participants = 0;
  for (int l = 0; l < lanes; ++l) {
    if (!((f.mask >> l) & 1u)) continue;
    ++participants;
    if (warp[l].value != 0) ballot |= 1u << l;
  }
  for (int l = 0; l < lanes; ++l) {
    if (!((f.mask >> l) & 1u)) continue;
    Fiber& other = warp[l];
    switch (other.op) {
      case Collective::sync: other.result = 0; break;
      case Collective::ballot: other.result = ballot; break;
      case Collective::any: other.result = ballot != 0; break;
      case Collective::all:
        other.result = unsigned(__builtin_popcount(ballot)) == participants;
        break;
      default: other.result = shuffle_result(other, warp, lanes); break;
    }
    other.wait = Wait::none;
  }
  return true;
}

// Fills s.ready with the runnable threads of the block, in thread order or,
// in shuffle mode, a fresh random order.
inline void collect_ready() {
  State& s = state();
  s.ready.clear();
  for (int t = 0; t < s.threads; ++t) {
    if (s.fibers[size_t(t)].wait == Wait::none) s.ready.push_back(t);
  }
  if (s.shuffle) std::shuffle(s.ready.begin(), s.ready.end(), s.rng);
}

inline void start_fiber(Fiber& f, int t) {
#if defined(EMBER_EMU_ASAN)
  // The last block's frames never returned (fiber_entry switches away, and a
  // block abandoned by an exception or a deadlock stops anywhere), so their
  // redzones are still poisoned; the new frames must not trip over them.
  __asan_unpoison_memory_region(f.stack.bottom(), f.stack.size());
  f.fake_stack = nullptr;
#endif
  f.linear = t;
  f.index.x = unsigned(t) % blockDim.x;
  f.index.y = unsigned(t) / blockDim.x % blockDim.y;
  f.index.z = unsigned(t) / (blockDim.x * blockDim.y);
  f.op = Collective::sync;
  f.mask = 0;
  f.value = 0;
  f.arg = 0;
  f.width = warpSize;
  f.result = 0;
  f.wait = Wait::none;
  start_context(f.context, f.stack.bottom(), f.stack.size(), fiber_entry);
}

inline void run_block(int threads) {
  State& s = state();
  if (s.fibers.size() < size_t(threads)) s.fibers.resize(size_t(threads));
  s.threads = threads;
  for (int t = 0; t < threads; ++t) start_fiber(s.fibers[size_t(t)], t);
  int live = threads;
  while (live > 0) {
    collect_ready();
    if (s.ready.empty()) {
      // Everyone left is blocked: release a barrier only all of them reached.
      for (int t = 0; t < threads; ++t) {
        if (s.fibers[size_t(t)].wait == Wait::warp) {
          throw Error("deadlock: some threads wait at __syncthreads while others wait at a "
                      "warp collective");
        }
      }
      for (int t = 0; t < threads; ++t) {
        Fiber& f = s.fibers[size_t(t)];
        if (f.wait == Wait::barrier) f.wait = Wait::none;
      }
      continue;
    }
    for (int t : s.ready) {
      Fiber& f = s.fibers[size_t(t)];
      if (f.wait != Wait::none) continue;
      resume(f);
      if (s.error) std::rethrow_exception(s.error);
      if (f.wait == Wait::warp) try_resolve_warp(f);
      if (f.wait == Wait::done) {
        --live;
        // A lane that exits may leave its warp-mates waiting on it for ever.
        int base = f.linear - lane_of(f);
        int lanes = std::min<int>(warpSize, threads - base);
        for (int l = 0; l < lanes; ++l) {
          Fiber& mate = s.fibers[size_t(base + l)];
          if (mate.wait == Wait::warp) try_resolve_warp(mate);
        }
      }
    }
  }
}

inline Fiber& current() {
  Fiber* f = state().current;
  if (!f) throw Error("a device function was called outside a kernel launch");
  return *f;
}

inline uint64_t warp_collective(Collective op, unsigned mask, uint64_t value, int arg, int width) {
  Fiber& f = current();
  if (!((mask >> lane_of(f)) & 1u)) {
    throw Error("warp collective: the calling lane " + std::to_string(lane_of(f)) +
                " is not in its own mask");
  }
  if (width <= 0 || width > warpSize || (width & (width - 1)) != 0) {
    throw Error("warp shuffle: width " + std::to_string(width) +
                " is not a power of two in [1, 32]");
  }
  f.op = op;
  f.mask = mask;
  f.value = value;
  f.arg = arg;
  f.width = width;
  f.wait = Wait::warp;
  switch_to_scheduler();
  return f.result;
}

template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                "warp shuffles move values of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}

template <typename T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

template <typename T>
T shuffle(Collective op, unsigned mask, T var, int arg, int width) {
  return from_bits<T>(warp_collective(op, mask, to_bits(var), arg, width));
}

inline bool env_shuffle() {
  const char* v = std::getenv("EMBER_EMU_SHUFFLE");
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace detail

// Shuffle mode on or off for launches from this OS thread; `seed` makes the
// orders reproducible. Without a call, EMBER_EMU_SHUFFLE=1 turns it on.
inline void set_shuffle(bool on, uint64_t seed = 0x5eed) {
  detail::State& s = detail::state();
  s.shuffle = on;
  s.shuffle_from_env = false;
  s.seed = seed;
  s.rng.seed(seed);
}

inline bool shuffle_enabled() {
  detail::State& s = detail::state();
  return s.shuffle_from_env ? detail::env_shuffle() : s.shuffle;
}

constexpr size_t kMaxSharedBytes = 48 * 1024;

// The kernels launched since the last call, and forgets them.
inline std::set<const void*> take_launched() {
  std::lock_guard<std::mutex> lock(detail::launch_mutex());
  return std::exchange(detail::launched(), {});
}

// Runs kernel<<<grid, block, shared_bytes>>>(args...) to completion on the
// calling thread (every launch is synchronous; the stream is ignored).
template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch: wrong number of kernel arguments");
  (void)stream;
  unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64) {
    throw Error("launch: invalid block (" + std::to_string(block.x) + ", " +
                std::to_string(block.y) + ", " + std::to_string(block.z) + ")");
  }
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    throw Error("launch: invalid grid (" + std::to_string(grid.x) + ", " +
                std::to_string(grid.y) + ", " + std::to_string(grid.z) + ")");
  }
  if (shared_bytes > kMaxSharedBytes) {
    throw Error("launch: " + std::to_string(shared_bytes) +
                " bytes of dynamic shared memory exceed the default 48 KiB");
  }
  std::lock_guard<std::mutex> lock(detail::launch_mutex());
  detail::launched().insert(reinterpret_cast<const void*>(kernel));
  detail::State& s = detail::state();
  bool shuffle = shuffle_enabled();
  if (s.shuffle_from_env) {
    s.shuffle = shuffle;
  }
  std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  auto body = [](void* p) {
    auto& call = *static_cast<std::pair<void (*)(Params...), decltype(params)*>*>(p);
    std::apply(call.first, *call.second);
  };
  std::pair<void (*)(Params...), decltype(params)*> call(kernel, &params);
  s.body = body;
  s.body_arg = &call;
  s.error = nullptr;
  gridDim = grid;
  blockDim = block;
  for (unsigned z = 0; z < grid.z; ++z) {
    for (unsigned y = 0; y < grid.y; ++y) {
      for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx = uint3{x, y, z};
        // Fresh shared memory of a real block holds garbage, not the last
        // block's values: poison it so reads before writes stand out.
        s.dynamic_shared.assign(shared_bytes + 16, 0xff);
        detail::run_block(int(threads));
      }
    }
  }
}

}  // namespace cuda_emu

// --- device functions ------------------------------------------------------

inline void __syncthreads() {
  cuda_emu::detail::Fiber& f = cuda_emu::detail::current();
  f.wait = cuda_emu::detail::Wait::barrier;
  cuda_emu::detail::switch_to_scheduler();
}

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  cuda_emu::detail::warp_collective(cuda_emu::detail::Collective::sync, mask, 0, 0, warpSize);
}

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  return cuda_emu::detail::shuffle(cuda_emu::detail::Collective::shfl, mask, var, src_lane, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return cuda_emu::detail::shuffle(cuda_emu::detail::Collective::shfl_up, mask, var, int(delta),
                                   width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return cuda_emu::detail::shuffle(cuda_emu::detail::Collective::shfl_down, mask, var,
                                   int(delta), width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  return cuda_emu::detail::shuffle(cuda_emu::detail::Collective::shfl_xor, mask, var, lane_mask,
                                   width);
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return unsigned(cuda_emu::detail::warp_collective(cuda_emu::detail::Collective::ballot, mask,
                                                    predicate != 0, 0, warpSize));
}
inline int __any_sync(unsigned mask, int predicate) {
  return int(cuda_emu::detail::warp_collective(cuda_emu::detail::Collective::any, mask,
                                               predicate != 0, 0, warpSize));
}
inline int __all_sync(unsigned mask, int predicate) {
  return int(cuda_emu::detail::warp_collective(cuda_emu::detail::Collective::all, mask,
                                               predicate != 0, 0, warpSize));
}

// Fibers never switch inside these, so a plain read-modify-write is atomic.
inline int atomicAdd(int* p, int v) { int old = *p; *p = old + v; return old; }
inline unsigned atomicAdd(unsigned* p, unsigned v) { unsigned old = *p; *p = old + v; return old; }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  unsigned long long old = *p;
  *p = old + v;
  return old;
}
inline float atomicAdd(float* p, float v) { float old = *p; *p = old + v; return old; }
inline double atomicAdd(double* p, double v) { double old = *p; *p = old + v; return old; }

template <typename T>
T emu_atomic_max(T* p, T v) {
  T old = *p;
  *p = old < v ? v : old;
  return old;
}
template <typename T>
T emu_atomic_min(T* p, T v) {
  T old = *p;
  *p = v < old ? v : old;
  return old;
}
inline int atomicMax(int* p, int v) { return emu_atomic_max(p, v); }
inline unsigned atomicMax(unsigned* p, unsigned v) { return emu_atomic_max(p, v); }
inline long long atomicMax(long long* p, long long v) { return emu_atomic_max(p, v); }
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) {
  return emu_atomic_max(p, v);
}
inline int atomicMin(int* p, int v) { return emu_atomic_min(p, v); }
inline unsigned atomicMin(unsigned* p, unsigned v) { return emu_atomic_min(p, v); }
inline long long atomicMin(long long* p, long long v) { return emu_atomic_min(p, v); }
inline unsigned long long atomicMin(unsigned long long* p, unsigned long long v) {
  return emu_atomic_min(p, v);
}

template <typename T>
T emu_atomic_cas(T* p, T compare, T v) {
  T old = *p;
  if (old == compare) *p = v;
  return old;
}
inline int atomicCAS(int* p, int compare, int v) { return emu_atomic_cas(p, compare, v); }
inline unsigned atomicCAS(unsigned* p, unsigned compare, unsigned v) {
  return emu_atomic_cas(p, compare, v);
}
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long compare,
                                    unsigned long long v) {
  return emu_atomic_cas(p, compare, v);
}

template <typename T>
T emu_atomic_exch(T* p, T v) {
  T old = *p;
  *p = v;
  return old;
}
inline int atomicExch(int* p, int v) { return emu_atomic_exch(p, v); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return emu_atomic_exch(p, v); }
inline unsigned long long atomicExch(unsigned long long* p, unsigned long long v) {
  return emu_atomic_exch(p, v);
}
inline float atomicExch(float* p, float v) { return emu_atomic_exch(p, v); }

template <typename T>
T __ldg(const T* p) {
  return *p;
}

// --- index additions ---
inline int __popc(unsigned v) { return __builtin_popcount(v); }
