// `attend train fashion-mnist` (train/fashion_mnist_training.h) and `attend eval CHECKPOINT`.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace attend::tools {

// Adds `fashion-mnist` under `train` and the `eval` command to `app`; the returned function
// runs whichever was parsed and returns the exit status (-1 when neither was).
std::function<int()> add_fashion_mnist_commands(CLI::App& train, CLI::App& app);

}  // namespace attend::tools
