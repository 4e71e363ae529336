// Bindings: threads, CPU memory statistics, and the CUDA runtime: device
// queries, the caching allocator's statistics, streams and events.
#include "core/allocator.h"
#include "core/parallel.h"
#include "cpu/peak.h"
#include "cuda/kernels.h"
#include "cuda/runtime.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_runtime(py::module_& m) {
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads);
  m.def("cpu_memory_stats", [] {
    MemoryStats s = cpu_memory_stats();
    py::dict d;
    d["allocated_bytes"] = s.allocated;
    d["peak_allocated_bytes"] = s.peak_allocated;
    d["reserved_bytes"] = s.reserved;
    d["num_allocs"] = s.num_allocs;
    d["num_os_allocs"] = s.num_os_allocs;
    return d;
  });
  m.def("cpu_empty_cache", &cpu_empty_cache);
  m.def("cpu_reset_peak_memory_stats", &cpu_reset_peak_memory_stats);

  py::module_ c = m.def_submodule("cuda", "CUDA runtime queries");
  c.def("is_built", &cuda::is_built);
  c.def("is_emulated", &cuda::is_emulated);
  c.def("device_count", &cuda::device_count);
  c.def("current_device", &cuda::current_device);
  c.def("set_device", &cuda::set_device);
  c.def("synchronize", &cuda::synchronize);
  c.def("device_name", &cuda::device_name);
  c.def("device_properties", [](int index) {
    cuda::DeviceProperties p = cuda::device_properties(index);
    py::dict d;
    d["name"] = p.name;
    d["total_memory"] = p.total_memory;
    d["major"] = p.major;
    d["minor"] = p.minor;
    d["multi_processor_count"] = p.multi_processor_count;
    d["max_threads_per_block"] = p.max_threads_per_block;
    d["max_threads_per_multiprocessor"] = p.max_threads_per_multiprocessor;
    d["shared_memory_per_block"] = p.shared_memory_per_block;
    d["shared_memory_per_multiprocessor"] = p.shared_memory_per_multiprocessor;
    d["regs_per_multiprocessor"] = p.regs_per_multiprocessor;
    d["warp_size"] = p.warp_size;
    d["l2_cache_size"] = p.l2_cache_size;
    d["clock_rate_khz"] = p.clock_rate_khz;
    d["memory_clock_rate_khz"] = p.memory_clock_rate_khz;
    d["memory_bus_width"] = p.memory_bus_width;
    return d;
  });

  c.def("memory_stats", [](int device) {
    BlockAllocatorStats s = cuda::memory_stats(device);
    py::dict d;
    d["allocated_bytes"] = s.allocated;
    d["peak_allocated_bytes"] = s.peak_allocated;
    d["reserved_bytes"] = s.reserved;
    d["peak_reserved_bytes"] = s.peak_reserved;
    d["requested_bytes"] = s.requested;
    d["num_allocs"] = s.num_allocs;
    d["num_frees"] = s.num_frees;
    d["num_segments"] = s.num_segments;
    d["num_device_allocs"] = s.num_backend_allocs;
    d["num_device_frees"] = s.num_backend_frees;
    d["num_ooms"] = s.num_ooms;
    d["cached_blocks"] = s.cached_blocks;
    return d;
  });
  c.def("reset_peak_memory_stats", &cuda::reset_peak_memory_stats);
  c.def("matmul_allow_tf32", [] { return cuda::matmul_allow_tf32(); });
  c.def("set_matmul_allow_tf32", [](bool allow) { cuda::set_matmul_allow_tf32(allow); });
  c.def("empty_cache", &cuda::empty_cache);

  // Streams and events cross as integer handles (cudaStream_t / cudaEvent_t).
  auto handle = [](void* p) { return reinterpret_cast<uintptr_t>(p); };
  auto pointer = [](uintptr_t h) { return reinterpret_cast<void*>(h); };
  c.def("current_stream", [=] { return handle(cuda::current_stream_handle()); });
  c.def("set_current_stream", [=](uintptr_t s, int device) {
    cuda::set_current_stream(pointer(s), device);
  });
  c.def("stream_create", [=](int device, int priority) {
    return handle(cuda::stream_create(device, priority));
  });
  c.def("stream_destroy", [=](uintptr_t s) { cuda::stream_destroy(pointer(s)); });
  c.def("stream_synchronize", [=](uintptr_t s) {
    py::gil_scoped_release release;
    cuda::stream_synchronize(pointer(s));
  });
  c.def("stream_query", [=](uintptr_t s) { return cuda::stream_query(pointer(s)); });
  c.def("stream_wait_event", [=](uintptr_t s, uintptr_t e) {
    cuda::stream_wait_event(pointer(s), pointer(e));
  });
  c.def("event_create", [=](bool timing) { return handle(cuda::event_create(timing)); });
  c.def("event_destroy", [=](uintptr_t e) { cuda::event_destroy(pointer(e)); });
  c.def("event_record", [=](uintptr_t e, uintptr_t s) {
    cuda::event_record(pointer(e), pointer(s));
  });
  c.def("event_synchronize", [=](uintptr_t e) {
    py::gil_scoped_release release;
    cuda::event_synchronize(pointer(e));
  });
  c.def("event_query", [=](uintptr_t e) { return cuda::event_query(pointer(e)); });
  c.def("event_elapsed_ms", [=](uintptr_t a, uintptr_t b) {
    return cuda::event_elapsed_ms(pointer(a), pointer(b));
  });

  // The measured FP32 FMA ceiling (GFLOP/s) that the benchmarks read their
  // compute figures against; the GIL is released so the probe threads run
  // unhindered.
  m.def("cpu_fma_peak", [](int threads, double seconds) {
    py::gil_scoped_release release;
    return cpu::fma_peak_gflops(threads, seconds);
  }, py::arg("threads") = 1, py::arg("seconds") = 0.2);
}

}  // namespace python
}  // namespace ember
