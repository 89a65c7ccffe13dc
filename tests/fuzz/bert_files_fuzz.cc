// Fuzz target: the small files of a Hugging Face BERT directory, from arbitrary bytes. The first
// byte picks the reader, the rest is the file:
//   0: config.json (models/bert.h: load_bert_config, then the parameter table it implies)
//   1: tokenizer_config.json (text/bert_tokenizer.h: load_bert_tokenizer_config)
//   2: vocab.txt (text/vocabulary.h: load_vocabulary, then a tokenizer on it when it has the
//      special tokens)
// Invariants: a configuration that loads has positive sizes and a table without a negative size;
// a vocabulary that loads maps every token back to its own id.
#include <cstdint>
#include <string>

#include "attend/io/tensor_table.h"
#include "attend/models/bert.h"
#include "attend/text/bert_tokenizer.h"
#include "attend/text/vocabulary.h"
#include "fuzz/fuzz_input.h"

namespace {

using namespace attend;

void read_bert_config(const std::string& path) {
  const models::BertConfig config = models::load_bert_config(path);
  ATTEND_FUZZ_REQUIRE(config.hidden_size > 0 && config.num_layers > 0 && config.num_heads > 0 &&
                      config.hidden_size % config.num_heads == 0 && config.layer_norm_eps > 0);
  for (const io::TensorSpec& spec : models::bert_parameter_table(config)) {
    for (const int64_t size : spec.shape) ATTEND_FUZZ_REQUIRE(size > 0);
  }
}

void read_vocabulary(const std::string& path) {
  text::Vocabulary vocabulary = text::load_vocabulary(path);
  for (int32_t id = 0; id < vocabulary.size(); ++id) {
    ATTEND_FUZZ_REQUIRE(vocabulary.find(vocabulary.token(id)) == id);
  }
  fuzz::run_reader([&] {
    const text::BertTokenizer tokenizer(std::move(vocabulary), text::BertTokenizerConfig{});
    (void)tokenizer.encode("Hello, wörld! [SEP] 東京 ##ing");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string file = fuzz::bytes_of(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      return fuzz::run_reader([&] { read_bert_config(fuzz::write_input_file(file, "config.json")); });
    case 1:
      return fuzz::run_reader(
          [&] { (void)text::load_bert_tokenizer_config(fuzz::write_input_file(file, "tokenizer_config.json")); });
    default:
      return fuzz::run_reader([&] { read_vocabulary(fuzz::write_input_file(file, "vocab.txt")); });
  }
}
