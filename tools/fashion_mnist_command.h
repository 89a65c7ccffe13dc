// `attend train fashion-mnist` (train/fashion_mnist_training.h) and the Fashion-MNIST side of
// `attend eval CHECKPOINT`.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "attend/io/safetensors.h"

namespace attend::tools {

// Adds `fashion-mnist` under `train`; the returned function runs it when it was parsed and
// returns the exit status (-1 when it was not).
std::function<int()> add_fashion_mnist_commands(CLI::App& train);

struct FashionMnistEvalArguments {
  std::string data_dir;        // empty: the Debian package's
  std::string split = "test";  // test, validation or both
};
// Prints the accuracy of a checkpoint written by `attend train fashion-mnist --out`.
int run_fashion_mnist_eval(const io::SafetensorsFile& checkpoint, const FashionMnistEvalArguments& args);

}  // namespace attend::tools
