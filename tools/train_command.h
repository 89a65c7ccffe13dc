// `attend train g2p`: trains the grapheme-to-phoneme Transformer (see train/g2p_training.h).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

// Adds the `train` command (with its `g2p` task) and the `g2p` command (pronounce words with a
// checkpoint) to `app`; the returned function runs whichever was parsed and returns the exit
// status (-1 when neither was).
std::function<int()> add_train_command(CLI::App& app);

}  // namespace attend::tools
