// Bindings: creation ops and the random generator.
#include "core/random.h"
#include "ops/creation.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_creation(py::module_& m) {
  m.def("empty", &Tensor::empty);
  m.def("full", &Tensor::full);
  m.def("zeros", &Tensor::zeros);
  m.def("ones", &Tensor::ones);
  m.def("arange", &arange);
  m.def("linspace", &linspace);
  m.def("eye", &eye);
  m.def("rand", &rand);
  m.def("randn", &randn);
  m.def("randint", &randint);
  m.def("uniform_", &uniform_);
  m.def("normal_", &normal_);
  m.def("bernoulli_", &bernoulli_);
  m.def("manual_seed", &manual_seed);
  m.def("initial_seed", [] { return default_generator().seed(); });
}

}  // namespace python
}  // namespace ember
