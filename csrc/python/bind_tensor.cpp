// Bindings: DType, Device, the C++ Tensor (metadata, views, copies) and
// zero-copy exchange with numpy.
#include <array>

#include "python/bind.h"

namespace ember {
namespace python {

namespace {

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::float32: return py::dtype::of<float>();
    case DType::float64: return py::dtype::of<double>();
    case DType::int64: return py::dtype::of<int64_t>();
    case DType::int32: return py::dtype::of<int32_t>();
    case DType::bool_: return py::dtype::of<bool>();
    case DType::float16: return py::dtype("float16");
    case DType::bfloat16:
      EMBER_FAIL(type, "numpy: numpy has no bfloat16 type; convert with .float() first");
  }
  return py::dtype::of<float>();
}

DType dtype_from_numpy(const py::dtype& dt) {
  if (dt.is(py::dtype::of<float>()) || dt.equal(py::dtype::of<float>())) return DType::float32;
  if (dt.equal(py::dtype::of<double>())) return DType::float64;
  if (dt.equal(py::dtype::of<int64_t>())) return DType::int64;
  if (dt.equal(py::dtype::of<int32_t>())) return DType::int32;
  if (dt.equal(py::dtype::of<bool>())) return DType::bool_;
  if (dt.equal(py::dtype("float16"))) return DType::float16;
  EMBER_FAIL(type, "from_numpy: numpy dtype ", std::string(py::str(dt)),
             " is not supported (float32, float64, float16, int64, int32, bool)");
}

// A numpy array viewing the tensor's memory; the array keeps the tensor alive.
py::array to_numpy(const Tensor& t) {
  EMBER_CHECK_KIND(type, t.device().is_cpu(), "numpy: can't convert a tensor on ",
                   t.device().str(), " to numpy; call .cpu() first");
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  std::vector<py::ssize_t> strides;
  for (int64_t s : t.strides()) strides.push_back(s * py::ssize_t(t.element_size()));
  auto* keep = new Tensor(t);
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.raw_data(), owner);
}

// A tensor viewing the array's memory (the tensor keeps the array alive), or
// a copy when numpy's layout can't be expressed (negative strides).
Tensor from_numpy(py::array array) {
  DType dtype = dtype_from_numpy(array.dtype());
  Shape shape(array.shape(), array.shape() + array.ndim());
  Shape strides;
  bool viewable = true;
  for (py::ssize_t i = 0; i < array.ndim(); ++i) {
    py::ssize_t s = array.strides()[i];
    if (s < 0 || s % array.itemsize() != 0) viewable = false;
    strides.push_back(s / array.itemsize());
  }
  if (!viewable) array = py::array::ensure(array, py::array::c_style | py::array::forcecast);
  if (!viewable) strides = contiguous_strides(shape);
  auto* handle = new py::object(array);
  std::shared_ptr<void> owner(handle, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  return Tensor::from_blob(array.mutable_data(), shape, strides, dtype, std::move(owner));
}

py::object scalar_to_python(const Scalar& s) {
  switch (s.kind()) {
    case DType::float64: return py::float_(s.to<double>());
    case DType::bool_: return py::bool_(s.to<bool>());
    default: return py::int_(s.to<int64_t>());
  }
}

}  // namespace

// One Python object per dtype, the enum's own members (as PyTorch's dtypes
// are singletons): `.dtype` is read on every recorded op, and a fresh enum
// instance per read is an allocation. Leaked on purpose: the objects must
// outlive the interpreter's teardown.
std::array<py::object, 8>* dtype_objects = nullptr;

py::object dtype_object(DType d) { return (*dtype_objects)[static_cast<size_t>(d)]; }

