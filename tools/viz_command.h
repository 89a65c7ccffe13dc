// `attend viz CHECKPOINT --input WORD --out DIR`: every picture of a model's attention on one
// input (heatmaps as PNG and SVG, the JSON document, the HTML explorer), and `attend plot
// RUN_DIR`: the training curves of a run.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "attend/models/image_classifier.h"

namespace attend::tools {

// The rollout and the last layer's heads of `model` over one image (1, 28, 28), as a PNG file
// (what `attend viz` draws for Fashion-MNIST checkpoints, and TensorBoard shows during training).
std::string render_image_classifier_attention(models::ImageClassifier<float>& model, const Tensor<float>& image,
                                              const std::string& description);

}  // namespace attend::tools
