#include "attend/io/tensor_table.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "attend/core/error.h"
#include "io/quoted_list.h"

namespace attend::io {
namespace {

// The problem of one expected tensor in `file`, or "" when it is there as expected.
std::string tensor_problem(const SafetensorsFile& file, const TensorSpec& spec, std::string_view expecter) {
  if (!file.contains(spec.name))
    return fmt::format("parameter '{}' {} is missing", spec.name, shape_string(spec.shape));
  const AnyTensor& stored = file.at(spec.name);
  if (dtype_of(stored) != spec.dtype) {
    return fmt::format("parameter '{}' is {} in the file, {} {}", spec.name, dtype_name(dtype_of(stored)), expecter,
                       dtype_name(spec.dtype));
  }
  if (shape_of(stored) != spec.shape) {
    return fmt::format("parameter '{}' has shape {} in the file, {} {}", spec.name, shape_string(shape_of(stored)),
                       expecter, shape_string(spec.shape));
  }
  return "";
}

bool is_allowed_extra(std::string_view name, UnexpectedTensors unexpected) {
  return unexpected == UnexpectedTensors::kReturnTrainingState && is_training_state(name);
}

// The file's tensors besides training state: its share of what `expected` describes.
TensorTable model_tensors(const SafetensorsFile& file) {
  TensorTable table;
  for (const auto& [name, tensor] : file.tensors()) {
    if (!is_training_state(name)) table.push_back({name, dtype_of(tensor), shape_of(tensor)});
  }
  return table;
}

}  // namespace

bool is_training_state(std::string_view name) {
  return name.starts_with(kOptimizerStatePrefix) || name.starts_with(kRandomStreamPrefix);
}

double element_count(const TensorTable& table) {
  double count = 0;
  for (const TensorSpec& spec : table) {
    double numel = 1;
    for (const int64_t size : spec.shape) numel *= static_cast<double>(size);
    count += numel;
  }
  return count;
}

std::vector<std::string> tensor_table_problems(const SafetensorsFile& file, const TensorTable& expected,
                                               UnexpectedTensors unexpected, std::string_view expecter) {
  std::vector<std::string> problems;
  std::map<std::string_view, const TensorSpec*> wanted;
  for (const TensorSpec& spec : expected) {
    wanted.emplace(spec.name, &spec);
    if (std::string problem = tensor_problem(file, spec, expecter); !problem.empty()) problems.push_back(problem);
  }
  std::vector<std::string> others;
  for (const auto& [name, tensor] : file.tensors()) {
    if (wanted.count(name) == 0 && !is_allowed_extra(name, unexpected)) others.push_back(name);
  }
  if (!others.empty() && (unexpected != UnexpectedTensors::kReturn || !problems.empty())) {
    problems.push_back(fmt::format("the file has tensors that are not parameters: {}", quoted_list(others)));
  }
  return problems;
}

std::string join_problems(const std::vector<std::string>& problems) {
  constexpr size_t kShown = 10;
  std::vector<std::string> shown(problems.begin(), problems.begin() + std::min(problems.size(), kShown));
  if (problems.size() > kShown) shown.push_back(fmt::format("and {} more problems", problems.size() - kShown));
  return fmt::format("{}", fmt::join(shown, "; "));
}

void check_tensor_table(const SafetensorsFile& file, const TensorTable& expected, const std::string& description) {
  const std::vector<std::string> problems =
      tensor_table_problems(file, expected, UnexpectedTensors::kReturnTrainingState, "the metadata implies");
  if (problems.empty()) return;
  const TensorTable held = model_tensors(file);
  const double implied = element_count(expected), stored = element_count(held);
  const std::string counts =
      implied == stored ? std::string()
                        : fmt::format(" (that model has {:.0f} parameters in {} tensors, the file {:.0f} in {})",
                                      implied, expected.size(), stored, held.size());
  fail<ValueError>("'{}' does not hold the model {} describes{}: {}", file.path(), description, counts,
                   join_problems(problems));
}

}  // namespace attend::io
