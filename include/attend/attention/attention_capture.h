// Recording the attention weights of a model for one input, to look at them (viz/).
//
//   {
//     AttentionCapture capture;              // active on this thread until it goes out of scope
//     model.forward(source, target);         // or model.greedy_decode(source, steps)
//   }                                        // capture.records(): one per attention module
//
// While a capture is active, every nn::MultiHeadAttention::forward on this thread hands it the
// per-head softmax probabilities P (B, H, N, M) before dropout, labelled with the module's name
// and kind (MultiHeadAttention::set_label). The weights are computed by a second, reference
// attention call under no_grad, so the model's outputs, gradients and random streams are exactly
// those of a run without capture. With no capture active the module pays one thread-local
// pointer test.
//
// Incremental decoding: calls of one module (one object) under one capture are assembled into one record, the
// new query rows below the old ones; when a call has more keys than the rows before it (the
// decoder self-attention's cache grows by one key per step), the earlier rows are padded with
// zero weights on the right, which is what causal attention gives them. Greedy decoding thus
// yields full (T, T) decoder self-attention and (T, S) cross-attention maps per head. A call
// whose batch or head count differs from the record's, or with fewer keys, starts a new record
// for the same module (beam search changes its batch as beams die). Use one capture per input.
// A module without a layer index (-1) gets its rank among the modules of its kind, in call order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/core/tensor.h"

namespace attend {

// Which attention of an encoder-decoder a module computes; decides the token labels of its axes.
enum class AttentionKind {
  kEncoderSelf,  // source x source
  kDecoderSelf,  // target x target, causal
  kCross,        // target (queries) x source (keys)
  kOther,        // anything else (an image model's patches, a custom block)
};

// "encoder_self", "decoder_self", "cross", "other": the names used in the JSON export.
const char* attention_kind_name(AttentionKind kind);
// The inverse; throws ValueError naming the unknown kind.
AttentionKind attention_kind_from_name(const std::string& name);

struct AttentionRecord {
  const void* module = nullptr;  // identifies the module whose calls are assembled here
  std::string name;              // e.g. "decoder.1.cross"
  AttentionKind kind = AttentionKind::kOther;
  int64_t layer = -1;                                // index in its stack, -1 when the module has none
  int64_t batch = 0, heads = 0, rows = 0, cols = 0;  // B, H, N (queries), M (keys)
  std::vector<float> weights;                        // (B, H, N, M) row-major

  float at(int64_t b, int64_t h, int64_t i, int64_t j) const {
    return weights[((b * heads + h) * rows + i) * cols + j];
  }
  // One head of one batch item, (N, M) row-major.
  std::vector<float> head_matrix(int64_t b, int64_t h) const;
};

class AttentionCapture {
 public:
  // Becomes the active capture of the calling thread; a capture made while another is active
  // replaces it until the inner one is destroyed.
  AttentionCapture();
  ~AttentionCapture();
  AttentionCapture(const AttentionCapture&) = delete;
  AttentionCapture& operator=(const AttentionCapture&) = delete;

  // The capture recording on this thread, or nullptr: the only cost when not recording.
  static AttentionCapture* active() noexcept { return active_; }

  // weights (B, H, N, M) of one call of `module`: appended to the module's last record when they
  // fit (see above), else a new record.
  template <typename T>
  void add(const void* module, const std::string& name, AttentionKind kind, int64_t layer, const Tensor<T>& weights);

  const std::vector<AttentionRecord>& records() const { return records_; }
  // The records of one kind, in call order.
  std::vector<const AttentionRecord*> records_of_kind(AttentionKind kind) const;
  // The last record named `name`, or nullptr.
  const AttentionRecord* find(const std::string& name) const;

 private:
  static inline thread_local constinit AttentionCapture* active_ = nullptr;
  AttentionCapture* previous_;
  std::vector<AttentionRecord> records_;
};

extern template void AttentionCapture::add<float>(const void*, const std::string&, AttentionKind, int64_t,
                                                  const Tensor<float>&);
extern template void AttentionCapture::add<double>(const void*, const std::string&, AttentionKind, int64_t,
                                                   const Tensor<double>&);

}  // namespace attend
