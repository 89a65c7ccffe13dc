#include "attend/viz/g2p_attention.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "attend/attention/attention_capture.h"
#include "attend/core/autograd.h"
#include "attend/models/g2p_recurrent.h"
#include "attend/models/g2p_search.h"
#include "attend/ops/softmax.h"
#include "attend/viz/heatmap.h"

namespace attend::viz {

namespace {

// A variational recurrent model's posterior q(z_t | x, y) for y = the decoded phonemes (+ </s>
// when decoding said it), one row per decoding step: the map "decoder.posterior".
void add_posterior(AttentionDocument& document, models::G2PModel<float>& model, const std::vector<int64_t>& source,
                   const std::vector<int64_t>& decoded, size_t steps) {
  auto* recurrent = dynamic_cast<models::G2PRecurrent<float>*>(&model);
  if (recurrent == nullptr || (recurrent->config().alignment != models::AlignmentTraining::kVariationalEnum &&
                               recurrent->config().alignment != models::AlignmentTraining::kVariationalReinforce)) {
    return;
  }
  std::vector<int64_t> target(decoded.begin(), decoded.begin() + std::min(decoded.size(), steps));
  if (target.size() < steps) target.push_back(models::Vocabulary::kEnd);
  const models::DecodingGuard<float> decoding(model);
  NoGradGuard no_grad;
  const std::vector<float> q =
      softmax(recurrent->posterior(models::pad_batch({source}), models::pad_batch({target})), -1).to_vector();
  AttentionMap posterior;
  posterior.name = "decoder.posterior";
  posterior.kind = AttentionKind::kCross;
  posterior.layer = 0;
  posterior.heads = 1;
  posterior.rows = static_cast<int64_t>(steps);
  posterior.cols = static_cast<int64_t>(source.size());
  posterior.weights = q;  // (1, T, S)
  document.attentions.push_back(std::move(posterior));
}

}  // namespace

AttentionDocument capture_g2p_attention(models::G2PModel<float>& model, const std::string& word) {
  const models::Vocabulary letters = models::letter_vocabulary(), phonemes = models::phoneme_vocabulary();
  const std::vector<int64_t> source = models::encode_word(letters, word);  // letters + </s>
  AttentionCapture capture;
  const std::vector<int64_t> decoded = model.greedy_decode(models::pad_batch({source}), model.max_length())[0];

  std::vector<std::string> source_tokens, target_tokens = {"<s>"}, predicted;
  for (int64_t id : source) source_tokens.push_back(letters.symbol(id));
  for (int64_t id : decoded) predicted.push_back(phonemes.symbol(id));
  // The decoder ran one step per row of its maps: one per phoneme, plus the step that said </s>
  // unless it stopped at the length limit.
  const std::vector<const AttentionRecord*> cross = capture.records_of_kind(AttentionKind::kCross);
  const size_t steps = cross.empty() ? predicted.size() + 1 : static_cast<size_t>(cross.front()->rows);
  if (steps > predicted.size()) predicted.push_back("</s>");
  for (size_t t = 0; t + 1 < steps && t < decoded.size(); ++t) target_tokens.push_back(phonemes.symbol(decoded[t]));
  AttentionDocument document = make_document(capture, "g2p", std::move(source_tokens), std::move(target_tokens));
  document.predicted_tokens = std::move(predicted);
  add_posterior(document, model, source, decoded, steps);
  return document;
}

const AttentionMap* decoder_alignment(const AttentionDocument& document) {
  const AttentionMap* found = nullptr;
  for (const AttentionMap* map : document.of_kind(AttentionKind::kCross)) {
    if (map->name != "decoder.posterior") found = map;
  }
  return found;
}

void write_g2p_alignment(const std::string& path, models::G2PModel<float>& model, const std::string& word) {
  image_format_of(path);  // a bad file name fails before decoding
  const AttentionDocument document = capture_g2p_attention(model, word);
  const AttentionMap& last = *decoder_alignment(document);
  Heatmap alignment = mean_heatmap(document, last);
  alignment.title = fmt::format("g2p · \"{}\" · {} · mean of {} heads", word, last.name, last.heads);
  alignment.column_axis = "letters";
  alignment.row_axis = "phonemes (predicted)";
  write_heatmap(path, alignment);
}

}  // namespace attend::viz
