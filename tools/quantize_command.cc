// `attend quantize --type q8_0|q4_0|q4_1 IN OUT [--overwrite]`: a BERT-family model directory
// (e.g. all-MiniLM-L6-v2), a classifier fine-tuned over one (attend train classify --arch
// minilm-*), or a G2P model (attend train g2p), to one GGUF file with the projections in GGML's
// blocks (models/bert_gguf.h, models/g2p_gguf.h): embed, similarity, search and viz take the
// first as --model, classify and eval the second as the checkpoint, g2p and eval the third.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/io/safetensors.h"
#include "attend/models/bert_gguf.h"
#include "attend/models/g2p_gguf.h"
#include "attend/quant/quantized_matrix.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct QuantizeArguments {
  std::string type;
  std::string in, out;
  bool overwrite = false;
};

// A checkpoint of attend train g2p (its metadata's task).
bool is_g2p_checkpoint(const std::string& path) {
  const io::Metadata metadata = io::load_safetensors(path).metadata();
  const auto task = metadata.find("task");
  return task != metadata.end() && task->second == "g2p";
}

int run_quantize(const QuantizeArguments& args) {
  std::error_code error;
  const bool directory = std::filesystem::is_directory(args.in, error);
  ATTEND_CHECK(directory || std::filesystem::is_regular_file(args.in, error), ValueError,
               "attend quantize: '{}' is neither a model directory nor a checkpoint file", args.in);
  ATTEND_CHECK(args.overwrite || !std::filesystem::exists(args.out, error), ValueError,
               "attend quantize: '{}' exists; pass --overwrite to replace it", args.out);
  ATTEND_CHECK(!models::is_gguf_file(args.in), ValueError,
               "attend quantize: '{}' is a GGUF file already; give the model directory or checkpoint it came from",
               args.in);
  const quant::QuantFormat format = quant::parse_quant_format(args.type);
  std::string use = "embed --model";
  if (directory) {
    models::write_bert_gguf(args.in, format, args.out, args.overwrite);
  } else if (is_g2p_checkpoint(args.in)) {
    models::write_g2p_gguf(args.in, format, args.out, args.overwrite);
    use = "g2p --checkpoint";
  } else {
    models::write_text_classifier_gguf(args.in, format, args.out, args.overwrite);
    use = "classify --checkpoint";
  }
  fmt::print("wrote {} ({} projections, {} bytes; use: attend {} {})\n", args.out, args.type,
             std::filesystem::file_size(args.out), use, args.out);
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
  command
      ->add_option("in", args->in,
                   "the model directory, a fine-tuned BERT classifier's or a G2P model's model.safetensors")
      ->required();
  command->add_option("out", args->out, "the GGUF file to write")->required();
  command->add_flag("--overwrite", args->overwrite, "replace OUT if it exists");
  return [command, args]() -> int { return command->parsed() ? run_quantize(*args) : -1; };
}

}  // namespace attend::tools
