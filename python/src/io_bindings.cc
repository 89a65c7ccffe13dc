// safetensors files: load into a dict of NumPy arrays (and the metadata), save from one.
#include <map>
#include <string>
#include <variant>

#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include "arrays.h"
#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "bindings.h"

namespace attend::python {
namespace {

// (tensors: {name: array} in the file's order, metadata: {key: value}).
nb::tuple load(const std::string& path) {
  io::SafetensorsFile file = [&] {
    nb::gil_scoped_release unlocked;
    return io::load_safetensors(path);
  }();
  nb::dict tensors;
  for (const auto& [name, tensor] : file.tensors()) {
    tensors[name.c_str()] = std::visit([](const auto& t) { return nb::cast(to_numpy(t)); }, tensor);
  }
  return nb::make_tuple(tensors, nb::cast(file.metadata()));
}

// A NumPy array of float32, float64, int64 or uint8 (bool stored as uint8) as a tensor.
io::AnyTensor any_tensor(const std::string& name, nb::handle value) {
  if (nb::ndarray<const float, nb::device::cpu> a; nb::try_cast(value, a, false)) return to_tensor<float>(a);
  if (nb::ndarray<const double, nb::device::cpu> a; nb::try_cast(value, a, false)) return to_tensor<double>(a);
  if (nb::ndarray<const int64_t, nb::device::cpu> a; nb::try_cast(value, a, false)) return to_tensor<int64_t>(a);
  if (nb::ndarray<const uint8_t, nb::device::cpu> a; nb::try_cast(value, a, false)) return to_tensor<uint8_t>(a);
  if (nb::ndarray<const bool, nb::device::cpu> a; nb::try_cast(value, a, false)) {
    return to_mask(AnyArray(a), name);
  }
  fail("tensor '{}' must be a float32, float64, int64, uint8 or bool array", name);
}

void save(const std::string& path, const nb::dict& tensors, const std::map<std::string, std::string>& metadata,
          bool overwrite) {
  io::NamedTensors named;
  for (const auto& [key, value] : tensors) {
    const std::string name = nb::cast<std::string>(key);
    named.emplace_back(name, any_tensor(name, value));
  }
  nb::gil_scoped_release unlocked;
  io::save_safetensors(path, named, metadata, overwrite);
}

}  // namespace

void bind_io(nb::module_& m) {
  using namespace nb::literals;
  m.def("load_safetensors", &load, "path"_a,
        "Reads a safetensors file (F32, F64, I64, U8): ({name: array}, {metadata key: value}).");
  m.def("save_safetensors", &save, "path"_a, "tensors"_a, "metadata"_a = std::map<std::string, std::string>(),
        "overwrite"_a = false,
        "Writes {name: array} (float32, float64, int64, uint8) atomically; an existing file only with overwrite.");
}

}  // namespace attend::python
