// The parts of the Python module attend._attend, one function per file; module.cc calls them.
#pragma once

#include <nanobind/nanobind.h>

namespace attend::python {

void bind_errors(nanobind::module_& m);     // module.cc: attend's exceptions as Python's
void bind_runtime(nanobind::module_& m);    // module.cc: version, threads, BLAS
void bind_attention(nanobind::module_& m);  // attention_bindings.cc: scaled dot-product attention
void bind_scores(nanobind::module_& m);     // score_bindings.cc: score functions
void bind_modules(nanobind::module_& m);    // module_bindings.cc: MultiHeadAttention, KeyValueCache
void bind_text(nanobind::module_& m);       // text_bindings.cc: tokenizer, sentence encoder
void bind_io(nanobind::module_& m);         // io_bindings.cc: safetensors
void bind_decoder(nanobind::module_& m);    // decoder_bindings.cc: LanguageModel

}  // namespace attend::python
