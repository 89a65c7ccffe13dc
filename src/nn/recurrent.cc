#include "attend/nn/recurrent.h"

#include <cmath>
#include <functional>
#include <string>

#include "attend/core/error.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/masking.h"
#include "attend/ops/matmul.h"
#include "attend/ops/shape_ops.h"

namespace attend::nn {
namespace {

constexpr int64_t kLstmGates = 4;  // i, f, g, o
constexpr int64_t kGruGates = 3;   // r, z, n

template <typename T>
std::string describe(const Tensor<T>& t) {
  return t.defined() ? shape_string(t.shape()) : "undefined";
}

// Checks one direction's weights for `gates` gates over inputs of width `input_size`; returns H.
template <typename T>
int64_t checked_hidden_size(const char* op, const RecurrentWeights<T>& w, int64_t gates, int64_t input_size) {
  const Tensor<T>& hh = w.weight_hh;
  ATTEND_CHECK(hh.defined() && hh.rank() == 2 && hh.size(1) > 0 && hh.size(0) == gates * hh.size(1), ShapeError,
               "{}: weight_hh {} must be ({} H, H)", op, describe(hh), gates);
  const int64_t hidden = hh.size(1);
  const Tensor<T>& ih = w.weight_ih;
  ATTEND_CHECK(ih.defined() && ih.shape() == Shape({gates * hidden, input_size}), ShapeError,
               "{}: weight_ih {} must be ({}, {}) to match weight_hh {} and inputs of width {}", op, describe(ih),
               gates * hidden, input_size, describe(hh), input_size);
  for (const Tensor<T>* bias : {&w.bias_ih, &w.bias_hh}) {
    ATTEND_CHECK(!bias->defined() || bias->shape() == Shape{gates * hidden}, ShapeError,
                 "{}: {} {} must be ({}) to match weight_hh {}", op, bias == &w.bias_ih ? "bias_ih" : "bias_hh",
                 describe(*bias), gates * hidden, describe(hh));
  }
  return hidden;
}

// A (B, H) state of a cell, zeros when undefined.
template <typename T>
Tensor<T> checked_cell_state(const char* op, const char* what, const Tensor<T>& state, int64_t batch, int64_t hidden) {
  if (!state.defined()) return Tensor<T>::zeros({batch, hidden});
  ATTEND_CHECK(state.shape() == Shape({batch, hidden}), ShapeError, "{}: {} {} must be (B, H) = ({}, {})", op, what,
               shape_string(state.shape()), batch, hidden);
  return state;
}

// One LSTM step given the input half of the pre-activations, gates_x (B, 4H) = W_ih x + b_ih,
// and the state h, c (B, H). The equations are in recurrent.h.
template <typename T>
LstmState<T> lstm_step(const Tensor<T>& gates_x, const LstmState<T>& state, const RecurrentWeights<T>& w,
                       int64_t hidden) {
  const Tensor<T> gates = add(gates_x, linear(state.hidden, w.weight_hh, w.bias_hh));      // (B, 4H)
  const std::vector<Tensor<T>> parts = split(gates, {hidden, hidden, hidden, hidden}, 1);  // each (B, H)
  const Tensor<T> input_gate = sigmoid(parts[0]);                                          // i
  const Tensor<T> forget_gate = sigmoid(parts[1]);                                         // f
  const Tensor<T> candidate = tanh(parts[2]);                                              // g
  const Tensor<T> output_gate = sigmoid(parts[3]);                                         // o
  const Tensor<T> cell = add(mul(forget_gate, state.cell), mul(input_gate, candidate));    // c' = f c + i g
  return {mul(output_gate, tanh(cell)), cell};                                             // h' = o tanh(c')
}

// One GRU step given gates_x (B, 3H) = W_ih x + b_ih and hidden (B, H).
template <typename T>
Tensor<T> gru_step(const Tensor<T>& gates_x, const Tensor<T>& hidden_state, const RecurrentWeights<T>& w,
                   int64_t hidden) {
  const Tensor<T> gates_h = linear(hidden_state, w.weight_hh, w.bias_hh);              // (B, 3H)
  const std::vector<Tensor<T>> x_parts = split(gates_x, {hidden, hidden, hidden}, 1);  // W_i{r,z,n} x + b_i{r,z,n}
  const std::vector<Tensor<T>> h_parts = split(gates_h, {hidden, hidden, hidden}, 1);  // W_h{r,z,n} h + b_h{r,z,n}
  const Tensor<T> reset = sigmoid(add(x_parts[0], h_parts[0]));                        // r
  const Tensor<T> update = sigmoid(add(x_parts[1], h_parts[1]));                       // z
  const Tensor<T> candidate = tanh(add(x_parts[2], mul(reset, h_parts[2])));           // n
  // h' = (1 - z) n + z h, computed as n + z (h - n): one op fewer on the tape, equal up to rounding.
  return add(candidate, mul(update, sub(hidden_state, candidate)));
}

// ---- sequences ----

struct SequenceShape {
  int64_t batch, steps, input_size, hidden, directions;
};

template <typename T>
SequenceShape checked_sequence(const char* op, const Tensor<T>& input,
                               const std::vector<RecurrentWeights<T>>& directions, int64_t gates,
                               const MaskTensor& padding_mask) {
  ATTEND_CHECK(input.rank() == 3 && input.size(1) > 0, ShapeError,
               "{}: input {} must be (B, T, I) with at least one step", op, shape_string(input.shape()));
  ATTEND_CHECK(directions.size() == 1 || directions.size() == 2, ValueError,
               "{}: needs the weights of 1 or 2 directions, got {}", op, directions.size());
  SequenceShape s{input.size(0), input.size(1), input.size(2), 0, static_cast<int64_t>(directions.size())};
  s.hidden = checked_hidden_size(op, directions[0], gates, s.input_size);
  if (s.directions == 2) {
    const int64_t reverse_hidden = checked_hidden_size(op, directions[1], gates, s.input_size);
    ATTEND_CHECK(reverse_hidden == s.hidden, ShapeError, "{}: reverse weight_hh {} differs from forward weight_hh {}",
                 op, describe(directions[1].weight_hh), describe(directions[0].weight_hh));
  }
  ATTEND_CHECK(!padding_mask.defined() || padding_mask.shape() == Shape({s.batch, s.steps}), ShapeError,
               "{}: padding_mask {} must be (B, T) = ({}, {}) for input {}", op, shape_string(padding_mask.shape()),
               s.batch, s.steps, shape_string(input.shape()));
  return s;
}

// Direction d's (B, H) slice of an initial state (D, B, H); zeros when undefined.
template <typename T>
Tensor<T> initial_state(const char* op, const char* what, const Tensor<T>& state, int64_t d, const SequenceShape& s) {
  if (!state.defined()) return Tensor<T>::zeros({s.batch, s.hidden});
  ATTEND_CHECK(state.shape() == Shape({s.directions, s.batch, s.hidden}), ShapeError,
               "{}: {} {} must be (D, B, H) = ({}, {}, {})", op, what, shape_string(state.shape()), s.directions,
               s.batch, s.hidden);
  return state.slice(0, d, d + 1).squeeze(0);
}

// W_ih x_t + b_ih for every step in one product: input (B, T, I) -> (B, T, G H).
template <typename T>
Tensor<T> project_inputs(const Tensor<T>& input, const RecurrentWeights<T>& w, const SequenceShape& s) {
  const Tensor<T> flat = input.reshape({s.batch * s.steps, s.input_size});  // (B T, I)
  return linear(flat, w.weight_ih, w.bias_ih).reshape({s.batch, s.steps, w.weight_ih.size(0)});
}

// The state of one direction: {h} for the GRU, {h, c} for the LSTM, each (B, H).
template <typename T>
using StateStep = std::function<std::vector<Tensor<T>>(const Tensor<T>& gates_x, const std::vector<Tensor<T>>& state)>;

template <typename T>
struct DirectionResult {
  std::vector<Tensor<T>> outputs;  // per step in time order, each (B, H)
  std::vector<Tensor<T>> state;    // final, each (B, H)
};

// Runs `step` over projected (B, T, G H) in time order, or backwards when `reverse`. padding
// holds padding_mask's (B, T) values row-major, or nothing. At a padded step the previous state
// is selected (masked_fill, not arithmetic, so the unused candidate cannot leak into it).
template <typename T>
DirectionResult<T> run_direction(const Tensor<T>& projected, std::vector<Tensor<T>> state, bool reverse,
                                 const std::vector<uint8_t>& padding, const StateStep<T>& step) {
  const int64_t batch = projected.size(0), steps = projected.size(1);
  DirectionResult<T> result;
  result.outputs.resize(steps);
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = reverse ? steps - 1 - k : k;
    std::vector<Tensor<T>> next = step(projected.slice(1, t, t + 1).squeeze(1), state);
    std::vector<uint8_t> padded(batch), real(batch);  // (B, 1) each
    bool any_padded = false;
    for (int64_t b = 0; b < batch && !padding.empty(); ++b) {
      padded[b] = padding[b * steps + t] != 0;
      real[b] = !padded[b];
      any_padded = any_padded || padded[b];
    }
    if (!any_padded) {
      result.outputs[t] = next[0];
      state = std::move(next);
      continue;
    }
    const MaskTensor padded_rows = MaskTensor::from_vector({batch, 1}, padded);
    const MaskTensor real_rows = MaskTensor::from_vector({batch, 1}, real);
    // state' = padded ? state : next;  output = padded ? 0 : next h
    for (size_t i = 0; i < state.size(); ++i) {
      state[i] = add(masked_fill(next[i], padded_rows, T(0)), masked_fill(state[i], real_rows, T(0)));
    }
    result.outputs[t] = masked_fill(next[0], padded_rows, T(0));
  }
  result.state = std::move(state);
  return result;
}

std::vector<uint8_t> padding_values(const MaskTensor& padding_mask) {
  return padding_mask.defined() ? padding_mask.to_vector() : std::vector<uint8_t>();
}

}  // namespace

