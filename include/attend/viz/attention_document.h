// The attention of one input, ready to draw or export: the tokens and, for every attention
// module, the per-head weight matrices. Its JSON form is documented in docs/visualization.md and
// described by docs/attention.schema.json:
//
//   {"model": "g2p", "source_tokens": [...], "target_tokens": [...], "predicted_tokens": [...],
//    "attentions": [{"name": "decoder.0.cross", "kind": "cross", "layer": 0,
//                    "heads": H, "rows": N, "cols": M, "weights": [[[...M]...N]...H]}]}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/attention/attention_capture.h"

namespace attend::viz {

struct AttentionMap {
  std::string name;  // "encoder.2.self"
  AttentionKind kind = AttentionKind::kOther;
  int64_t layer = -1;
  int64_t heads = 0, rows = 0, cols = 0;  // H, N (queries), M (keys)
  std::vector<float> weights;             // (H, N, M) row-major

  const float* head(int64_t h) const { return weights.data() + h * rows * cols; }  // (N, M)
  std::vector<float> mean_over_heads() const;                                      // (N, M)
};

struct AttentionDocument {
  std::string model;                          // shown in titles: "g2p"
  std::vector<std::string> source_tokens;     // encoder input: rows and columns of encoder_self, columns of cross
  std::vector<std::string> target_tokens;     // decoder input: rows of decoder_self and cross, columns of decoder_self
  std::vector<std::string> predicted_tokens;  // optional: what each decoder position predicted
  std::vector<AttentionMap> attentions;

  // The maps of one kind, in order.
  std::vector<const AttentionMap*> of_kind(AttentionKind kind) const;
};

// Batch item `batch_index` of every record of the capture.
AttentionDocument make_document(const AttentionCapture& capture, std::string model,
                                std::vector<std::string> source_tokens, std::vector<std::string> target_tokens,
                                int64_t batch_index = 0);

// Labels of a map's rows (queries) or columns (keys) from the document's tokens by the map's kind;
// "0", "1", ... when the tokens do not match its size (kind other, or none given).
std::vector<std::string> row_labels(const AttentionDocument& document, const AttentionMap& map);
std::vector<std::string> column_labels(const AttentionDocument& document, const AttentionMap& map);

// The JSON text (weights rounded to 6 decimals), and back. parse_attention_json throws ValueError
// naming the first field that does not follow the schema.
std::string to_json(const AttentionDocument& document);
AttentionDocument parse_attention_json(const std::string& text);

}  // namespace attend::viz
