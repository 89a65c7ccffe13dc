// Attention rollout (Abnar and Zuidema 2020, "Quantifying Attention Flow in Transformers"):
// how much each output position draws on each input token through all layers, counting the
// residual connections as attention to oneself.
//
//   A_l = mean over heads of layer l's weights        (N, N)
//   Â_l = row_normalize(0.5 A_l + 0.5 I)
//   R   = Â_L Â_{L-1} ... Â_1                          (N, N), rows sum to 1
//
// A model with a [CLS] token reads row CLS of R. attend's image classifiers have none: they end
// in attention pooling, one learned query with weights p (N) over the last layer's outputs, so
// their rollout is p^T R; without p, the mean of R's rows (mean pooling) stands in for it.
#pragma once

#include <cstdint>
#include <vector>

#include "attend/viz/attention_document.h"

namespace attend::viz {

// layers[l] (N, N) row-major, first layer first -> R (N, N). Computed in double.
std::vector<double> attention_rollout(const std::vector<std::vector<double>>& layers, int64_t tokens);
// Self-attention maps (heads averaged), first layer first -> R (N, N).
std::vector<double> attention_rollout(const std::vector<const AttentionMap*>& layers);
// p^T R (N), or the mean of R's rows when `pooling` is empty.
std::vector<double> pooled_rollout(const std::vector<double>& rollout, int64_t tokens,
                                   const std::vector<double>& pooling = {});

}  // namespace attend::viz
