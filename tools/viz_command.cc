#include "viz_command.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "attend/attention/attention_capture.h"
#include "attend/core/error.h"
#include "attend/data/fashion_mnist.h"
#include "attend/models/image_classifier.h"
#include "attend/models/image_classifier_factory.h"
#include "attend/viz/image_overlay.h"
#include "attend/viz/rollout.h"
#include "attend/io/safetensors.h"
#include "attend/viz/curves.h"
#include "attend/viz/explorer.h"
#include "attend/viz/g2p_attention.h"
#include "attend/viz/heatmap.h"
#include "attend/viz/output_file.h"
#include "attend/models/g2p_factory.h"
#include "attend/models/g2p_gguf.h"
#include "attend/models/bert_gguf.h"
#include "attend/models/sentence_encoder.h"
#include "attend/bpe/gguf_vocabulary.h"
#include "attend/decoder/llama_model.h"
#include "attend/core/autograd.h"
#include "cli_checks.h"
#include "commands.h"
#include "output_files.h"
#include "shipped_models.h"

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

viz::AttentionDocument make_document_of(const AttentionCapture& capture) {
  return viz::make_document(capture, "fashion-mnist", {}, {});
}

// Heads and mean of every attention map, the document and the explorer.
Files document_figures(const viz::AttentionDocument& document) {
  Files files;
  for (const viz::AttentionMap& map : document.attentions) {
    for (const auto& [extension, format] :
         {std::pair{"png", viz::ImageFormat::kPng}, {"svg", viz::ImageFormat::kSvg}}) {
      files.emplace_back(fmt::format("{}.heads.{}", map.name, extension),
                         viz::render_heatmap_grid(viz::head_grid(document, map), format));
      files.emplace_back(fmt::format("{}.mean.{}", map.name, extension),
                         viz::render_heatmap(viz::mean_heatmap(document, map), format));
    }
  }
  files.emplace_back("attention.json", viz::to_json(document));
  files.emplace_back("explorer.html", viz::render_explorer(document));
  return files;
}

Files g2p_figures(const io::SafetensorsFile& checkpoint, const std::string& word) {
  const auto model = models::load_g2p_model(checkpoint);
  return document_figures(viz::capture_g2p_attention(*model, word));
}

// A pretrained BERT-family encoder (--model DIR) on one text: every layer's self-attention, with
// the WordPiece tokens ([CLS] and [SEP] included) as labels.
Files bert_figures(const std::string& directory, const std::string& text) {
  models::SentenceEncoder encoder = models::load_sentence_encoder(directory);
  const text::Encoding encoding = encoder.encode({text})[0];
  if (encoding.truncated) {
    std::cerr << fmt::format("attend: warning: the input was cut from {} to the model's {} tokens",
                             encoding.untruncated_length, encoding.ids.size())
              << std::endl;
  }
  AttentionCapture capture;
  {
    NoGradGuard no_grad;
    encoder.model().forward(models::pack_encodings({encoding}));
  }
  const std::string name = fs::path(directory).lexically_normal().filename().string();
  return document_figures(viz::make_document(capture, name.empty() ? directory : name, encoding.tokens, {}));
}

// One forward pass of an image classifier on `image` (1, 28, 28), captured: the document of
// every map, and the rollout and last-layer heads as maps over the image.
struct ImageAttention {
  viz::AttentionDocument document;
  std::string title;
  viz::GrayImage gray;
  std::vector<viz::ImageAttentionMap> maps;
};

ImageAttention image_attention(models::ImageClassifier<float>& classifier, const Tensor<float>& image,
                               const std::string& description) {
  models::ImageClassifier<float>* model = &classifier;
  AttentionCapture capture;
  const Tensor<float> logits = model->forward(image.reshape({1, 1, 28, 28}));  // (1, 10)
  const std::vector<float> scores = logits.to_vector();
  const int64_t predicted = std::max_element(scores.begin(), scores.end()) - scores.begin();
  viz::AttentionDocument document = make_document_of(capture);
  std::vector<const viz::AttentionMap*> layers;
  for (const auto& map : document.attentions) layers.push_back(&map);
  ATTEND_CHECK(!layers.empty(), ValueError, "attend viz: the {} model recorded no attention", model->architecture());
  const int64_t tokens = layers.back()->cols;
  const int64_t grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens))));
  ATTEND_CHECK(grid * grid == tokens, ValueError, "attend viz: {} tokens do not form a square grid", tokens);
  // The explorer labels rows and columns by token: "r0c0", "r0c1", ... for the grid's positions.
  for (int64_t t = 0; t < tokens; ++t) document.source_tokens.push_back(fmt::format("r{}c{}", t / grid, t % grid));
  std::vector<viz::ImageAttentionMap> maps;
  // The learned pooling query's weights (1, N) weigh the rollout's rows, as the model does.
  const std::vector<float> pooling_weights = model->last_pooling_weights().to_vector();
  ATTEND_CHECK(static_cast<int64_t>(pooling_weights.size()) == tokens, ValueError,
               "attend viz: {} pooling weights for {} tokens", pooling_weights.size(), tokens);
  const std::vector<double> rollout = viz::pooled_rollout(
      viz::attention_rollout(layers), tokens, std::vector<double>(pooling_weights.begin(), pooling_weights.end()));
  maps.push_back({"rollout", grid, grid, std::vector<float>(rollout.begin(), rollout.end())});
  const viz::AttentionMap& last = *layers.back();
  for (int64_t h = 0; h < last.heads; ++h) {
    std::vector<float> received(tokens, 0.0f);  // mean over query rows
    for (int64_t i = 0; i < last.rows; ++i) {
      for (int64_t j = 0; j < tokens; ++j) received[j] += last.head(h)[i * tokens + j] / static_cast<float>(last.rows);
    }
    maps.push_back({fmt::format("{} head {}", last.name, h), grid, grid, received});
  }
  viz::GrayImage gray{28, 28, image.to_vector()};
  const std::string title = fmt::format("{} · {} · predicted {}", model->architecture(), description,
                                        data::fashion_mnist_class_name(predicted));
  return {document, title, gray, maps};
}

