// Pretrained BERT-family encoders from a Hugging Face model directory:
//
//   DIR/config.json          the architecture (models/bert.h: load_bert_config)
//   DIR/model.safetensors    the weights: F32, F16 or BF16 (widened to F32 on load) or F64
//                            (rounded to F32, as PyTorch's load_state_dict copies them)
//
// Tensor names are transformers' BertModel names, with or without the "bert." prefix that
// BertFor* checkpoints add; TensorFlow-era LayerNorm names ("gamma", "beta") are read as
// "weight" and "bias". Dropped without a word: "embeddings.position_ids" (an I64 buffer of
// 0..511); dropped and logged (ATTEND_LOG=debug): the task heads of BertFor* checkpoints
// ("cls.*", "classifier.*"). Any other tensor, a missing one, or a shape that disagrees with
// config.json is an error naming the file, the tensors and the configuration, before the model is
// built. The pooler is loaded when the file has it (and the model then has one).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attend/io/safetensors.h"
#include "attend/models/bert.h"

namespace attend::models {

// `file`'s tensors under BertModel's names (the renaming above), sharing storage with it; the
// names of the tensors left out go to `dropped` when it is given.
io::SafetensorsFile bert_tensors(const io::SafetensorsFile& file, std::vector<std::string>* dropped = nullptr);

// The model of `config` with the weights of `file`, in evaluation mode. config.pooler is set from
// the file.
std::unique_ptr<BertModel<float>> load_bert_model(BertConfig config, const io::SafetensorsFile& file);
// DIR/config.json and DIR/model.safetensors. ValueError or IoError naming the file that is
// missing or wrong.
std::unique_ptr<BertModel<float>> load_bert_model(const std::string& directory);

}  // namespace attend::models
