// Errors thrown at the public API. Every message names the operation and, where shapes are
// involved, the offending shapes, so that a user can fix the call without reading our source.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace attend {

// Base of every exception attend throws on bad input.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Shapes that do not fit together (matmul inner sizes, broadcasting, concat).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A value outside its domain (axis out of range, probability not in [0, 1), index too large).
class ValueError : public Error {
 public:
  using Error::Error;
};

// Misuse of autograd (backward on a tensor without a graph, through a freed graph).
class AutogradError : public Error {
 public:
  using Error::Error;
};

template <typename E = ValueError, typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw E(fmt::format(format, std::forward<Args>(args)...));
}

// Checks a condition at the public API; `message` is only formatted on failure.
#define ATTEND_CHECK(condition, ExceptionType, ...)               \
  do {                                                            \
    if (!(condition)) ::attend::fail<ExceptionType>(__VA_ARGS__); \
  } while (0)

}  // namespace attend
