#include "attend/models/g2p.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attend/attention/positional.h"
#include "attend/autograd/autograd.h"
#include "attend/core/error.h"
#include "attend/data/cmudict.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/indexing.h"
#include "attend/ops/softmax.h"

namespace attend::models {

Vocabulary::Vocabulary(const std::vector<std::string>& symbols) : symbols_{"<pad>", "<s>", "</s>", "<unk>"} {
  for (const auto& s : symbols) symbols_.push_back(s);
  for (size_t i = 0; i < symbols_.size(); ++i) {
    ATTEND_CHECK(ids_.emplace(symbols_[i], static_cast<int64_t>(i)).second, ValueError,
                 "Vocabulary: symbol '{}' appears twice", symbols_[i]);
  }
}

int64_t Vocabulary::id(const std::string& symbol) const {
  const auto found = ids_.find(symbol);
  return found == ids_.end() ? kUnknown : found->second;
}

const std::string& Vocabulary::symbol(int64_t id) const {
  ATTEND_CHECK(id >= 0 && id < size(), ValueError, "Vocabulary: id {} is out of range [0, {})", id, size());
  return symbols_[id];
}

Vocabulary letter_vocabulary() {
  std::vector<std::string> letters;
  for (char c = 'a'; c <= 'z'; ++c) letters.emplace_back(1, c);
  letters.emplace_back("'");
  return Vocabulary(letters);
}

Vocabulary phoneme_vocabulary() { return Vocabulary(data::cmudict_phonemes()); }

std::vector<int64_t> encode_word(const Vocabulary& letters, const std::string& word) {
  ATTEND_CHECK(!word.empty(), ValueError, "g2p: empty word");
  std::vector<int64_t> ids;
  for (char raw : word) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    const std::string symbol(1, c);
    ATTEND_CHECK(letters.contains(symbol), ValueError,
                 "g2p: '{}' has the character '{}' outside the vocabulary (letters a-z and the apostrophe)", word,
                 std::string(1, raw));
    ids.push_back(letters.id(symbol));
  }
  ids.push_back(Vocabulary::kEnd);
  return ids;
}

IndexTensor pad_batch(const std::vector<std::vector<int64_t>>& sequences) {
  size_t longest = 0;
  for (const auto& s : sequences) longest = std::max(longest, s.size());
  IndexTensor batch = IndexTensor::full({static_cast<int64_t>(sequences.size()), static_cast<int64_t>(longest)},
                                        Vocabulary::kPad);
  for (size_t b = 0; b < sequences.size(); ++b) std::copy(sequences[b].begin(), sequences[b].end(), batch.data() + b * longest);
  return batch;
}

