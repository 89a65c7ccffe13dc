// `attend quantize --type q8_0|q4_0|q4_1 IN OUT [--overwrite]`: a BERT-family model directory
// (e.g. all-MiniLM-L6-v2) to one GGUF file with its encoder layers' projections in GGML's blocks
// (models/bert_gguf.h), which embed, similarity, search and viz take as --model.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/models/bert_gguf.h"
#include "attend/quant/quantized_matrix.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct QuantizeArguments {
  std::string type;
  std::string in, out;
  bool overwrite = false;
};

int run_quantize(const QuantizeArguments& args) {
  std::error_code error;
  ATTEND_CHECK(std::filesystem::is_directory(args.in, error), ValueError,
               "attend quantize: '{}' is not a model directory; it takes a BERT-family directory (config.json, "
               "model.safetensors, vocab.txt: e.g. all-MiniLM-L6-v2). Classifier and G2P checkpoints are not "
               "quantized to files yet",
               args.in);
  ATTEND_CHECK(args.overwrite || !std::filesystem::exists(args.out, error), ValueError,
               "attend quantize: '{}' exists; pass --overwrite to replace it", args.out);
  const quant::QuantFormat format = quant::parse_quant_format(args.type);
  models::write_bert_gguf(args.in, format, args.out, args.overwrite);
  fmt::print("wrote {} ({} projections, {} bytes; use: attend embed --model {})\n", args.out, args.type,
             std::filesystem::file_size(args.out), args.out);
  return 0;
}

}  // namespace

CommandRunner add_quantize_command(CLI::App& app) {
  auto args = std::make_shared<QuantizeArguments>();
  CLI::App* command = app.add_subcommand(
      "quantize",
      "write a BERT-family model directory as one GGUF file with quantized projections (docs/quantization.md)");
  command->add_option("--type", args->type, "q8_0, q4_0 or q4_1: the format of the encoder layers' projections")
      ->required()
      ->check(CLI::IsMember({"q8_0", "q4_0", "q4_1"}));
  command->add_option("in", args->in, "the model directory")->required();
  command->add_option("out", args->out, "the GGUF file to write")->required();
  command->add_flag("--overwrite", args->overwrite, "replace OUT if it exists");
  return [command, args]() -> int { return command->parsed() ? run_quantize(*args) : -1; };
}

}  // namespace attend::tools
