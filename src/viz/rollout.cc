#include "attend/viz/rollout.h"

#include "attend/core/error.h"

namespace attend::viz {

std::vector<double> attention_rollout(const std::vector<std::vector<double>>& layers, int64_t tokens) {
  ATTEND_CHECK(!layers.empty() && tokens > 0, ValueError,
               "attention_rollout: needs at least one layer of N > 0 tokens");
  const int64_t n = tokens;
  std::vector<double> rollout(n * n, 0.0);  // R = I before the first layer
  for (int64_t i = 0; i < n; ++i) rollout[i * n + i] = 1;
  for (size_t l = 0; l < layers.size(); ++l) {
    const std::vector<double>& a = layers[l];
    ATTEND_CHECK(static_cast<int64_t>(a.size()) == n * n, ValueError,
                 "attention_rollout: layer {} holds {} weights, not N x N = {}", l, a.size(), n * n);
    // Â = row_normalize(0.5 A + 0.5 I)
    std::vector<double> residual(n * n);
    for (int64_t i = 0; i < n; ++i) {
      double row = 0;
      for (int64_t j = 0; j < n; ++j) row += residual[i * n + j] = 0.5 * a[i * n + j] + (i == j ? 0.5 : 0.0);
      for (int64_t j = 0; j < n; ++j) residual[i * n + j] /= row;
    }
    // R = Â R
    std::vector<double> next(n * n, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t k = 0; k < n; ++k) {
        for (int64_t j = 0; j < n; ++j) next[i * n + j] += residual[i * n + k] * rollout[k * n + j];
      }
    }
    rollout = std::move(next);
  }
  return rollout;
}

std::vector<double> attention_rollout(const std::vector<const AttentionMap*>& layers) {
  ATTEND_CHECK(!layers.empty(), ValueError, "attention_rollout: no layers");
  std::vector<std::vector<double>> means;
  for (const AttentionMap* map : layers) {
    ATTEND_CHECK(
        map->rows == map->cols && map->rows == layers.front()->rows, ValueError,
        "attention_rollout: '{}' is {} x {}; rollout needs self-attention over the same {} tokens in every layer",
        map->name, map->rows, map->cols, layers.front()->rows);
    const std::vector<float> mean = map->mean_over_heads();
    means.emplace_back(mean.begin(), mean.end());
  }
  return attention_rollout(means, layers.front()->rows);
}

std::vector<double> pooled_rollout(const std::vector<double>& rollout, int64_t tokens,
                                   const std::vector<double>& pooling) {
  const int64_t n = tokens;
  ATTEND_CHECK(static_cast<int64_t>(rollout.size()) == n * n, ValueError, "pooled_rollout: {} values for N = {}",
               rollout.size(), n);
  ATTEND_CHECK(pooling.empty() || static_cast<int64_t>(pooling.size()) == n, ValueError,
               "pooled_rollout: {} pooling weights for N = {} tokens", pooling.size(), n);
  std::vector<double> pooled(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const double weight = pooling.empty() ? 1.0 / n : pooling[i];
    for (int64_t j = 0; j < n; ++j) pooled[j] += weight * rollout[i * n + j];
  }
  return pooled;
}

}  // namespace attend::viz
