// The heatmaps of an attention document (declared in viz/heatmap.h).
#include <fmt/format.h>

#include "attend/core/error.h"
#include "attend/viz/heatmap.h"

namespace attend::viz {
namespace {

// Rows of a cross map show the predicted tokens when there are as many (see heatmap.h).
Heatmap labelled(const AttentionDocument& document, const AttentionMap& map) {
  Heatmap h;
  h.rows = map.rows;
  h.cols = map.cols;
  h.row_labels = row_labels(document, map);
  h.column_labels = column_labels(document, map);
  if (map.kind == AttentionKind::kCross && static_cast<int64_t>(document.predicted_tokens.size()) == map.rows) {
    h.row_labels = document.predicted_tokens;
    h.row_axis = "predicted";
  }
  switch (map.kind) {
    case AttentionKind::kEncoderSelf:
      h.row_axis = "source (queries)";
      h.column_axis = "source (keys)";
      break;
    case AttentionKind::kDecoderSelf:
      h.row_axis = "target (queries)";
      h.column_axis = "target (keys)";
      break;
    case AttentionKind::kCross:
      if (h.row_axis != "predicted") h.row_axis = "target (queries)";
      h.column_axis = "source (keys)";
      break;
    case AttentionKind::kOther:
      break;
  }
  return h;
}

std::string prefix(const AttentionDocument& document, const AttentionMap& map) {
  return document.model.empty() ? map.name : fmt::format("{} · {}", document.model, map.name);
}

}  // namespace

Heatmap head_heatmap(const AttentionDocument& document, const AttentionMap& map, int64_t head) {
  ATTEND_CHECK(head >= 0 && head < map.heads, ValueError, "'{}' has heads 0..{}, not {}", map.name, map.heads - 1,
               head);
  Heatmap h = labelled(document, map);
  h.title = fmt::format("{} · head {}", prefix(document, map), head);
  h.values.assign(map.head(head), map.head(head) + map.rows * map.cols);
  return h;
}

Heatmap mean_heatmap(const AttentionDocument& document, const AttentionMap& map) {
  Heatmap h = labelled(document, map);
  h.title = fmt::format("{} · mean of {} heads", prefix(document, map), map.heads);
  h.values = map.mean_over_heads();
  return h;
}

HeatmapGrid head_grid(const AttentionDocument& document, const AttentionMap& map) {
  HeatmapGrid grid;
  grid.title = fmt::format("{} · {} heads", prefix(document, map), map.heads);
  for (int64_t head = 0; head < map.heads; ++head) {
    Heatmap panel = head_heatmap(document, map, head);
    panel.title = fmt::format("head {}", head);
    grid.panels.push_back(std::move(panel));
  }
  return grid;
}

}  // namespace attend::viz
