// `attend train fashion-mnist` (train/fashion_mnist_training.h) and the Fashion-MNIST side of
// `attend eval CHECKPOINT` (eval_command.cc).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "attend/io/safetensors.h"

namespace attend::tools {

// add_train_fashion_mnist_command (commands.h) registers `train fashion-mnist`.

struct FashionMnistEvalArguments {
  std::string data_dir;        // empty: the Debian package's
  std::string split = "test";  // test, validation or both
};
// Prints the accuracy of a checkpoint written by `attend train fashion-mnist --out`.
int run_fashion_mnist_eval(const io::SafetensorsFile& checkpoint, const FashionMnistEvalArguments& args);

}  // namespace attend::tools
