// `attend train g2p`: trains the grapheme-to-phoneme Transformer (see train/g2p_training.h);
// `attend train fashion-mnist` and `attend eval` come from fashion_mnist_command.h.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

// Adds the `train` command (with its `g2p` and `fashion-mnist` tasks), the `g2p` command
// (pronounce words with a checkpoint) and the `eval` command to `app`; the returned function
// runs whichever was parsed and returns the exit status (-1 when none was).
std::function<int()> add_train_command(CLI::App& app);

}  // namespace attend::tools
