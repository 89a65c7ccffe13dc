// `attend search --corpus FILE QUERY... [--top K] [--model DIR] [--no-cache]`: the corpus lines
// nearest to each query by the cosine of their sentence embeddings. The corpus is embedded once
// and cached beside it:
//   FILE.attend-embeddings.npy    (lines, E) float32, L2-normalized rows
//   FILE.attend-embeddings.json   what the cache was made from, by content: FNV-1a 64 hashes of
//                                 the corpus and of every file of the model directory that
//                                 determines an embedding (weights, configurations, vocabulary,
//                                 pooling), attend's version, the line count; and the hash of the
//                                 .npy's bytes, checked when it is read
// A cache whose description does not match the corpus and model, or whose .npy is not the one
// described (edited, shuffled, truncated), is recomputed and replaced; the two files are attend's
// own, never a file the user had (the .json must say so).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <numeric>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/core/version.h"
#include "attend/io/atomic_file.h"
#include "attend/io/npy.h"
#include "attend/models/sentence_encoder.h"
#include "cli_checks.h"
#include "commands.h"
#include "encoder_model_flags.h"
#include "embed_command.h"

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

struct SearchArguments {
  EncoderModelFlags model{text::default_minilm_directory()};
  std::string corpus;
  std::vector<std::string> queries;
  int64_t top = 5;
  int64_t batch = 32;
  bool no_cache = false;
};

