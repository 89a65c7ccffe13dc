#include "run_flags.h"

#include <iostream>

#include "cli_checks.h"

namespace attend::tools {

void add_run_flags(CLI::App& command, train::RunOptions& run, RunFlags& flags, const std::string& best_model) {
  command.add_option("--out", run.out_dir,
                     "directory for metrics.jsonl, model.safetensors (" + best_model +
                         ") and checkpoint.safetensors (default: none; nothing is saved)");
  command.add_flag("--overwrite", run.overwrite, "replace the files of an earlier run in --out");
  command.add_flag("--resume", flags.resume, "continue the run in --out from its checkpoint.safetensors");
  command.add_flag("--keep-snapshots", run.keep_snapshots,
                   "also keep the model of every evaluation in --out/snapshots (for attend average)");
  command.add_option(
      "--tensorboard", run.tensorboard_dir,
      "write TensorBoard event files (loss, learning rate, evaluation metrics, attention) here (default: none)");
  command
      .add_option("--time-limit", run.time_limit_seconds,
                  "stop after this many seconds of wall-clock time, then evaluate (0: no limit; a resumed run "
                  "counts the time of the runs it continues)")
      ->check(non_negative_real())
      ->capture_default_str();
  command
      .add_option("--shards", run.shards,
                  "cut each step's batch into this many gradient shards, summed in order (data parallelism: under "
                  "mpirun each of N processes computes shards / N of them; the weights are the same bits for any N "
                  "that divides the shards; docs/distributed.md)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  command.add_flag("--schedule-by-time", run.schedule_by_time,
                   "with --time-limit: the learning-rate schedule ends at the time limit if that comes before the "
                   "last step, however busy the machine (the rates then depend on the clock: not reproducible bit "
                   "for bit)");
  command
      .add_option("--patience", run.patience,
                  "stop after this many evaluations in a row without a better " + best_model + " (0: never)")
      ->check(integer_in(0, kMaxSteps))
      ->capture_default_str();
}

void add_clip_flag(CLI::App& command, double& clip_norm) {
  command.add_option("--clip", clip_norm, "global gradient norm bound (0: none)")
      ->check(non_negative_real())
      ->capture_default_str();
}

void add_eval_every_flag(CLI::App& command, int64_t& eval_every) {
  command.add_option("--eval-every", eval_every, "steps between evaluations (0: only at the end)")
      ->check(integer_in(0, kMaxSteps))
      ->capture_default_str();
}

void add_arch_flag(CLI::App& command, std::string& architecture, const std::string& description,
                   const CLI::Validator& check) {
  CLI::Option* arch = command.add_option("--arch", architecture, description)->check(check)->capture_default_str();
  command.add_option("--model", architecture, "deprecated spelling of --arch under train")
      ->check(check)
      ->excludes(arch)
      ->each([](const std::string&) {
        std::cerr << "note: under `attend train`, --model is deprecated; use --arch (--model names a model to "
                     "load everywhere else)\n";
      });
}

void prepare_run(train::RunOptions& run, const RunFlags& flags) {
  check_output_directory(run.out_dir);
  if (flags.resume) run.resume_from = train::checkpoint_to_resume(run.out_dir);
}

}  // namespace attend::tools
