#include "attend/attention/attention_capture.h"

#include <algorithm>
#include <set>

#include "attend/core/error.h"

namespace attend {

const char* attention_kind_name(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::kEncoderSelf:
      return "encoder_self";
    case AttentionKind::kDecoderSelf:
      return "decoder_self";
    case AttentionKind::kCross:
      return "cross";
    case AttentionKind::kOther:
      return "other";
  }
  return "other";
}

AttentionKind attention_kind_from_name(const std::string& name) {
  for (AttentionKind kind :
       {AttentionKind::kEncoderSelf, AttentionKind::kDecoderSelf, AttentionKind::kCross, AttentionKind::kOther}) {
    if (name == attention_kind_name(kind)) return kind;
  }
  fail<ValueError>("attention kind '{}' is none of encoder_self, decoder_self, cross, other", name);
}

std::vector<float> AttentionRecord::head_matrix(int64_t b, int64_t h) const {
  ATTEND_CHECK(b >= 0 && b < batch && h >= 0 && h < heads, ValueError,
               "AttentionRecord '{}': batch item {} / head {} outside (B, H) = ({}, {})", name, b, h, batch, heads);
  const auto begin = weights.begin() + (b * heads + h) * rows * cols;
  return std::vector<float>(begin, begin + rows * cols);
}

AttentionCapture::AttentionCapture() : previous_(active_) { active_ = this; }

AttentionCapture::~AttentionCapture() { active_ = previous_; }

template <typename T>
void AttentionCapture::add(const void* module, const std::string& name, AttentionKind kind, int64_t layer,
                           const Tensor<T>& weights) {
  ATTEND_CHECK(weights.rank() == 4, ShapeError, "AttentionCapture: weights of '{}' must be (B, H, N, M), got {}", name,
               shape_string(weights.shape()));
  const int64_t batch = weights.size(0), heads = weights.size(1), rows = weights.size(2), cols = weights.size(3);
  const std::vector<T> values = weights.to_vector();  // (B, H, N, M) row-major
  auto last =
      std::find_if(records_.rbegin(), records_.rend(), [&](const AttentionRecord& r) { return r.module == module; });
  const bool append = last != records_.rend() && last->batch == batch && last->heads == heads && cols >= last->cols;
  if (!append) {
    if (last != records_.rend()) {
      layer = last->layer;
    } else if (layer < 0) {
      std::set<const void*> earlier;  // modules of this kind seen before
      for (const auto& r : records_) {
        if (r.kind == kind) earlier.insert(r.module);
      }
      layer = static_cast<int64_t>(earlier.size());
    }
    AttentionRecord record{module, name, kind, layer, batch, heads, rows, cols, {}};
    record.weights.assign(values.begin(), values.end());
    records_.push_back(std::move(record));
    return;
  }
  // Old rows (padded with zeros to the new width), then the new rows.
  AttentionRecord& r = *last;
  const int64_t total_rows = r.rows + rows;
  std::vector<float> merged(batch * heads * total_rows * cols, 0.0f);
  for (int64_t bh = 0; bh < batch * heads; ++bh) {
    for (int64_t i = 0; i < r.rows; ++i) {
      std::copy_n(r.weights.begin() + (bh * r.rows + i) * r.cols, r.cols,
                  merged.begin() + (bh * total_rows + i) * cols);
    }
    for (int64_t i = 0; i < rows; ++i) {
      std::copy_n(values.begin() + (bh * rows + i) * cols, cols,
                  merged.begin() + (bh * total_rows + r.rows + i) * cols);
    }
  }
  r.rows = total_rows;
  r.cols = cols;
  r.weights = std::move(merged);
}

std::vector<const AttentionRecord*> AttentionCapture::records_of_kind(AttentionKind kind) const {
  std::vector<const AttentionRecord*> found;
  for (const auto& r : records_) {
    if (r.kind == kind) found.push_back(&r);
  }
  return found;
}

const AttentionRecord* AttentionCapture::find(const std::string& name) const {
  for (auto r = records_.rbegin(); r != records_.rend(); ++r) {
    if (r->name == name) return &*r;
  }
  return nullptr;
}

template void AttentionCapture::add<float>(const void*, const std::string&, AttentionKind, int64_t,
                                           const Tensor<float>&);
template void AttentionCapture::add<double>(const void*, const std::string&, AttentionKind, int64_t,
                                            const Tensor<double>&);

}  // namespace attend
