#include "embed_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/io/atomic_file.h"
#include "attend/io/npy.h"
#include "attend/models/sentence_encoder.h"
#include "attend/text/unicode.h"
#include "attend/core/utf8.h"
#include "cli_checks.h"
#include "commands.h"
#include "encoder_model_flags.h"

namespace attend::tools {
namespace {

struct EmbedArguments {
  EncoderModelFlags model{text::default_minilm_directory()};
  std::vector<std::string> texts;
  std::string file;
  std::string out;
  int64_t batch = 32;
  bool overwrite = false;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "embedded 320 of 2000 texts" on stderr (for 256 texts or more): rewritten in place on a
// terminal, at every tenth otherwise.
std::function<void(int64_t, int64_t)> progress_reporter() {
  auto last_tenth = std::make_shared<int64_t>(0);
  return [last_tenth](int64_t done, int64_t total) {
    if (total < 256) return;
    if (::isatty(STDERR_FILENO)) {
      std::fprintf(stderr, "\rembedded %lld of %lld texts", static_cast<long long>(done),
                   static_cast<long long>(total));
      if (done == total) std::fprintf(stderr, "\n");
    } else if (const int64_t tenth = done * 10 / total; tenth != *last_tenth) {
      *last_tenth = tenth;
      std::fprintf(stderr, "embedded %lld of %lld texts\n", static_cast<long long>(done),
                   static_cast<long long>(total));
    }
  };
}

// One JSON object per text: {"text": ..., "embedding": [...]}.
std::string jsonl(const std::vector<std::string>& texts, const Tensor<float>& vectors) {
  std::string lines;
  const std::vector<float> values = vectors.to_vector();
  const int64_t dim = vectors.size(1);
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float> row(values.begin() + i * dim, values.begin() + (i + 1) * dim);
    lines += nlohmann::json{{"text", texts[i]}, {"embedding", row}}.dump() + "\n";
  }
  return lines;
}

void write_output(const EmbedArguments& args, const std::vector<std::string>& texts, const Tensor<float>& vectors,
                  double load_seconds, double embed_seconds) {
  if (ends_with(args.out, ".npy")) {
    io::save_npy(args.out, vectors, args.overwrite);
  } else {
    const std::string bytes = jsonl(texts, vectors);
    io::AtomicFile file(args.out, args.overwrite);
    file.write(bytes.data(), bytes.size());
    file.commit();
  }
  // The timing line bench/peers/minilm_speed.py reads.
  std::cerr << fmt::format(
                   "wrote {} embeddings of {} dimensions to {} (model loaded in {:.3f} s, embedded in {:.3f} s: "
                   "{:.1f} texts/s)",
                   vectors.size(0), vectors.size(1), args.out, load_seconds, embed_seconds,
                   static_cast<double>(vectors.size(0)) / std::max(embed_seconds, 1e-9))
            << std::endl;
}

int run_embed(const EmbedArguments& args) {
  ATTEND_CHECK(args.texts.empty() != args.file.empty(), ValueError, "give either TEXT... or --file FILE, not {}",
               args.texts.empty() ? "neither" : "both");
  ATTEND_CHECK(args.out.empty() || ends_with(args.out, ".npy") || ends_with(args.out, ".jsonl"), ValueError,
               "--out '{}': the name must end in .npy (float32 array, N x E) or .jsonl (one JSON object a text)",
               args.out);
  if (!args.out.empty() && !args.overwrite) {
    std::error_code error;
    ATTEND_CHECK(!std::filesystem::exists(args.out, error), io::IoError,
                 "--out '{}' exists; pass --overwrite to replace it", args.out);
  }
  const std::vector<std::string> texts = args.file.empty() ? args.texts : read_text_lines(args.file);
  const auto start = std::chrono::steady_clock::now();
  keep_freed_memory_for_reuse();  // every batch frees and allocates activations of like sizes
  models::SentenceEncoder encoder = load_sentence_encoder(args.model);
  const auto loaded = std::chrono::steady_clock::now();
  const models::SentenceEmbeddings embeddings = encoder.embed(texts, args.batch, progress_reporter());
  const auto embedded = std::chrono::steady_clock::now();
  for (const int64_t i : embeddings.truncated) {
    std::cerr << fmt::format("attend: warning: {} {} was cut to the model's {} tokens",
                             args.file.empty() ? "text" : "line", i + 1, encoder.config().max_length)
              << std::endl;
  }
  if (args.out.empty()) {
    std::cout << jsonl(texts, embeddings.vectors);
  } else {
    write_output(args, texts, embeddings.vectors, std::chrono::duration<double>(loaded - start).count(),
                 std::chrono::duration<double>(embedded - loaded).count());
  }
  return 0;
}

struct SimilarityArguments {
  EncoderModelFlags model{text::default_minilm_directory()};
  std::vector<std::string> texts;
};

int run_similarity(const SimilarityArguments& args) {
  models::SentenceEncoder encoder = load_sentence_encoder(args.model);
  const std::vector<float> e = models::normalize_rows(encoder.embed(args.texts).vectors).to_vector();  // (2, E)
  const int64_t dim = encoder.dimension();
  double cosine = 0;
  for (int64_t i = 0; i < dim; ++i) cosine += static_cast<double>(e[i]) * e[dim + i];
  fmt::print("{:.6f}\n", cosine);
  return 0;
}

}  // namespace

std::vector<std::string> read_text_lines(const std::string& path) {
  std::error_code error;
  ATTEND_CHECK(std::filesystem::is_regular_file(path, error), io::IoError, "cannot read '{}': {}", path,
               std::filesystem::exists(path, error) ? "it is not a regular file" : "it does not exist");
  std::ifstream in(path, std::ios::binary);
  ATTEND_CHECK(in.good(), io::IoError, "cannot read '{}'", path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t line_number = lines.size() + 1;
    ATTEND_CHECK(line.find('\0') == std::string::npos, ValueError, "'{}' line {} has a NUL byte: it is not a text file",
                 path, line_number);
    ATTEND_CHECK(is_utf8(line), ValueError, "'{}' line {} is not valid UTF-8", path, line_number);
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string read_text_file(const std::string& path) {
  std::error_code error;
  ATTEND_CHECK(std::filesystem::is_regular_file(path, error), io::IoError, "cannot read '{}': {}", path,
               std::filesystem::exists(path, error) ? "it is not a regular file" : "it does not exist");
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ATTEND_CHECK(!in.bad(), io::IoError, "cannot read '{}'", path);
  ATTEND_CHECK(text.find('\0') == std::string::npos && is_utf8(text), ValueError,
               "'{}' is not UTF-8 text (a NUL byte or an invalid sequence)", path);
  return text;
}

CommandRunner add_embed_command(CLI::App& app) {
  auto args = std::make_shared<EmbedArguments>();
  CLI::App* command = app.add_subcommand(
      "embed", "sentence embeddings of texts by a pretrained encoder (default: the shipped all-MiniLM-L6-v2)");
  command->add_option("text", args->texts, "the texts (UTF-8)")->check(utf8_text());
  command->add_option("--file", args->file, "a text file, one text a line (default: the texts given as arguments)")
      ->check(CLI::ExistingFile);
  add_encoder_model_options(command, args->model);
  command->add_option("--out", args->out,
                      "write FILE.npy (float32, N x E) or FILE.jsonl (default: JSON lines on stdout)");
  command->add_option("--batch", args->batch, "texts packed into one forward pass")
      ->check(integer_in(1, 65'536))
      ->capture_default_str();
  command->add_flag("--overwrite", args->overwrite, "replace --out when it exists");
  return [command, args] { return command->parsed() ? run_embed(*args) : -1; };
}

CommandRunner add_similarity_command(CLI::App& app) {
  auto args = std::make_shared<SimilarityArguments>();
  CLI::App* command = app.add_subcommand("similarity", "the cosine similarity of two texts' sentence embeddings");
  command->add_option("texts", args->texts, "two texts (UTF-8)")->required()->expected(2)->check(utf8_text());
  add_encoder_model_options(command, args->model);
  return [command, args] { return command->parsed() ? run_similarity(*args) : -1; };
}

}  // namespace attend::tools
