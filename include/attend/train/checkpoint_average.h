// Checkpoint averaging: the parameters of several snapshots of one training run, averaged
// element by element (Vaswani et al., "Attention is all you need", 2017, averaged the last 5
// or 20 checkpoints of a run; fairseq's scripts/average_checkpoints.py does the same). Near the
// end of a run the snapshots sit around one minimum, and their mean is often a little better
// than any of them.
//
//   p = (1 / K) sum_{k=1..K} p_k      element by element, summed in float64 in the order the
//                                     files are given, rounded to the tensor's type once
//
// The files are model.safetensors or checkpoint.safetensors files written by the Trainer
// (train/trainer.h). Tensors named "optimizer.*" or "rng.*" (optimizer state, random streams)
// and metadata keys starting with "trainer." are the training loop's, not the model's: they are
// left out of the result. Everything else must agree across the files, or averaging is refused
// with a ValueError that names the file and what differs: the same tensor names, dtypes (F32 or
// F64: integer tensors cannot be averaged) and shapes, and the same model metadata (task,
// architecture, sizes...), so that snapshots of different models are never mixed.
#pragma once

#include <string>
#include <vector>

#include "attend/io/safetensors.h"

namespace attend::train {

struct AveragedCheckpoint {
  io::NamedTensors tensors;  // the averaged parameters, in the first file's order
  // The first file's model metadata, plus "averaged.count" (K) and "averaged.steps" (the files'
  // trainer.step values, comma-separated in the order given; "?" where a file has none).
  io::Metadata metadata;
};

// Averages the model parameters of `paths` (at least 2, distinct files of distinct steps: the
// same model twice would weigh double). The files are read one at a time.
AveragedCheckpoint average_checkpoints(const std::vector<std::string>& paths);

// average_checkpoints(paths) written to `out_path` atomically (temp file, fsync, rename): a model
// file that `attend eval`, `attend g2p` and load_model_weights read. Returns its metadata.
// Checked before any input is read: IoError when `out_path` exists and `overwrite` is false;
// ValueError when `out_path` is one of `paths` (by any name).
io::Metadata write_averaged_checkpoint(const std::vector<std::string>& paths, const std::string& out_path,
                                       bool overwrite);

}  // namespace attend::train
