// attend._attend: the C++ library in Python. python/attend/__init__.py re-exports it.
#include <string>

#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "attend/core/error.h"
#include "attend/core/parallel.h"
#include "attend/core/version.h"
#include "attend/io/atomic_file.h"
#include "attend/io/safetensors.h"
#include "attend/ops/matmul.h"
#include "attend/gguf/gguf_file.h"
#include "bindings.h"

namespace attend::python {

// attend::ShapeError and io::FormatError (and gguf::FormatError) arrive as attend.ShapeError and attend.FormatError
// (subclasses of Python's ValueError), attend::ValueError as ValueError itself (a class named
// ValueError in the package would shadow the built-in one after `from attend import *`), io
// errors as OSError; the message is the C++ one.
void bind_errors(nanobind::module_& m) {
  static nanobind::exception<ShapeError> shape_error(m, "ShapeError", PyExc_ValueError);
  static nanobind::exception<io::FormatError> format_error(m, "FormatError", PyExc_ValueError);
  // One translator, most derived first (a later-registered translator runs before earlier ones).
  nanobind::register_exception_translator([](const std::exception_ptr& error, void*) {
    try {
      std::rethrow_exception(error);
    } catch (const ShapeError& e) {
      PyErr_SetString(shape_error.ptr(), e.what());
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const io::FormatError& e) {
      PyErr_SetString(format_error.ptr(), e.what());
    } catch (const gguf::FormatError& e) {  // a GGUF file's problems are FormatErrors too
      PyErr_SetString(format_error.ptr(), e.what());
    } catch (const io::IoError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    } catch (const Error& e) {  // AutogradError and any other attend error
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
}

void bind_runtime(nanobind::module_& m) {
  using namespace nanobind::literals;
  m.def("version", &version, "attend's version (CMakeLists.txt's project()).");
  m.def("build_options", &build_options, "How this build of the library was made.");
  m.def("blas_description", &blas_description, "The BLAS and its kernels.");
  m.def("num_threads", &num_threads, "Worker threads attend uses.");
  m.def(
      "set_num_threads",
      [](int threads) {
        ATTEND_CHECK(threads >= 1, ValueError, "set_num_threads takes at least 1 thread, got {}", threads);
        set_num_threads(threads);
      },
      "threads"_a, "Worker threads for what follows; results are bitwise the same for any count.");
}

}  // namespace attend::python

NB_MODULE(_attend, m) {
  m.doc() = "attend: attention mechanisms, exact and differentiable (C++20), from Python";
  // At import, holding the GIL: the BLAS's one-time setup touches the environment (ops/matmul.h).
  attend::initialize_blas();
  attend::python::bind_errors(m);
  attend::python::bind_runtime(m);
  attend::python::bind_attention(m);
  attend::python::bind_scores(m);
  attend::python::bind_modules(m);
  attend::python::bind_text(m);
  attend::python::bind_io(m);
  attend::python::bind_decoder(m);
}
