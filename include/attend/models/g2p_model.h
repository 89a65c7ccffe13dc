// What every grapheme-to-phoneme model shares: the letter and phoneme vocabularies, batching of
// id sequences, the edit distance behind the error rates, and the interface that training,
// evaluation and the command line use (models/g2p.h: Transformer; models/g2p_recurrent.h: GRU
// encoder with a Bahdanau-attention decoder).
//
//   source: letters of the word + </s>              (B, S)
//   target: <s> + phonemes  ->  phonemes + </s>     (B, T), teacher forcing
#pragma once

#include <map>
#include <string>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/nn/module.h"

namespace attend::models {

// Symbols <-> ids, with 0 = <pad>, 1 = <s>, 2 = </s>, 3 = <unk>.
class Vocabulary {
 public:
  static constexpr int64_t kPad = 0, kStart = 1, kEnd = 2, kUnknown = 3;
  explicit Vocabulary(const std::vector<std::string>& symbols);
  int64_t size() const { return static_cast<int64_t>(symbols_.size()); }
  int64_t id(const std::string& symbol) const;  // kUnknown when absent
  bool contains(const std::string& symbol) const { return ids_.count(symbol) == 1; }
  const std::string& symbol(int64_t id) const;
  const std::vector<std::string>& symbols() const { return symbols_; }

 private:
  std::vector<std::string> symbols_;
  std::map<std::string, int64_t> ids_;
};

// Letters a-z and the apostrophe; the 39 CMUdict phonemes.
Vocabulary letter_vocabulary();
Vocabulary phoneme_vocabulary();

template <typename T>
class G2PModel : public nn::Module<T> {
 public:
  // source (B, S) letter ids, target_in (B, T) phoneme ids starting with <s> -> logits (B, T, V).
  virtual Tensor<T> forward(const IndexTensor& source, const IndexTensor& target_in) = 0;
  // The phoneme ids of each word of source (B, S), without markers, at most max_steps each.
  virtual std::vector<std::vector<int64_t>> greedy_decode(const IndexTensor& source, int64_t max_steps) = 0;
  // Beam search for one word (source (1, S)); hypotheses ranked by length-normalized log-probability.
  virtual std::vector<int64_t> beam_search(const IndexTensor& source, int64_t beam_size, int64_t max_steps) = 0;
  // Longest pronunciation the model decodes (+ markers).
  virtual int64_t max_length() const = 0;
};

// Letter ids of a word + </s>; throws attend::ValueError naming characters outside the vocabulary.
std::vector<int64_t> encode_word(const Vocabulary& letters, const std::string& word);
// Pads id sequences into (B, L) with <pad>.
IndexTensor pad_batch(const std::vector<std::vector<int64_t>>& sequences);

// Edit distance between two id sequences (insertions, deletions, substitutions cost 1).
int64_t edit_distance(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

}  // namespace attend::models