uint64_t fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ull) {
  for (const char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return hash;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The model's content, as far as it determines an embedding: a quantized GGUF file whole; of a
// directory, every .json, .txt and .safetensors file in it and its subfolders (the pooling
// module's), by relative path.
std::string model_hash(const std::string& model) {
  if (fs::is_regular_file(model)) return fmt::format("{:016x}", fnv1a64(read_file(model)));
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(model)) {
    const std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() && (extension == ".json" || extension == ".txt" || extension == ".safetensors")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  uint64_t hash = fnv1a64("");
  for (const fs::path& file : files) {
    hash = fnv1a64(fs::relative(file, model).string() + '\0', hash);
    hash = fnv1a64(read_file(file), hash);
  }
  return fmt::format("{:016x}", hash);
}

// What a cache of `corpus` by `model` must say it was made from.
nlohmann::json cache_description(const std::string& corpus, const EncoderModelFlags& model, int64_t lines) {
  const std::string bytes = read_file(corpus);
  return {{"made_by", "attend search"},
          {"attend_version", version()},
          {"corpus_bytes", bytes.size()},
          {"corpus_fnv1a64", fmt::format("{:016x}", fnv1a64(bytes))},
          {"model_fnv1a64", model_hash(model.model)},
          {"weights", model.weights},
          {"lines", lines}};
}

// The cached embeddings when the description matches and the .npy is the one it describes (its
// bytes' hash), else an undefined tensor.
Tensor<float> read_cache(const std::string& npy, const std::string& json, const nlohmann::json& expected) {
  std::error_code error;
  if (!fs::exists(npy, error) || !fs::exists(json, error)) return {};
  try {
    std::ifstream in(json);
    nlohmann::json stored = nlohmann::json::parse(in);
    const std::string npy_hash = stored.value("embeddings_fnv1a64", "");
    stored.erase("embeddings_fnv1a64");
    if (stored != expected || npy_hash != fmt::format("{:016x}", fnv1a64(read_file(npy)))) return {};
    Tensor<float> vectors = io::load_npy(npy);
    if (vectors.rank() != 2 || vectors.size(0) != expected["lines"].get<int64_t>()) return {};
    return vectors;
  } catch (const std::exception&) {
    return {};
  }
}

// Replaces the cache only when nothing is there or it is attend's own (its .json says so).
void write_cache(const std::string& npy, const std::string& json, const nlohmann::json& description,
                 const Tensor<float>& vectors) {
  std::error_code error;
  const bool exists = fs::exists(npy, error) || fs::exists(json, error);
  if (exists) {
    bool ours = false;
    try {
      std::ifstream in(json);
      ours = nlohmann::json::parse(in).value("made_by", "") == "attend search";
    } catch (const std::exception&) {
    }
    if (!ours) {
      std::cerr << fmt::format("attend: warning: not caching: '{}' or '{}' exists and is not attend's cache", npy, json)
                << std::endl;
      return;
    }
  }
  const std::string bytes = io::npy_bytes(vectors);
  nlohmann::json stored = description;
  stored["embeddings_fnv1a64"] = fmt::format("{:016x}", fnv1a64(bytes));
  io::AtomicFile embeddings(npy, true);
  embeddings.write(bytes.data(), bytes.size());
  embeddings.commit();
  const std::string text = stored.dump(2) + "\n";
  io::AtomicFile file(json, true);
  file.write(text.data(), text.size());
  file.commit();
}

int run_search(const SearchArguments& args) {
  const std::vector<std::string> lines = read_text_lines(args.corpus);
  ATTEND_CHECK(!lines.empty(), ValueError, "'{}' has no lines to search", args.corpus);
  keep_freed_memory_for_reuse();  // every batch frees and allocates activations of like sizes
  models::SentenceEncoder encoder = load_sentence_encoder(args.model);
  const std::string npy = args.corpus + ".attend-embeddings.npy", json = args.corpus + ".attend-embeddings.json";
  const nlohmann::json description = cache_description(args.corpus, args.model, static_cast<int64_t>(lines.size()));
  Tensor<float> corpus = args.no_cache ? Tensor<float>() : read_cache(npy, json, description);
  if (!corpus.defined()) {
    std::cerr << fmt::format("embedding the {} lines of {}", lines.size(), args.corpus) << std::endl;
    corpus = models::normalize_rows(encoder.embed(lines, args.batch).vectors);  // (lines, E)
    if (!args.no_cache) write_cache(npy, json, description, corpus);
  }
  const Tensor<float> queries = models::normalize_rows(encoder.embed(args.queries).vectors);  // (Q, E)
  const std::vector<float> c = corpus.to_vector(), q = queries.to_vector();
  const int64_t dim = corpus.size(1), count = corpus.size(0);
  for (size_t query = 0; query < args.queries.size(); ++query) {
    std::vector<double> scores(count);
    for (int64_t i = 0; i < count; ++i) {
      scores[i] = std::inner_product(c.begin() + i * dim, c.begin() + (i + 1) * dim, q.begin() + query * dim, 0.0);
    }
    std::vector<int64_t> order(count);
    std::iota(order.begin(), order.end(), 0);
    const int64_t shown = std::min(args.top, count);
    // Highest score first; ties by line number, so the listing is deterministic.
    std::partial_sort(order.begin(), order.begin() + shown, order.end(),
                      [&](int64_t a, int64_t b) { return scores[a] != scores[b] ? scores[a] > scores[b] : a < b; });
    if (args.queries.size() > 1) fmt::print("{}\n", args.queries[query]);
    for (int64_t r = 0; r < shown; ++r) {
      fmt::print("{:.4f}  {}: {}\n", scores[order[r]], order[r] + 1, lines[order[r]]);
    }
  }
  return 0;
}

}  // namespace

CommandRunner add_search_command(CLI::App& app) {
  auto args = std::make_shared<SearchArguments>();
  CLI::App* command =
      app.add_subcommand("search", "the lines of a text file nearest to a query by sentence-embedding cosine");
  command->add_option("query", args->queries, "the queries (UTF-8)")->required()->check(utf8_text());
  command->add_option("--corpus", args->corpus, "a text file, one text a line")->required()->check(CLI::ExistingFile);
  command->add_option("--top", args->top, "lines to show per query")
      ->check(integer_in(1, 1'000'000))
      ->capture_default_str();
  add_encoder_model_options(command, args->model);
  command->add_option("--batch", args->batch, "lines packed into one forward pass")
      ->check(integer_in(1, 65'536))
      ->capture_default_str();
  command->add_flag("--no-cache", args->no_cache, "neither read nor write FILE.attend-embeddings.{npy,json}");
  return [command, args] { return command->parsed() ? run_search(*args) : -1; };
}

}  // namespace attend::tools