template <typename T>
LstmState<T> lstm_cell(const Tensor<T>& x, const LstmState<T>& state, const RecurrentWeights<T>& weights) {
  ATTEND_CHECK(x.rank() == 2, ShapeError, "lstm_cell: input {} must be (B, I)", shape_string(x.shape()));
  const int64_t hidden = checked_hidden_size("lstm_cell", weights, kLstmGates, x.size(1));
  const LstmState<T> previous{checked_cell_state("lstm_cell", "hidden", state.hidden, x.size(0), hidden),
                              checked_cell_state("lstm_cell", "cell", state.cell, x.size(0), hidden)};
  return lstm_step(linear(x, weights.weight_ih, weights.bias_ih), previous, weights, hidden);
}

template <typename T>
Tensor<T> gru_cell(const Tensor<T>& x, const Tensor<T>& hidden_state, const RecurrentWeights<T>& weights) {
  ATTEND_CHECK(x.rank() == 2, ShapeError, "gru_cell: input {} must be (B, I)", shape_string(x.shape()));
  const int64_t hidden = checked_hidden_size("gru_cell", weights, kGruGates, x.size(1));
  const Tensor<T> previous = checked_cell_state("gru_cell", "hidden", hidden_state, x.size(0), hidden);
  return gru_step(linear(x, weights.weight_ih, weights.bias_ih), previous, weights, hidden);
}

