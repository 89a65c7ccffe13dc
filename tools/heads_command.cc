// `attend heads [--model FILE.gguf] [--length L] [--seed S] [--top K] [--out DIR]`: the
// previous-token, duplicate-token and induction scores of every head of a decoder
// (decoder/head_scores.h), the in-context loss on a repeated random sequence, and an ablation:
// the loss with the top K induction heads zeroed, beside K other heads zeroed. With --out, the
// three scores as layer x head heatmaps (PNG).
#include <algorithm>
#include <filesystem>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "attend/core/random.h"
#include "attend/decoder/head_scores.h"
#include "attend/viz/heatmap.h"
#include "decoder_model_flags.h"
#include "cli_checks.h"
#include "commands.h"

namespace attend::tools {
namespace {

struct HeadsArguments {
  DecoderModelFlags model;
  int64_t length = 50;
  uint64_t seed = 0;
  int64_t top = 5;
  std::string out;
};

// The indices (layer * H + head) of the k largest scores, largest first.
std::vector<int64_t> top_heads(const std::vector<double>& scores, int64_t k) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  order.resize(static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(order.size()))));
  return order;
}

std::string named(const std::vector<int64_t>& heads, const std::vector<double>& scores, int64_t per_layer) {
  std::string text;
  for (int64_t index : heads)
    text += fmt::format("L{}.H{} {:.3f}  ", index / per_layer, index % per_layer, scores[index]);
  return text;
}

std::vector<std::vector<int64_t>> as_ablation(const std::vector<int64_t>& heads, int64_t layers, int64_t per_layer) {
  std::vector<std::vector<int64_t>> ablated(static_cast<size_t>(layers));
  for (int64_t index : heads) ablated[index / per_layer].push_back(index % per_layer);
  return ablated;
}

// k heads drawn from those not in `excluded` (Philox, seed + 1).
std::vector<int64_t> other_heads(int64_t total, const std::vector<int64_t>& excluded, int64_t k, uint64_t seed) {
  std::vector<int64_t> pool;
  for (int64_t i = 0; i < total; ++i) {
    if (std::find(excluded.begin(), excluded.end(), i) == excluded.end()) pool.push_back(i);
  }
  Generator generator(seed + 1);
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < k && !pool.empty(); ++i) {
    const auto pick = static_cast<int64_t>(generator.uniform_int(pool.size()));
    chosen.push_back(pool[pick]);
    pool.erase(pool.begin() + pick);
  }
  return chosen;
}

void write_heatmap(const std::string& dir, const std::string& name, const std::vector<double>& scores,
                   const decoder::HeadScores& all, const std::string& model_name) {
  viz::Heatmap map;
  map.title = fmt::format("{} · {} score", model_name, name);
  map.rows = all.layers;
  map.cols = all.heads;
  map.values.assign(scores.begin(), scores.end());
  for (int64_t l = 0; l < all.layers; ++l) map.row_labels.push_back(fmt::format("L{}", l));
  for (int64_t h = 0; h < all.heads; ++h) map.column_labels.push_back(fmt::format("H{}", h));
  map.row_axis = "layers";
  map.column_axis = "heads";
  viz::write_heatmap((std::filesystem::path(dir) / (name + ".png")).string(), map);
}

int run_heads(const HeadsArguments& args) {
  const decoder::LlamaModel model = load_decoder_model(args.model);
  const decoder::LlamaConfig& config = model.config();
  ATTEND_CHECK(args.top <= config.layers * config.heads, ValueError, "--top {} exceeds the model's {} heads", args.top,
               config.layers * config.heads);
  // Ordinary tokens only (past the special ones and the byte alphabet): [1000, V).
  const auto first = static_cast<int32_t>(
      model.file().find("tokenizer.ggml.bos_token_id") ? model.file().integer("tokenizer.ggml.bos_token_id") : 0);
  const decoder::RepeatedSequence sequence = decoder::repeated_random_sequence(
      model, args.length, args.seed, first, 1000, static_cast<int32_t>(config.vocabulary));
  const decoder::HeadScores scores = decoder::head_scores(model, sequence);
  const decoder::InContextLoss loss = decoder::in_context_loss(model, sequence);
  fmt::print("{}: {} layers x {} heads, on token {} then {} random tokens twice (seed {})\n", config.name,
             config.layers, config.heads, first, args.length, args.seed);
  fmt::print("in-context loss: first copy {:.3f} nats a token, second copy {:.3f}\n", loss.first_copy,
             loss.second_copy);
  const std::vector<int64_t> induction = top_heads(scores.induction, args.top);
  fmt::print("top induction heads:      {}\n", named(induction, scores.induction, config.heads));
  fmt::print("top previous-token heads: {}\n",
             named(top_heads(scores.previous_token, args.top), scores.previous_token, config.heads));
  fmt::print("top duplicate-token heads: {}\n",
             named(top_heads(scores.duplicate_token, args.top), scores.duplicate_token, config.heads));
  const std::vector<int64_t> others = other_heads(config.layers * config.heads, induction, args.top, args.seed);
  const decoder::InContextLoss without_induction =
      decoder::in_context_loss(model, sequence, as_ablation(induction, config.layers, config.heads));
  const decoder::InContextLoss without_others =
      decoder::in_context_loss(model, sequence, as_ablation(others, config.layers, config.heads));
  fmt::print(
      "ablation, second-copy loss: {:.3f} -> {:.3f} with the top {} induction heads zeroed; -> {:.3f} with {} "
      "other heads zeroed ({})\n",
      loss.second_copy, without_induction.second_copy, args.top, without_others.second_copy, args.top,
      named(others, scores.induction, config.heads));
  if (!args.out.empty()) {
    std::filesystem::create_directories(args.out);
    write_heatmap(args.out, "previous_token", scores.previous_token, scores, config.name);
    write_heatmap(args.out, "duplicate_token", scores.duplicate_token, scores, config.name);
    write_heatmap(args.out, "induction", scores.induction, scores, config.name);
    fmt::print("wrote {}/{{previous_token,duplicate_token,induction}}.png\n", args.out);
  }
  return 0;
}

}  // namespace

CommandRunner add_heads_command(CLI::App& app) {
  auto args = std::make_shared<HeadsArguments>();
  CLI::App* command =
      app.add_subcommand("heads", "find a decoder's previous-token, duplicate-token and induction heads");
  add_decoder_model_options(command, args->model);
  command->add_option("--length", args->length, "random tokens in each copy")
      ->check(integer_in(2, 2048))
      ->capture_default_str();
  command->add_option("--seed", args->seed, "draws the random tokens and the control heads")
      ->check(unsigned_integer())
      ->capture_default_str();
  command->add_option("--top", args->top, "heads named per score, and ablated")
      ->check(integer_in(1, 4096))
      ->capture_default_str();
  command->add_option("--out", args->out, "write the scores as layer x head heatmaps into DIR (default: none)");
  return [command, args] { return command->parsed() ? run_heads(*args) : -1; };
}

}  // namespace attend::tools
