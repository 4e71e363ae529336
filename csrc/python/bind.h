// One bind_<family> function per op family, each in its own bind_<family>.cpp,
// all called from module.cpp. Bindings hold no logic.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/tensor.h"

namespace pybind11 {
namespace detail {
// Shapes and strides cross as lists of ints, like std::vector.
template <typename T, size_t N>
struct type_caster<ember::SmallVector<T, N>> : list_caster<ember::SmallVector<T, N>, T> {};

// Python int/float/bool -> Scalar, keeping int64 precision.
template <>
struct type_caster<ember::Scalar> {
  PYBIND11_TYPE_CASTER(ember::Scalar, const_name("number"));
  bool load(handle src, bool) {
    if (PyBool_Check(src.ptr())) {
      value = ember::Scalar(src.ptr() == Py_True);
      return true;
    }
    if (PyLong_Check(src.ptr())) {
      int overflow = 0;
      long long v = PyLong_AsLongLongAndOverflow(src.ptr(), &overflow);
      if (overflow) return false;
      value = ember::Scalar(int64_t(v));
      return true;
    }
    if (PyFloat_Check(src.ptr())) {
      value = ember::Scalar(PyFloat_AsDouble(src.ptr()));
      return true;
    }
    return false;
  }
  static handle cast(const ember::Scalar& s, return_value_policy, handle) {
    if (s.is_floating()) return PyFloat_FromDouble(s.to<double>());
    if (s.kind() == ember::DType::bool_) return PyBool_FromLong(s.to<bool>());
    return PyLong_FromLongLong(s.to<int64_t>());
  }
};
}  // namespace detail
}  // namespace pybind11


namespace ember {
namespace python {

namespace py = pybind11;

void bind_tensor(py::module_& m);
void bind_autograd(py::module_& m);
void bind_creation(py::module_& m);
void bind_runtime(py::module_& m);
void bind_elementwise(py::module_& m);
void bind_reduce(py::module_& m);
void bind_linalg(py::module_& m);
void bind_conv(py::module_& m);
void bind_index(py::module_& m);
void bind_nn(py::module_& m);
void bind_optim(py::module_& m);

// Shared by the bindings and the autograd objects.
void set_python_error(const Error& e);         // the Python exception for an ember::Error
py::object dtype_object(DType d);              // the _C.DType member
py::tuple int_tuple(const Shape& values);      // a shape or strides as a tuple

}  // namespace python
}  // namespace ember
