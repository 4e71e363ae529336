// Bindings: threads, CPU memory statistics, and the CUDA runtime queries.
#include "core/allocator.h"
#include "core/parallel.h"
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
  c.def("device_count", &cuda::device_count);
  c.def("current_device", &cuda::current_device);
  c.def("set_device", &cuda::set_device);
  c.def("synchronize", &cuda::synchronize);
  c.def("device_name", &cuda::device_name);
}

}  // namespace python
}  // namespace ember
