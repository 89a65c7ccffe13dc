#include "attend/viz/g2p_attention.h"

#include <fmt/format.h>

#include "attend/attention/attention_capture.h"
#include "attend/viz/heatmap.h"

namespace attend::viz {

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
  return document;
}

void write_g2p_alignment(const std::string& path, models::G2PModel<float>& model, const std::string& word) {
  image_format_of(path);  // a bad file name fails before decoding
  const AttentionDocument document = capture_g2p_attention(model, word);
  const AttentionMap& last = *document.of_kind(AttentionKind::kCross).back();
  Heatmap alignment = mean_heatmap(document, last);
  alignment.title = fmt::format("g2p · \"{}\" · {} · mean of {} heads", word, last.name, last.heads);
  alignment.column_axis = "letters";
  alignment.row_axis = "phonemes (predicted)";
  write_heatmap(path, alignment);
}

}  // namespace attend::viz