template <typename T>
LstmOutput<T> lstm(const Tensor<T>& input, const std::vector<RecurrentWeights<T>>& directions,
                   const LstmState<T>& initial, const MaskTensor& padding_mask) {
  const SequenceShape s = checked_sequence("lstm", input, directions, kLstmGates, padding_mask);
  const std::vector<uint8_t> padding = padding_values(padding_mask);
  std::vector<Tensor<T>> outputs, final_hidden, final_cell;  // per direction: (B, T, H), (B, H), (B, H)
  for (int64_t d = 0; d < s.directions; ++d) {
    const RecurrentWeights<T>& w = directions[d];
    const StateStep<T> step = [&](const Tensor<T>& gates_x, const std::vector<Tensor<T>>& state) {
      LstmState<T> next = lstm_step(gates_x, LstmState<T>{state[0], state[1]}, w, s.hidden);
      return std::vector<Tensor<T>>{next.hidden, next.cell};
    };
    DirectionResult<T> r = run_direction(project_inputs(input, w, s),
                                         {initial_state("lstm", "initial hidden", initial.hidden, d, s),
                                          initial_state("lstm", "initial cell", initial.cell, d, s)},
                                         d == 1, padding, step);
    outputs.push_back(stack(r.outputs, 1));
    final_hidden.push_back(r.state[0]);
    final_cell.push_back(r.state[1]);
  }
  return {s.directions == 1 ? outputs[0] : concat(outputs, 2), {stack(final_hidden, 0), stack(final_cell, 0)}};
}

