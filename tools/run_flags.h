// The flags every `attend train` task shares, registered once: they fill train::RunOptions
// (train/trainer.h), the part of a run that does not depend on the task.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "attend/train/trainer.h"

namespace attend::tools {

struct RunFlags {
  bool resume = false;  // --resume: continue OUT/checkpoint.safetensors
};

// Adds --out, --overwrite, --resume, --keep-snapshots, --tensorboard, --time-limit,
// --schedule-by-time, --shards and --patience to `command`, writing into `run` and `flags`. `best_model` says what
// OUT/model.safetensors keeps, e.g. "best dev WER".
void add_run_flags(CLI::App& command, train::RunOptions& run, RunFlags& flags, const std::string& best_model);

// The optimization flags every task shares, with one spelling, range and meaning everywhere:
// --clip (global gradient norm bound, 0: none) and, when eval_every is given, --eval-every
// (steps between evaluations, 0: only at the end). --patience is one of the run flags above.
void add_clip_flag(CLI::App& command, double& clip_norm);
void add_eval_every_flag(CLI::App& command, int64_t& eval_every);

// --arch NAME: the architecture a training task builds (everywhere else --model names a model to
// load). --model NAME, its old spelling under `train`, still works with a deprecation note on
// stderr; giving both is refused. `check` (e.g. CLI::IsMember) applies to either spelling.
void add_arch_flag(CLI::App& command, std::string& architecture, const std::string& description,
                   const CLI::Validator& check);

// Before anything is loaded: refuses an --out that is a file (check_output_directory), and with
// --resume sets run.resume_from to OUT's checkpoint (train::checkpoint_to_resume).
void prepare_run(train::RunOptions& run, const RunFlags& flags);

}  // namespace attend::tools
