// Recurrent layers with PyTorch's equations, gate order, parameter names and initialization:
// the LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers, Schmidhuber & Cummins
// 2000) and the GRU (Cho et al. 2014), one layer, batch first, optionally bidirectional.
//
// LSTM, gates (i, f, g, o) stacked in that order along the 4H rows of the weights:
//   i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)
//   f  = sigmoid(W_if x + b_if + W_hf h + b_hf)
//   g  = tanh   (W_ig x + b_ig + W_hg h + b_hg)
//   o  = sigmoid(W_io x + b_io + W_ho h + b_ho)
//   c' = f * c + i * g
//   h' = o * tanh(c')
// GRU, gates (r, z, n) along 3H rows:
//   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n  = tanh   (W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
//
// Sequences. input (B, T, I) -> output (B, T, D H), D = 2 when bidirectional (the forward
// direction's H features, then the reverse direction's, which reads t = T-1 .. 0). Final states
// are (D, B, H); initial states too, zeros when undefined.
//
// Padding. padding_mask (B, T), nonzero = padding. At a padded step (b, t) the state of row b is
// carried over bitwise unchanged and output[b, t] is zero; the final state is the state after
// the row's last real step (in each direction's reading order). With right padding, as from
// padding_mask_from_lengths, this is PyTorch's packed-sequence result: the reverse direction
// starts at the row's last real token.
//
// Cost. The input projections of all steps are one matmul; each step is one matmul with W_hh and
// a few element-wise ops on the tape. (Every step's slice of the projections sends back a
// full-size gradient, so backward does O(T^2 B H) memory traffic: fine for the short sequences
// these layers serve; a fused backward through time would remove it.)
#pragma once

#include <vector>

#include "attend/core/random.h"
#include "attend/nn/module.h"

namespace attend::nn {

// The parameters of one direction (or of a cell). G = 4 for the LSTM, 3 for the GRU.
template <typename T>
struct RecurrentWeights {
  Tensor<T> weight_ih;  // (G H, I)
  Tensor<T> weight_hh;  // (G H, H)
  Tensor<T> bias_ih;    // (G H) or undefined
  Tensor<T> bias_hh;    // (G H) or undefined
};

template <typename T>
struct LstmState {
  Tensor<T> hidden;  // h: (B, H) for a cell; (D, B, H) for a sequence; undefined = zeros
  Tensor<T> cell;    // c: the shape of hidden; undefined = zeros
};

template <typename T>
struct LstmOutput {
  Tensor<T> output;    // (B, T, D H)
  LstmState<T> state;  // final h and c, each (D, B, H)
};

template <typename T>
struct GruOutput {
  Tensor<T> output;  // (B, T, D H)
  Tensor<T> hidden;  // final h, (D, B, H)
};

// ---- functional forms (every weight is an input, so tests can perturb it) ----

// One LSTM step: x (B, I), state h and c (B, H) -> next h and c (B, H).
template <typename T>
LstmState<T> lstm_cell(const Tensor<T>& x, const LstmState<T>& state, const RecurrentWeights<T>& weights);

// One GRU step: x (B, I), hidden (B, H) or undefined (zeros) -> next hidden (B, H).
template <typename T>
Tensor<T> gru_cell(const Tensor<T>& x, const Tensor<T>& hidden, const RecurrentWeights<T>& weights);

// A whole sequence: input (B, T, I), one RecurrentWeights per direction (1 or 2; the second
// reads the sequence backwards), initial states (D, B, H) or undefined, padding_mask (B, T)
// nonzero = padding, or undefined.
template <typename T>
LstmOutput<T> lstm(const Tensor<T>& input, const std::vector<RecurrentWeights<T>>& directions,
                   const LstmState<T>& initial = {}, const MaskTensor& padding_mask = MaskTensor());
template <typename T>
GruOutput<T> gru(const Tensor<T>& input, const std::vector<RecurrentWeights<T>>& directions,
                 const Tensor<T>& initial = Tensor<T>(), const MaskTensor& padding_mask = MaskTensor());

// lengths (B), each in [0, steps] -> padding mask (B, steps): 1 where t >= lengths[b].
MaskTensor padding_mask_from_lengths(const IndexTensor& lengths, int64_t steps);

// ---- layers ----

struct RecurrentConfig {
  int64_t input_size = 0;   // I
  int64_t hidden_size = 0;  // H
  bool bias = true;
  bool bidirectional = false;
};

// The parameters shared by the recurrent layers: per direction weight_ih, weight_hh, bias_ih,
// bias_hh (named with the suffix "_l0", and "_l0_reverse" for the reverse direction, as
// torch.nn.LSTM/GRU; without suffix for the cells, as torch.nn.LSTMCell/GRUCell), each drawn
// from U(-1/sqrt(H), 1/sqrt(H)) in that order, PyTorch's default.
template <typename T>
class RecurrentBase : public Module<T> {
 public:
  const RecurrentConfig& config() const { return config_; }
  int64_t num_directions() const { return static_cast<int64_t>(directions_.size()); }
  // 0: forward in time; 1: reverse (bidirectional layers only).
  const RecurrentWeights<T>& weights(int64_t direction = 0) const;

 protected:
  RecurrentBase(const RecurrentConfig& config, int64_t gates, bool cell, const char* layer, Generator& generator);

  RecurrentConfig config_;
  std::vector<RecurrentWeights<T>> directions_;  // 1 or 2 (forward, reverse); shapes as in RecurrentWeights
};

template <typename T>
class LSTM : public RecurrentBase<T> {
 public:
  LSTM(const RecurrentConfig& config, Generator& generator);
  // See lstm() for the shapes and the padding semantics.
  LstmOutput<T> forward(const Tensor<T>& input, const LstmState<T>& initial = {},
                        const MaskTensor& padding_mask = MaskTensor()) const;
};

template <typename T>
class GRU : public RecurrentBase<T> {
 public:
  GRU(const RecurrentConfig& config, Generator& generator);
  // See gru() for the shapes and the padding semantics.
  GruOutput<T> forward(const Tensor<T>& input, const Tensor<T>& initial = Tensor<T>(),
                       const MaskTensor& padding_mask = MaskTensor()) const;
};

// One step at a time, for decoders that feed each output back in.
template <typename T>
class LSTMCell : public RecurrentBase<T> {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias, Generator& generator);
  // x (B, I), state h and c (B, H) or undefined (zeros) -> next h and c (B, H).
  LstmState<T> forward(const Tensor<T>& x, const LstmState<T>& state = {}) const;
};

template <typename T>
class GRUCell : public RecurrentBase<T> {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias, Generator& generator);
  // x (B, I), hidden (B, H) or undefined (zeros) -> next hidden (B, H).
  Tensor<T> forward(const Tensor<T>& x, const Tensor<T>& hidden = Tensor<T>()) const;
};

extern template class RecurrentBase<float>;
extern template class RecurrentBase<double>;
extern template class LSTM<float>;
extern template class LSTM<double>;
extern template class GRU<float>;
extern template class GRU<double>;
extern template class LSTMCell<float>;
extern template class LSTMCell<double>;
extern template class GRUCell<float>;
extern template class GRUCell<double>;

}  // namespace attend::nn
