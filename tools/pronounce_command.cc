// `attend g2p [--checkpoint FILE] WORD...`: pronounce words with a trained G2P model (default: the
// shipped one).
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/models/g2p_factory.h"
#include "attend/viz/g2p_attention.h"
#include "attend/viz/image_format.h"
#include "cli_checks.h"
#include "commands.h"
#include "g2p_cli.h"
#include "shipped_models.h"

namespace attend::tools {
namespace {

struct PronounceArguments {
  std::string checkpoint;  // empty: the shipped model
  std::vector<std::string> words;
  int64_t beam = 4;
  std::string attention;  // a .png or .svg for the cross-attention alignment of the one word
  std::string weights = "float32";
};

int run_pronounce(const PronounceArguments& args) {
  ATTEND_CHECK(args.attention.empty() || args.words.size() == 1, ValueError,
               "--attention draws the alignment of one word; {} words were given", args.words.size());
  if (!args.attention.empty()) viz::image_format_of(args.attention);  // a bad file name fails before any work
  const std::unique_ptr<models::G2PModel<float>> model =
      models::load_g2p_model(args.checkpoint.empty() ? shipped_g2p_checkpoint() : args.checkpoint, args.weights);
  if (!args.attention.empty()) {
    viz::write_g2p_alignment(args.attention, *model, args.words.front());
    fmt::print("wrote {}\n", args.attention);
  }
  print_pronunciations(*model, args.words, args.beam);
  return 0;
}

}  // namespace

CommandRunner add_g2p_command(CLI::App& app) {
  auto pronounce = std::make_shared<PronounceArguments>();
  CLI::App* g2p_command = app.add_subcommand("g2p", "pronounce words with a trained G2P checkpoint");
  g2p_command->add_option(
      "--checkpoint", pronounce->checkpoint,
      "model.safetensors written by attend train g2p --out (default: " + shipped_g2p_description() + ")");
  g2p_command->add_option("words", pronounce->words, "words (letters a-z and ')")->required();
  g2p_command->add_option("--beam", pronounce->beam, "beam size (1: greedy)")
      ->check(integer_in(1, kMaxBeam))
      ->capture_default_str();
  g2p_command->add_option("--attention", pronounce->attention,
                          "write the word's letter-phoneme alignment (last decoder layer's cross-attention, mean of "
                          "the heads) to this .png or .svg (default: none)");
  g2p_command
      ->add_option("--weights", pronounce->weights,
                   "float32, or q8_0 / q4_0 / q4_1: the model's linear layers quantized at load and multiplied with "
                   "int8 activations (docs/quantization.md)")
      ->check(CLI::IsMember({"float32", "q8_0", "q4_0", "q4_1"}))
      ->capture_default_str();
  return [g2p_command, pronounce]() -> int { return g2p_command->parsed() ? run_pronounce(*pronounce) : -1; };
}

}  // namespace attend::tools