// Fashion-MNIST: --input "test:INDEX" (or "validation:INDEX") picks an image of the data set.
// One forward pass is captured; drawn over the upscaled image: the rollout through every
// layer (weighted by the attention pooling's weights, viz/rollout.h) and each head of the last
// layer (its attention received, the mean over query rows), as PNG and SVG, plus the JSON
// document of every map and the HTML explorer.
Files fashion_mnist_figures(const io::SafetensorsFile& checkpoint, const std::string& input) {
  const bool is_file = input.size() > 4 && input.compare(input.size() - 4, 4, ".png") == 0;
  const size_t colon = input.find(':');
  const std::string split = colon == std::string::npos ? "" : input.substr(0, colon);
  int64_t index = -1;
  try {
    size_t used = 0;
    index = colon == std::string::npos ? -1 : std::stoll(input.substr(colon + 1), &used);
    if (used != input.size() - colon - 1) index = -1;
  } catch (const std::exception&) {
    index = -1;
  }
  ATTEND_CHECK(is_file || ((split == "test" || split == "validation") && index >= 0), ValueError,
               "attend viz: --input '{}' is not an image of the data set or a PNG file; give test:INDEX, "
               "validation:INDEX or FILE.png (28 x 28, light on black)",
               input);
  const auto model = models::load_image_classifier(checkpoint);
  Tensor<float> image;  // (1, 28, 28)
  std::string description;
  if (is_file) {
    const viz::GrayImage png = viz::read_gray_png(input);
    ATTEND_CHECK(png.height == 28 && png.width == 28, ValueError,
                 "attend viz: '{}' is {} x {} pixels; Fashion-MNIST models take 28 x 28", input, png.height, png.width);
    image = Tensor<float>::from_vector({1, 28, 28}, png.pixels);
    description = fs::path(input).filename().string();
  } else {
    const data::FashionMnist data = data::load_fashion_mnist();
    const data::ImageSet& set = split == "test" ? data.test : data.validation;
    ATTEND_CHECK(index < set.images.size(0), ValueError, "attend viz: the {} split has {} images; {} is out of range",
                 split, set.images.size(0), index);
    image = set.images.slice(0, index, index + 1).contiguous();
    description =
        fmt::format("{} image {} ({})", split, index, data::fashion_mnist_class_name(set.labels.data()[index]));
  }
  const ImageAttention drawn = image_attention(*model, image, description);
  return {
      {"image_attention.png", viz::render_image_attention(drawn.title, drawn.gray, drawn.maps, viz::ImageFormat::kPng)},
      {"image_attention.svg", viz::render_image_attention(drawn.title, drawn.gray, drawn.maps, viz::ImageFormat::kSvg)},
      {"attention.json", viz::to_json(drawn.document)},
      {"explorer.html", viz::render_explorer(drawn.document)}};
}

// The figures of each kind of checkpoint, by the "task" in its metadata.
using FigureMaker = Files (*)(const io::SafetensorsFile& checkpoint, const std::string& input);
const std::map<std::string, FigureMaker>& figure_makers() {
  static const std::map<std::string, FigureMaker> makers = {{"g2p", g2p_figures},
                                                            {"fashion-mnist", fashion_mnist_figures}};
  return makers;
}

