// What a checkpoint must hold, tensor by tensor, checked against what a file does hold. A model's
// table is known from its configuration alone (models/parameter_table.h), so a checkpoint whose
// metadata describes another model than its tensors is refused before that model is built: a
// 5 MB file claiming 65,536 layers allocates nothing.
//
// A training checkpoint (train/trainer.h) holds a model's parameters and, under two prefixes,
// what the Trainer resumes from: "optimizer.<state>" and "rng.<random stream>".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "attend/core/shape.h"
#include "attend/io/safetensors.h"

namespace attend::io {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
};
using TensorTable = std::vector<TensorSpec>;

inline constexpr std::string_view kOptimizerStatePrefix = "optimizer.";
inline constexpr std::string_view kRandomStreamPrefix = "rng.";

// True for the Trainer's tensors: names starting with "optimizer." or "rng.".
bool is_training_state(std::string_view name);

// The elements of every tensor of `table` (a double: exact below 2^53, and never overflowing).
double element_count(const TensorTable& table);

// How `file` differs from `expected`, one sentence per problem (none: it holds exactly those):
// a missing tensor ("parameter 'w' (3, 4) is missing"), another dtype or shape ("parameter 'w'
// has shape (3, 4) in the file, <expecter> (5, 4)", expecter e.g. "the module needs"), and the
// file's other tensors, in one sentence: under kReject, under kReturnTrainingState unless they are
// training state, and under kReturn only when something else is wrong (a renamed tensor shows as
// one missing and one unexpected name).
std::vector<std::string> tensor_table_problems(const SafetensorsFile& file, const TensorTable& expected,
                                               UnexpectedTensors unexpected, std::string_view expecter);

// The first few of `problems`, joined by "; ", and how many more there are.
std::string join_problems(const std::vector<std::string>& problems);

// ValueError unless `file` holds exactly the tensors of `expected` besides training state:
//   '<path>' does not hold the model <description> describes (that model has N parameters in K
//   tensors, the file M in L): <problems>
// where the counts are given only when they differ. `description` names the configuration it came
// from, e.g. "its metadata (model_dim=128, layers=3)".
void check_tensor_table(const SafetensorsFile& file, const TensorTable& expected, const std::string& description);

}  // namespace attend::io
