#include "attend/train/checkpoint_average.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/tensor_table.h"
#include "attend/train/trainer.h"

namespace attend::train {
namespace {

io::Metadata model_metadata(const io::Metadata& metadata) {
  io::Metadata model;
  for (const auto& [key, value] : metadata) {
    if (!is_trainer_metadata(key)) model.emplace(key, value);
  }
  return model;
}

// One parameter's running sum over the files read so far.
struct RunningSum {
  std::string name;
  io::DType dtype;
  Shape shape;
  std::vector<double> sum;  // numel values
};

// Adds `tensor`'s elements to `sum` (float64, one file after another).
template <typename T>
void accumulate(const Tensor<T>& tensor, std::vector<double>& sum) {
  const Tensor<T> values = tensor.contiguous();
  const T* data = values.data();
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += static_cast<double>(data[i]);
}

// sum / count rounded to T once.
template <typename T>
Tensor<T> mean_tensor(const RunningSum& running, int64_t count) {
  Tensor<T> mean = Tensor<T>::empty(running.shape);
  T* out = mean.data();
  for (size_t i = 0; i < running.sum.size(); ++i) out[i] = static_cast<T>(running.sum[i] / static_cast<double>(count));
  return mean;
}

bool path_exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// Whether two existing paths name one file (also through links and "dir/./name").
bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  const bool same = std::filesystem::equivalent(a, b, error);
  return same && !error;
}

std::string step_of(const io::Metadata& metadata) {
  const auto found = metadata.find("trainer.step");
  return found == metadata.end() ? "?" : found->second;
}

}  // namespace

AveragedCheckpoint average_checkpoints(const std::vector<std::string>& paths) {
  ATTEND_CHECK(paths.size() >= 2, ValueError, "averaging checkpoints needs at least 2 files, got {}", paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    ATTEND_CHECK(path_exists(paths[i]), ValueError, "cannot average: '{}' does not exist", paths[i]);
    for (size_t j = 0; j < i; ++j) {
      ATTEND_CHECK(!same_file(paths[i], paths[j]), ValueError,
                   "cannot average: '{}' and '{}' are the same file (it would count twice)", paths[j], paths[i]);
    }
  }
  std::vector<RunningSum> sums;
  io::Metadata first_model_metadata;
  std::string steps;
  std::map<std::string, std::string> path_of_step;  // trainer.step -> the file that has it
  for (size_t file_index = 0; file_index < paths.size(); ++file_index) {
    const std::string& path = paths[file_index];
    const io::SafetensorsFile file = io::load_safetensors(path);
    const io::Metadata model = model_metadata(file.metadata());
    const std::string step = step_of(file.metadata());
    if (step != "?") {
      const auto [earlier, inserted] = path_of_step.emplace(step, path);
      ATTEND_CHECK(inserted, ValueError,
                   "cannot average: '{}' and '{}' are both step {} of the run (the same model would count twice)",
                   earlier->second, path, step);
    }
    if (file_index > 0) steps += ',';
    steps += step;
    if (file_index == 0) {
      first_model_metadata = model;
    } else {
      for (const auto& [key, value] : first_model_metadata) {
        const auto found = model.find(key);
        ATTEND_CHECK(found != model.end() && found->second == value, ValueError,
                     "cannot average '{}' with '{}': metadata '{}' is '{}' there and '{}' here", paths[0], path, key,
                     value, found == model.end() ? "(none)" : found->second);
      }
      for (const auto& [key, value] : model) {
        ATTEND_CHECK(first_model_metadata.count(key) == 1, ValueError,
                     "cannot average '{}' with '{}': metadata '{}' = '{}' is only in '{}'", paths[0], path, key, value,
                     path);
      }
    }
    size_t parameter_index = 0;
    for (const auto& [name, tensor] : file.tensors()) {
      if (io::is_training_state(name)) continue;  // optimizer state, random streams
      const io::DType dtype = io::dtype_of(tensor);
      const Shape shape = io::shape_of(tensor);
      ATTEND_CHECK(dtype == io::DType::kF32 || dtype == io::DType::kF64, ValueError,
                   "cannot average '{}': tensor '{}' is {}; only F32 and F64 tensors can be averaged", path, name,
                   io::dtype_name(dtype));
      // A NaN or Inf would pass into every element it is averaged with, and the output would load
      // nowhere (load_module refuses non-finite parameters): refuse it here, by name.
      const std::optional<Shape> bad = io::first_non_finite(tensor);
      ATTEND_CHECK(!bad, ValueError, "cannot average '{}': tensor '{}' is not finite at index {}", path, name,
                   bad ? shape_string(*bad) : std::string());
      if (file_index == 0) {
        sums.push_back({name, dtype, shape, std::vector<double>(static_cast<size_t>(shape_numel(shape)), 0.0)});
      } else {
        ATTEND_CHECK(parameter_index < sums.size() && sums[parameter_index].name == name, ValueError,
                     "cannot average '{}' with '{}': tensor '{}' is not where the first file has '{}'", paths[0], path,
                     name, parameter_index < sums.size() ? sums[parameter_index].name : "(nothing)");
        const RunningSum& expected = sums[parameter_index];
        ATTEND_CHECK(expected.dtype == dtype && expected.shape == shape, ValueError,
                     "cannot average '{}' with '{}': tensor '{}' is {} {} there and {} {} here", paths[0], path, name,
                     io::dtype_name(expected.dtype), shape_string(expected.shape), io::dtype_name(dtype),
                     shape_string(shape));
      }
      std::visit(
          [&](const auto& typed) {
            using Element = typename std::decay_t<decltype(typed)>::value_type;
            if constexpr (std::is_floating_point_v<Element>) accumulate(typed, sums[parameter_index].sum);
          },
          tensor);
      ++parameter_index;
    }
    ATTEND_CHECK(parameter_index == sums.size(), ValueError,
                 "cannot average '{}' with '{}': the first has {} parameter tensors, this one {}", paths[0], path,
                 sums.size(), parameter_index);
  }
  ATTEND_CHECK(!sums.empty(), ValueError, "cannot average: '{}' holds no parameters", paths[0]);

  AveragedCheckpoint averaged;
  const auto count = static_cast<int64_t>(paths.size());
  for (const RunningSum& running : sums) {
    if (running.dtype == io::DType::kF32) {
      averaged.tensors.emplace_back(running.name, mean_tensor<float>(running, count));
    } else {
      averaged.tensors.emplace_back(running.name, mean_tensor<double>(running, count));
    }
  }
  averaged.metadata = std::move(first_model_metadata);
  averaged.metadata["averaged.count"] = std::to_string(count);
  averaged.metadata["averaged.steps"] = steps;
  return averaged;
}

io::Metadata write_averaged_checkpoint(const std::vector<std::string>& paths, const std::string& out_path,
                                       bool overwrite) {
  if (path_exists(out_path)) {
    for (const std::string& path : paths) {
      ATTEND_CHECK(!same_file(path, out_path), ValueError, "the averaged file '{}' would replace its input '{}'",
                   out_path, path);
    }
    ATTEND_CHECK(overwrite, io::IoError, "'{}' exists; pass --overwrite to replace it", out_path);
  }
  AveragedCheckpoint averaged = average_checkpoints(paths);
  io::save_safetensors(out_path, averaged.tensors, averaged.metadata, overwrite);
  return std::move(averaged.metadata);
}

}  // namespace attend::train