// A shape or strides as a tuple of ints, built directly (not via a list).
py::tuple int_tuple(const Shape& values) {
  py::tuple out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    PyTuple_SET_ITEM(out.ptr(), i, py::int_(values[i]).release().ptr());
  }
  return out;
}

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "DType")
      .value("float32", DType::float32)
      .value("float64", DType::float64)
      .value("int64", DType::int64)
      .value("int32", DType::int32)
      .value("bool", DType::bool_)
      .value("float16", DType::float16)
      .value("bfloat16", DType::bfloat16)
      .def("__repr__", [](DType d) { return std::string("ember.") + dtype_name(d); })
      .def("__str__", [](DType d) { return std::string("ember.") + dtype_name(d); })
      .def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); })
      .def_property_readonly("itemsize", [](DType d) { return dtype_size(d); });
  static_assert(static_cast<size_t>(DType::bfloat16) < 8, "one slot per dtype");
  dtype_objects = new std::array<py::object, 8>();
  for (DType d : {DType::float32, DType::float64, DType::int64, DType::int32, DType::bool_,
                  DType::float16, DType::bfloat16}) {
    (*dtype_objects)[static_cast<size_t>(d)] = m.attr("DType").attr(dtype_name(d));
  }
  m.def("promote_types", &promote_types);

  py::class_<Device>(m, "Device")
      .def(py::init<const std::string&>())
      .def(py::init([](const std::string& type, int index) {
        return Device(type + ":" + std::to_string(index));
      }))
      .def_property_readonly("type", [](const Device& d) { return d.is_cpu() ? "cpu" : "cuda"; })
      .def_property_readonly("index", [](const Device& d) -> py::object {
        if (d.is_cpu()) return py::none();
        return py::int_(d.index);
      })
      .def("__eq__", [](const Device& a, const py::object& b) {
        return py::isinstance<Device>(b) && a == b.cast<Device>();
      })
      .def("__hash__", [](const Device& d) { return std::hash<std::string>()(d.str()); })
      .def("__str__", &Device::str)
      .def("__repr__", [](const Device& d) { return "device(type='" + std::string(d.is_cpu() ? "cpu" : "cuda") +
                                                    (d.is_cpu() ? "'" : "', index=" + std::to_string(d.index)) + ")"; });

  py::class_<Tensor>(m, "Tensor")
      // One call where autograd asks it of every output (t.dtype.is_floating_point is two).
      .def_property_readonly("is_floating_point",
                             [](const Tensor& t) { return is_floating(t.dtype()); })
      .def_property_readonly("shape", [](const Tensor& t) { return int_tuple(t.shape()); })
      .def_property_readonly("strides", [](const Tensor& t) { return int_tuple(t.strides()); })
      .def_property_readonly("dtype", [](const Tensor& t) { return dtype_object(t.dtype()); })
      .def_property_readonly("device", &Tensor::device)
      .def_property_readonly("ndim", &Tensor::dim)
      .def_property_readonly("offset", &Tensor::offset)
      .def_property_readonly("version", &Tensor::version)
      .def_property_readonly("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def_property_readonly("storage_ptr", [](const Tensor& t) {
        return reinterpret_cast<uintptr_t>(t.storage()->data());
      })
      .def("numel", &Tensor::numel)
      .def("element_size", &Tensor::element_size)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("bump_version", &Tensor::bump_version)
      .def("__repr__", &Tensor::str)
      .def("as_strided", &Tensor::as_strided)
      .def("view", &Tensor::view)
      .def("reshape", &Tensor::reshape)
      .def("permute", &Tensor::permute)
      .def("transpose", &Tensor::transpose)
      .def("t", &Tensor::t)
      .def("slice", &Tensor::slice, py::arg("dim"), py::arg("start"), py::arg("end"), py::arg("step") = 1)
      .def("narrow", &Tensor::narrow)
      .def("select", &Tensor::select)
      .def("expand", &Tensor::expand)
      .def("squeeze", py::overload_cast<>(&Tensor::squeeze, py::const_))
      .def("squeeze", py::overload_cast<int64_t>(&Tensor::squeeze, py::const_))
      .def("unsqueeze", &Tensor::unsqueeze)
      .def("flatten", &Tensor::flatten, py::arg("start_dim") = 0, py::arg("end_dim") = -1)
      .def("diagonal", &Tensor::diagonal, py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1)
      .def("contiguous", &Tensor::contiguous)
      .def("clone", &Tensor::clone)
      .def("to", py::overload_cast<DType>(&Tensor::to, py::const_))
      .def("to", py::overload_cast<Device, bool>(&Tensor::to, py::const_), py::arg("device"),
           py::arg("non_blocking") = false)
      .def("pin_memory", &Tensor::pin_memory)
      .def("is_pinned", &Tensor::is_pinned)
      .def("copy_", &Tensor::copy_, py::return_value_policy::reference)
      .def("fill_", [](Tensor& t, Scalar v) { t.fill_(v); })
      .def("item", [](const Tensor& t) { return scalar_to_python(t.item()); })
      .def("numpy", &to_numpy);

  m.def("from_numpy", &from_numpy);
  m.def("shares_memory", [](const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); });
  m.def("broadcast_shapes", [](const Shape& a, const Shape& b) {
    return broadcast_shapes(a, b, "broadcast_shapes");
  });
}

}  // namespace python
}  // namespace ember
