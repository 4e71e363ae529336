// Errors: EMBER_CHECK and friends throw ember::Error, which the Python module
// maps to the matching Python exception. A library never aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

// Which Python exception an Error becomes.
enum class ErrorKind { runtime, value, type, index, memory, not_implemented };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  explicit Error(const std::string& what) : Error(ErrorKind::runtime, what) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  append(os, args...);
  return os.str();
}
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, "op: ", details...) -> ValueError in Python (bad arguments).
#define EMBER_CHECK(cond, ...)                                                              \
  do {                                                                                      \
    if (!(cond)) throw ::ember::Error(::ember::ErrorKind::value, ::ember::detail::concat(__VA_ARGS__)); \
  } while (0)

// Same, with an explicit kind: EMBER_CHECK_KIND(index, i < n, "select: index ", i, ...).
#define EMBER_CHECK_KIND(kind, cond, ...)                                                   \
  do {                                                                                      \
    if (!(cond)) throw ::ember::Error(::ember::ErrorKind::kind, ::ember::detail::concat(__VA_ARGS__)); \
  } while (0)

#define EMBER_FAIL(kind, ...) \
  throw ::ember::Error(::ember::ErrorKind::kind, ::ember::detail::concat(__VA_ARGS__))