template <typename T>
GruOutput<T> gru(const Tensor<T>& input, const std::vector<RecurrentWeights<T>>& directions, const Tensor<T>& initial,
                 const MaskTensor& padding_mask) {
  const SequenceShape s = checked_sequence("gru", input, directions, kGruGates, padding_mask);
  const std::vector<uint8_t> padding = padding_values(padding_mask);
  std::vector<Tensor<T>> outputs, final_hidden;  // per direction: (B, T, H), (B, H)
  for (int64_t d = 0; d < s.directions; ++d) {
    const RecurrentWeights<T>& w = directions[d];
    const StateStep<T> step = [&](const Tensor<T>& gates_x, const std::vector<Tensor<T>>& state) {
      return std::vector<Tensor<T>>{gru_step(gates_x, state[0], w, s.hidden)};
    };
    DirectionResult<T> r = run_direction(
        project_inputs(input, w, s), {initial_state("gru", "initial hidden", initial, d, s)}, d == 1, padding, step);
    outputs.push_back(stack(r.outputs, 1));
    final_hidden.push_back(r.state[0]);
  }
  return {s.directions == 1 ? outputs[0] : concat(outputs, 2), stack(final_hidden, 0)};
}

MaskTensor padding_mask_from_lengths(const IndexTensor& lengths, int64_t steps) {
  ATTEND_CHECK(lengths.rank() == 1, ShapeError, "padding_mask_from_lengths: lengths {} must be (B)",
               shape_string(lengths.shape()));
  ATTEND_CHECK(steps >= 0, ValueError, "padding_mask_from_lengths: steps must be non-negative, got {}", steps);
  const std::vector<int64_t> values = lengths.to_vector();
  const int64_t batch = lengths.size(0);
  std::vector<uint8_t> padded(static_cast<size_t>(batch * steps));
  for (int64_t b = 0; b < batch; ++b) {
    ATTEND_CHECK(values[b] >= 0 && values[b] <= steps, ValueError,
                 "padding_mask_from_lengths: length {} of row {} is outside [0, {}]", values[b], b, steps);
    for (int64_t t = values[b]; t < steps; ++t) padded[b * steps + t] = 1;
  }
  return MaskTensor::from_vector({batch, steps}, padded);
}

// ---- layers ----

