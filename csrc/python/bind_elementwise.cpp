// Bindings: elementwise ops.
#include "ops/elementwise.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_elementwise(py::module_& m) {
  py::enum_<BinaryOp>(m, "BinaryOp")
      .value("add", BinaryOp::add)
      .value("sub", BinaryOp::sub)
      .value("mul", BinaryOp::mul)
      .value("div", BinaryOp::div)
      .value("floor_divide", BinaryOp::floor_divide)
      .value("remainder", BinaryOp::remainder)
      .value("pow", BinaryOp::pow)
      .value("maximum", BinaryOp::maximum)
      .value("minimum", BinaryOp::minimum);
  py::enum_<CompareOp>(m, "CompareOp")
      .value("eq", CompareOp::eq)
      .value("ne", CompareOp::ne)
      .value("lt", CompareOp::lt)
      .value("le", CompareOp::le)
      .value("gt", CompareOp::gt)
      .value("ge", CompareOp::ge)
      .value("logical_and", CompareOp::logical_and)
      .value("logical_or", CompareOp::logical_or)
      .value("logical_xor", CompareOp::logical_xor);
  py::enum_<UnaryOp>(m, "UnaryOp")
      .value("abs", UnaryOp::abs)
      .value("sign", UnaryOp::sign)
      .value("exp", UnaryOp::exp)
      .value("log", UnaryOp::log)
      .value("log1p", UnaryOp::log1p)
      .value("expm1", UnaryOp::expm1)
      .value("sqrt", UnaryOp::sqrt)
      .value("rsqrt", UnaryOp::rsqrt)
      .value("sin", UnaryOp::sin)
      .value("cos", UnaryOp::cos)
      .value("tanh", UnaryOp::tanh)
      .value("sigmoid", UnaryOp::sigmoid)
      .value("reciprocal", UnaryOp::reciprocal)
      .value("square", UnaryOp::square)
      .value("neg", UnaryOp::neg)
      .value("floor", UnaryOp::floor)
      .value("ceil", UnaryOp::ceil)
      .value("round", UnaryOp::round)
      .value("trunc", UnaryOp::trunc)
      .value("relu", UnaryOp::relu)
      .value("silu", UnaryOp::silu)
      .value("gelu", UnaryOp::gelu)
      .value("gelu_tanh", UnaryOp::gelu_tanh)
      .value("leaky_relu", UnaryOp::leaky_relu)
      .value("elu", UnaryOp::elu)
      .value("softplus", UnaryOp::softplus)
      .value("logical_not", UnaryOp::logical_not)
      .value("bitwise_not", UnaryOp::bitwise_not);
  m.def("scalar_tensor", &scalar_tensor);
  m.def("binary", &binary);
  m.def("binary_", &binary_);
  m.def("compare", &compare);
  m.def("where", &where);
  m.def("unary", &unary, py::arg("op"), py::arg("x"), py::arg("alpha") = 0.0,
        py::arg("beta") = 0.0);
  m.def("unary_", &unary_, py::arg("op"), py::arg("x"), py::arg("alpha") = 0.0,
        py::arg("beta") = 0.0);
  m.def("activation_backward", &activation_backward, py::arg("op"), py::arg("grad"),
        py::arg("x"), py::arg("alpha") = 0.0, py::arg("beta") = 0.0);
  m.def("clamp", &clamp, py::arg("x"), py::arg("min") = py::none(), py::arg("max") = py::none());
  m.def("clamp_", &clamp_, py::arg("x"), py::arg("min") = py::none(),
        py::arg("max") = py::none());
}

}  // namespace python
}  // namespace ember
