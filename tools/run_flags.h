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

// Adds --out, --overwrite, --resume, --keep-snapshots, --tensorboard, --time-limit and
// --schedule-by-time to `command`, writing into `run` and `flags`. `best_model` says what
// OUT/model.safetensors keeps, e.g. "best dev WER".
void add_run_flags(CLI::App& command, train::RunOptions& run, RunFlags& flags, const std::string& best_model);

// Before anything is loaded: refuses an --out that is a file (check_output_directory), and with
// --resume sets run.resume_from to OUT's checkpoint (train::checkpoint_to_resume).
void prepare_run(train::RunOptions& run, const RunFlags& flags);

}  // namespace attend::tools