int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int64_t diagonal = row[0];
    row[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int64_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <typename T>
G2PTransformer<T>::G2PTransformer(const G2PConfig& config, int64_t letters, int64_t phonemes, Generator& generator)
    : config_(config) {
  const int64_t e = config.model_dim;
  ATTEND_CHECK(e > 0 && config.encoder_layers > 0 && config.decoder_layers > 0, ValueError,
               "G2PTransformer: model_dim and layer counts must be positive");
  const T std = static_cast<T>(1.0 / std::sqrt(static_cast<double>(e)));
  letter_embedding_ = this->register_parameter("letter_embedding", mul_scalar(Tensor<T>::randn({letters, e}, generator), std));
  phoneme_embedding_ = this->register_parameter("phoneme_embedding", mul_scalar(Tensor<T>::randn({phonemes, e}, generator), std));
  nn::TransformerLayerConfig layer;
  layer.model_dim = e;
  layer.num_heads = config.num_heads;
  layer.feedforward_dim = config.feedforward_dim;
  layer.dropout = config.dropout;
  layer.norm_first = config.norm_first;
  for (int64_t i = 0; i < config.encoder_layers; ++i) {
    encoder_.push_back(this->register_module(fmt::format("encoder.{}", i),
                                             std::make_shared<nn::TransformerEncoderLayer<T>>(layer, generator)));
    encoder_.back()->set_attention_label(fmt::format("encoder.{}", i), i);
  }
  for (int64_t i = 0; i < config.decoder_layers; ++i) {
    decoder_.push_back(this->register_module(fmt::format("decoder.{}", i),
                                             std::make_shared<nn::TransformerDecoderLayer<T>>(layer, generator)));
    decoder_.back()->set_attention_label(fmt::format("decoder.{}", i), i);
  }
  if (config.norm_first) {
    encoder_norm_ = this->register_module("encoder_norm", std::make_shared<nn::LayerNormalization<T>>(e, 1e-5));
    decoder_norm_ = this->register_module("decoder_norm", std::make_shared<nn::LayerNormalization<T>>(e, 1e-5));
  }
  output_ = this->register_module("output", std::make_shared<nn::Linear<T>>(e, phonemes, true, generator));
  positions_ = sinusoidal_positional_encoding<T>(config.max_length, e);
}

template <typename T>
Tensor<T> G2PTransformer<T>::embed(const Tensor<T>& table, const IndexTensor& ids, int64_t offset) const {
  const int64_t length = ids.size(1);
  ATTEND_CHECK(offset + length <= config_.max_length, ValueError,
               "G2PTransformer: sequence of {} symbols at position {} exceeds max_length {}", length, offset,
               config_.max_length);
  const T scale = static_cast<T>(std::sqrt(static_cast<double>(config_.model_dim)));
  return add(mul_scalar(embedding(table, ids), scale), positions_.slice(0, offset, offset + length));  // (B, L, E)
}

template <typename T>
Tensor<T> G2PTransformer<T>::encode(const IndexTensor& source, MaskTensor* padding) {
  ATTEND_CHECK(source.rank() == 2, ShapeError, "G2PTransformer: source must be (B, S), got {}", shape_string(source.shape()));
  *padding = MaskTensor::empty(source.shape());
  for (int64_t i = 0; i < source.numel(); ++i) padding->data()[i] = source.data()[i] == Vocabulary::kPad;
  Tensor<T> x = embed(letter_embedding_, source, 0);  // (B, S, E)
  for (auto& layer : encoder_) x = layer->forward(x, *padding);
  return encoder_norm_ ? encoder_norm_->forward(x) : x;
}

template <typename T>
Tensor<T> G2PTransformer<T>::forward(const IndexTensor& source, const IndexTensor& target_in) {
  ATTEND_CHECK(target_in.rank() == 2 && target_in.size(0) == source.size(0), ShapeError,
               "G2PTransformer: target {} must be (B, T) with the batch of source {}", shape_string(target_in.shape()),
               shape_string(source.shape()));
  MaskTensor padding;
  const Tensor<T> memory = encode(source, &padding);  // (B, S, E)
  nn::TransformerMasks<T> masks;
  masks.source_padding = padding;
  Tensor<T> y = embed(phoneme_embedding_, target_in, 0);  // (B, T, E)
  for (auto& layer : decoder_) y = layer->forward(y, memory, masks);
  if (decoder_norm_) y = decoder_norm_->forward(y);
  return output_->forward(y);  // (B, T, V)
}

template <typename T>
Tensor<T> G2PTransformer<T>::decode_step(const Tensor<T>& memory, const MaskTensor& padding, const IndexTensor& tokens,
                                         std::vector<nn::DecoderLayerCache<T>>& caches, int64_t position) {
  nn::TransformerMasks<T> masks;
  masks.source_padding = padding;
  Tensor<T> y = embed(phoneme_embedding_, tokens, position);  // (B, 1, E)
  for (size_t l = 0; l < decoder_.size(); ++l) y = decoder_[l]->forward(y, memory, masks, &caches[l]);
  if (decoder_norm_) y = decoder_norm_->forward(y);
  return log_softmax(output_->forward(y).squeeze(1), -1);  // (B, V)
}

template <typename T>
std::vector<std::vector<int64_t>> G2PTransformer<T>::greedy_decode(const IndexTensor& source, int64_t max_steps) {
  NoGradGuard no_grad;
  const bool was_training = this->is_training();
  this->eval();
  MaskTensor padding;
  const Tensor<T> memory = encode(source, &padding);
  const int64_t batch = source.size(0);
  std::vector<nn::DecoderLayerCache<T>> caches(decoder_.size());
  std::vector<std::vector<int64_t>> outputs(batch);
  std::vector<bool> done(batch, false);
  IndexTensor tokens = IndexTensor::full({batch, 1}, Vocabulary::kStart);
  const int64_t steps = std::min(max_steps, config_.max_length);
  for (int64_t step = 0; step < steps; ++step) {
    const Tensor<T> log_probs = decode_step(memory, padding, tokens, caches, step);  // (B, V)
    const int64_t vocab = log_probs.size(1);
    bool all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      const T* row = log_probs.data() + b * vocab;
      const int64_t best = std::max_element(row, row + vocab) - row;
      tokens.data()[b] = best;
      if (!done[b]) {
        if (best == Vocabulary::kEnd) {
          done[b] = true;
        } else {
          outputs[b].push_back(best);
        }
      }
      all_done = all_done && done[b];
    }
    if (all_done) break;
  }
  this->train(was_training);
  return outputs;
}

