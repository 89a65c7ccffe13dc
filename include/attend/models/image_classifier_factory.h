// Image classifiers (models/image_classifier.h) from checkpoints: the metadata's configuration
// fields are checked against the file's tensors before any model is built, so that a file whose
// metadata claims another model than it holds is refused with the field and the tensor named.
#pragma once

#include <memory>
#include <string>

#include "attend/core/random.h"
#include "attend/io/safetensors.h"
#include "attend/io/tensor_table.h"
#include "attend/models/image_classifier.h"

namespace attend::models {

// The parameters make_image_classifier(spec) registers, by name and shape, without building it.
io::TensorTable image_classifier_parameter_table(const ImageClassifierSpec& spec);

// The spec of `file`'s metadata, checked against its tensors: every parameter it implies must be
// there with its shape, and nothing else but training state (io/tensor_table.h). ValueError naming
// the file, the field or the metadata's sizes and the tensors otherwise.
ImageClassifierSpec image_classifier_spec_from_checkpoint(const io::SafetensorsFile& file);

// The model saved in `file` (model.safetensors or checkpoint.safetensors), in evaluation mode; the
// path version reads the file once.
std::unique_ptr<ImageClassifier<float>> load_image_classifier(const io::SafetensorsFile& file);
std::unique_ptr<ImageClassifier<float>> load_image_classifier(const std::string& path);

}  // namespace attend::models
