// `attend train g2p`: trains the grapheme-to-phoneme Transformer (see train/g2p_training.h).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

// Adds the `train` command (with its `g2p` task) to `app`; the returned function runs it when
// it was parsed and returns the exit status (-1 when not parsed).
std::function<int()> add_train_command(CLI::App& app);

}  // namespace attend::tools