template <typename T>
std::vector<int64_t> G2PTransformer<T>::beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps) {
  ATTEND_CHECK(source.rank() == 2 && source.size(0) == 1, ShapeError, "beam_search: source must be (1, S), got {}",
               shape_string(source.shape()));
  ATTEND_CHECK(beam_size >= 1, ValueError, "beam_search: beam size must be >= 1, got {}", beam_size);
  NoGradGuard no_grad;
  const bool was_training = this->is_training();
  this->eval();
  MaskTensor padding;
  const Tensor<T> memory_one = encode(source, &padding);
  struct Beam {
    std::vector<int64_t> tokens;
    double log_prob = 0;
  };
  std::vector<Beam> beams = {Beam{}}, finished;
  std::vector<nn::DecoderLayerCache<T>> caches(decoder_.size());
  const int64_t steps = std::min(max_steps, config_.max_length);
  for (int64_t step = 0; step < steps && !beams.empty(); ++step) {
    const int64_t live = static_cast<int64_t>(beams.size());
    IndexTensor tokens = IndexTensor::empty({live, 1});
    for (int64_t i = 0; i < live; ++i) tokens.data()[i] = beams[i].tokens.empty() ? Vocabulary::kStart : beams[i].tokens.back();
    const Tensor<T> memory = memory_one.expand({live, memory_one.size(1), memory_one.size(2)});
    const MaskTensor beam_padding = padding.expand({live, padding.size(1)});
    const Tensor<T> log_probs = decode_step(memory, beam_padding, tokens, caches, step);  // (live, V)
    const int64_t vocab = log_probs.size(1);
    struct Candidate {
      double score;
      int64_t beam, token;
    };
    std::vector<Candidate> candidates;
    for (int64_t i = 0; i < live; ++i) {
      for (int64_t v = Vocabulary::kEnd; v < vocab; ++v) {
        if (v == Vocabulary::kUnknown) continue;
        candidates.push_back({beams[i].log_prob + static_cast<double>(log_probs.data()[i * vocab + v]), i, v});
      }
    }
    const size_t keep = std::min<size_t>(candidates.size(), static_cast<size_t>(beam_size));
    std::partial_sort(candidates.begin(), candidates.begin() + keep, candidates.end(),
                      [](const Candidate& a, const Candidate& b) { return a.score > b.score || (a.score == b.score && a.token < b.token); });
    std::vector<Beam> next;
    std::vector<int64_t> parents;
    for (size_t c = 0; c < keep; ++c) {
      Beam beam{beams[candidates[c].beam].tokens, candidates[c].score};
      if (candidates[c].token == Vocabulary::kEnd) {
        finished.push_back(beam);
      } else {
        beam.tokens.push_back(candidates[c].token);
        next.push_back(beam);
        parents.push_back(candidates[c].beam);
      }
    }
    if (static_cast<int64_t>(finished.size()) >= beam_size) break;
    // Reorder each layer's cache to follow the surviving beams.
    if (!next.empty()) {
      const IndexTensor index = IndexTensor::from_vector({static_cast<int64_t>(parents.size())}, parents);
      for (auto& cache : caches) {
        cache.self_attention.keys = index_select(cache.self_attention.keys, 0, index);
        cache.self_attention.values = index_select(cache.self_attention.values, 0, index);
      }
    }
    beams = std::move(next);
  }
  for (auto& beam : beams) finished.push_back(beam);  // unfinished at the step limit
  this->train(was_training);
  const auto best = std::max_element(finished.begin(), finished.end(), [](const Beam& a, const Beam& b) {
    // Length-normalized: the mean log-probability per emitted symbol (</s> included).
    return a.log_prob / (a.tokens.size() + 1) < b.log_prob / (b.tokens.size() + 1);
  });
  return best == finished.end() ? std::vector<int64_t>{} : best->tokens;
}

template class G2PTransformer<float>;
template class G2PTransformer<double>;

}  // namespace attend::models
