// The attention of the G2P Transformer (models/g2p.h) on one word, captured during greedy
// decoding with the key/value cache:
//
//   source_tokens     letters of the word + </s>                      (S)
//   target_tokens     <s> + the phonemes fed back into the decoder     (T)
//   predicted_tokens  the phoneme each decoder position predicted, the last one </s>  (T)
//
// 3 + 3 layers give 3 encoder_self (S, S), 3 decoder_self (T, T) and 3 cross (T, S) maps. The
// recurrent model gives one cross map, "decoder.attention" (the prior a_t); a variational one
// also "decoder.posterior", its inference network's q_t given the decoded phonemes (the same
// rows), so that prior and posterior show side by side.
#pragma once

#include <string>

#include "attend/models/g2p_model.h"
#include "attend/viz/attention_document.h"

namespace attend::viz {

// Throws ValueError for a word with characters outside the letter vocabulary (before decoding).
AttentionDocument capture_g2p_attention(models::G2PModel<float>& model, const std::string& word);

// The decoder's alignment map: the last cross-attention map that is not a posterior (the last
// decoder layer's; the recurrent model's prior); nullptr when there is none.
const AttentionMap* decoder_alignment(const AttentionDocument& document);

// The alignment of letters and phonemes: the last decoder layer's cross-attention, averaged over
// its heads, as a heatmap (.png or .svg by the extension), written atomically.
void write_g2p_alignment(const std::string& path, models::G2PModel<float>& model, const std::string& word);

}  // namespace attend::viz