template <typename T>
RecurrentBase<T>::RecurrentBase(const RecurrentConfig& config, int64_t gates, bool cell, const char* layer,
                                Generator& generator)
    : config_(config) {
  ATTEND_CHECK(config.input_size > 0 && config.hidden_size > 0, ValueError,
               "{}: input_size ({}) and hidden_size ({}) must be positive", layer, config.input_size,
               config.hidden_size);
  const int64_t hidden = config.hidden_size;
  const T bound = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hidden)));
  auto draw = [&](const Shape& shape) { return Tensor<T>::uniform(shape, -bound, bound, generator); };
  for (int64_t d = 0; d < (config.bidirectional ? 2 : 1); ++d) {
    const std::string suffix = cell ? "" : d == 0 ? "_l0" : "_l0_reverse";
    RecurrentWeights<T> w;
    w.weight_ih = this->register_parameter("weight_ih" + suffix, draw({gates * hidden, config.input_size}));
    w.weight_hh = this->register_parameter("weight_hh" + suffix, draw({gates * hidden, hidden}));
    if (config.bias) {
      w.bias_ih = this->register_parameter("bias_ih" + suffix, draw({gates * hidden}));
      w.bias_hh = this->register_parameter("bias_hh" + suffix, draw({gates * hidden}));
    }
    directions_.push_back(w);
  }
}

template <typename T>
const RecurrentWeights<T>& RecurrentBase<T>::weights(int64_t direction) const {
  ATTEND_CHECK(direction >= 0 && direction < num_directions(), ValueError,
               "weights: direction {} is out of range for a layer with {} direction(s)", direction, num_directions());
  return directions_[direction];
}

template <typename T>
LSTM<T>::LSTM(const RecurrentConfig& config, Generator& generator)
    : RecurrentBase<T>(config, kLstmGates, /*cell=*/false, "LSTM", generator) {}

template <typename T>
LstmOutput<T> LSTM<T>::forward(const Tensor<T>& input, const LstmState<T>& initial,
                               const MaskTensor& padding_mask) const {
  return lstm(input, this->directions_, initial, padding_mask);
}

template <typename T>
GRU<T>::GRU(const RecurrentConfig& config, Generator& generator)
    : RecurrentBase<T>(config, kGruGates, /*cell=*/false, "GRU", generator) {}

template <typename T>
GruOutput<T> GRU<T>::forward(const Tensor<T>& input, const Tensor<T>& initial, const MaskTensor& padding_mask) const {
  return gru(input, this->directions_, initial, padding_mask);
}

template <typename T>
LSTMCell<T>::LSTMCell(int64_t input_size, int64_t hidden_size, bool bias, Generator& generator)
    : RecurrentBase<T>({input_size, hidden_size, bias, false}, kLstmGates, /*cell=*/true, "LSTMCell", generator) {}

template <typename T>
LstmState<T> LSTMCell<T>::forward(const Tensor<T>& x, const LstmState<T>& state) const {
  return lstm_cell(x, state, this->directions_[0]);
}

template <typename T>
GRUCell<T>::GRUCell(int64_t input_size, int64_t hidden_size, bool bias, Generator& generator)
    : RecurrentBase<T>({input_size, hidden_size, bias, false}, kGruGates, /*cell=*/true, "GRUCell", generator) {}

template <typename T>
Tensor<T> GRUCell<T>::forward(const Tensor<T>& x, const Tensor<T>& hidden) const {
  return gru_cell(x, hidden, this->directions_[0]);
}

#define ATTEND_INSTANTIATE(T)                                                                                 \
  template LstmState<T> lstm_cell(const Tensor<T>&, const LstmState<T>&, const RecurrentWeights<T>&);         \
  template Tensor<T> gru_cell(const Tensor<T>&, const Tensor<T>&, const RecurrentWeights<T>&);                \
  template LstmOutput<T> lstm(const Tensor<T>&, const std::vector<RecurrentWeights<T>>&, const LstmState<T>&, \
                              const MaskTensor&);                                                             \
  template GruOutput<T> gru(const Tensor<T>&, const std::vector<RecurrentWeights<T>>&, const Tensor<T>&,      \
                            const MaskTensor&);                                                               \
  template class RecurrentBase<T>;                                                                            \
  template class LSTM<T>;                                                                                     \
  template class GRU<T>;                                                                                      \
  template class LSTMCell<T>;                                                                                 \
  template class GRUCell<T>;
ATTEND_INSTANTIATE(float)
ATTEND_INSTANTIATE(double)
#undef ATTEND_INSTANTIATE

}  // namespace attend::nn