// A decoder language model (--model FILE.gguf) on one text: every layer's causal self-attention,
// all heads, with the tokens as the model reads them (bytes shown as text) as labels.
Files decoder_figures(const std::string& path, const std::string& text) {
  const decoder::LlamaModel model = decoder::LlamaModel::load(path, decoder::WeightPrecision::stored);
  const bpe::BpeTokenizer tokenizer(bpe::load_bpe_vocabulary(model.file()));
  const std::vector<int32_t> ids = tokenizer.encode(text);
  ATTEND_CHECK(!ids.empty(), ValueError, "attend viz: the input has no tokens");
  ATTEND_CHECK(ids.size() <= 512, ValueError,
               "attend viz: the input is {} tokens; the explorer draws at most 512 (every head is N x N)", ids.size());
  decoder::ForwardHooks hooks;
  hooks.capture_attention = true;
  decoder::KvCache cache = model.new_cache(static_cast<int64_t>(ids.size()));
  model.forward(ids, cache, false, hooks);
  viz::AttentionDocument document;
  document.model = model.config().name;
  for (int32_t id : ids) document.target_tokens.emplace_back(tokenizer.token_bytes(id));
  for (size_t layer = 0; layer < hooks.attention.size(); ++layer) {
    const Tensor<float>& weights = hooks.attention[layer];  // (H, N, N)
    document.attentions.push_back({fmt::format("decoder.{}.self", layer), AttentionKind::kDecoderSelf,
                                   static_cast<int64_t>(layer), weights.shape()[0], weights.shape()[1],
                                   weights.shape()[2], weights.to_vector()});
  }
  return document_figures(document);
}

// A decoder's GGUF file (a BERT encoder's, from attend quantize, goes to bert_figures).
bool is_decoder_gguf(const std::string& path) {
  return fs::path(path).extension() == ".gguf" && !models::is_bert_gguf_file(path);
}

struct VizArguments {
  std::string checkpoint, model, input, out;
};

int run_viz(VizArguments args) {
  ATTEND_CHECK(
      args.checkpoint.empty() || args.model.empty(), ValueError,
      "give a checkpoint (a model attend trained) or --model DIR (a pretrained BERT-family encoder), not both");
  if (args.checkpoint.empty() && args.model.empty()) args.checkpoint = shipped_g2p_checkpoint();
  viz::check_output_directory(args.out);  // before the model is loaded: fail fast, make nothing
  if (!args.model.empty()) {
    write_all(args.out, is_decoder_gguf(args.model) ? decoder_figures(args.model, args.input)
                                                    : bert_figures(args.model, args.input));
    return 0;
  }
  if (models::is_g2p_gguf_file(args.checkpoint)) {  // attend quantize's file of a G2P model
    write_all(args.out,
              document_figures(viz::capture_g2p_attention(*models::load_g2p_gguf(args.checkpoint), args.input)));
    return 0;
  }
  ATTEND_CHECK(!models::is_gguf_file(args.checkpoint), ValueError,
               "'{}' is a GGUF file: attend viz takes a G2P model's as the checkpoint, and an encoder's or a decoder's "
               "as --model",
               args.checkpoint);
  const io::SafetensorsFile checkpoint = io::load_safetensors(args.checkpoint);  // read once
  const io::Metadata& metadata = checkpoint.metadata();
  const std::string task = metadata.count("task") ? metadata.at("task") : "";
  const auto maker = figure_makers().find(task);
  if (maker == figure_makers().end()) {
    std::string known;
    for (const auto& [name, _] : figure_makers()) known += (known.empty() ? "" : ", ") + name;
    fail<ValueError>("'{}': attend viz does not know its task '{}' (known: {})", args.checkpoint, task, known);
  }
  write_all(args.out, maker->second(checkpoint, args.input));
  return 0;
}

}  // namespace

CommandRunner add_viz_command(CLI::App& app) {
  auto viz_args = std::make_shared<VizArguments>();
  CLI::App* viz =
      app.add_subcommand("viz", "draw a model's attention on one input: heatmaps, JSON and an HTML explorer");
  viz->add_option("checkpoint,--checkpoint", viz_args->checkpoint,
                  "model.safetensors of a model attend trained (attend train g2p|fashion-mnist --out; default: " +
                      shipped_g2p_description() + ")");
  viz->add_option("--model", viz_args->model,
                  "a pretrained BERT-family model directory, or a decoder's FILE.gguf, instead (e.g. the shipped "
                  "all-MiniLM-L6-v2: " +
                      text::default_minilm_directory() + "; default: none)");
  viz->add_option("--input", viz_args->input,
                  "the input: a word for G2P, 'test:N' for Fashion-MNIST, a text for --model")
      ->required()
      ->check(utf8_text());
  viz->add_option("--out", viz_args->out, "directory for the files (made if absent)")->required();
  return [viz, viz_args]() -> int { return viz->parsed() ? run_viz(*viz_args) : -1; };
}

std::string render_image_classifier_attention(models::ImageClassifier<float>& model, const Tensor<float>& image,
                                              const std::string& description) {
  const ImageAttention drawn = image_attention(model, image, description);
  return viz::render_image_attention(drawn.title, drawn.gray, drawn.maps, viz::ImageFormat::kPng);
}

}  // namespace attend::tools
