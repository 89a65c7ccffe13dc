// BERT-family encoders in one GGUF file (`attend quantize`): the encoder layers' projections in
// GGML's blocks (Q8_0, Q4_0 or Q4_1, as BertModel::quantize chooses them), every other tensor
// F32, and the small files a sentence encoder reads held verbatim in the metadata:
//
//   general.architecture     "bert"
//   attend.weights           "q8_0" | "q4_0" | "q4_1": the projections' format
//   attend.file.<path>       the text of <path> in the model directory: config.json, vocab.txt,
//                            tokenizer_config.json, modules.json, sentence_bert_config.json and
//                            the Pooling module's config.json (1_Pooling/config.json), when there
//   tensors                  BertModel's parameter names (models/bert_loader.h's renaming)
//
// Loading it gives the encoder that the directory gives with --weights of that format, bit for
// bit: the projections multiply the stored blocks, which are the ones quantizing at load makes.
#pragma once

#include <string>

#include "attend/models/sentence_encoder.h"
#include "attend/models/text_classifier.h"
#include "attend/quant/quantized_matrix.h"

namespace attend::models {

// Writes the BERT model directory as a quantized GGUF file at `out` (atomically; io::IoError when
// it exists and !overwrite). Errors name the directory's missing or wrong file.
void write_bert_gguf(const std::string& directory, quant::QuantFormat format, const std::string& out, bool overwrite);

// Whether `path` is a regular file that starts with GGUF's magic.
bool is_gguf_file(const std::string& path);
// Whether it is one whose general.architecture is "bert" (write_bert_gguf's; a decoder's is not).
bool is_bert_gguf_file(const std::string& path);

// A file written by write_bert_gguf. gguf::FormatError or ValueError naming the file otherwise.
SentenceEncoder load_sentence_encoder_gguf(const std::string& path);

// A model directory, or a file written by write_bert_gguf.
SentenceEncoder load_sentence_encoder(const std::string& path);

// A fine-tuned classifier over a BERT encoder (attend train classify --arch minilm-*) the same
// way: general.architecture "attend.text-classifier", attend.weights the format, the checkpoint's
// metadata as attend.meta.<key> (the classifier's configuration, vocabulary and encoder config),
// the encoder's projections in blocks (parameter names "bert.encoder.layer.<l>. ..."), every other
// tensor F32. ValueError for a checkpoint of another task or a classifier from scratch.
void write_text_classifier_gguf(const std::string& checkpoint, quant::QuantFormat format, const std::string& out,
                                bool overwrite);
bool is_text_classifier_gguf_file(const std::string& path);
// The classifier of a file write_text_classifier_gguf wrote, multiplying its stored blocks; the
// same outputs as the checkpoint quantized at load (TextClassifier::quantize), bit for bit.
std::unique_ptr<TextClassifier> load_text_classifier_gguf(const std::string& path);
// A checkpoint (.safetensors) or such a file.
std::unique_ptr<TextClassifier> load_text_classifier_file(const std::string& path);

}  // namespace attend::models
