// LSTM and GRU (nn/recurrent.h): the harness on every weight and state of the cells and of whole
// sequences (bidirectional, masked), float64 loops of PyTorch's gate equations, padding
// semantics, the cell API against the sequence layers, parameter names and initialization, misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "attend/nn/recurrent.h"
#include "harness/module_gradcheck.h"
#include "harness/op_harness.h"
#include "harness/expect_error.h"

namespace attend {
namespace {

using nn::RecurrentWeights;
using testing::InputSpec;
using testing::make_case;

enum class Kind { kLstm, kGru };

int64_t gate_count(Kind kind) { return kind == Kind::kLstm ? 4 : 3; }

// ---- float64 loop references: PyTorch's equations, written out literally ----

double sigmoid_ref(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// One step for one batch row: x (I), h and c (H) updated in place (c unused by the GRU).
void reference_step(Kind kind, const RecurrentWeights<double>& w, const double* x, std::vector<double>& h,
                    std::vector<double>& c) {
  const int64_t hidden = w.weight_hh.size(1), input = w.weight_ih.size(1), rows = gate_count(kind) * hidden;
  std::vector<double> gx(rows), gh(rows);  // W_ih x + b_ih, W_hh h + b_hh
  for (int64_t k = 0; k < rows; ++k) {
    gx[k] = w.bias_ih.defined() ? w.bias_ih.at({k}) : 0.0;
    gh[k] = w.bias_hh.defined() ? w.bias_hh.at({k}) : 0.0;
    for (int64_t i = 0; i < input; ++i) gx[k] += w.weight_ih.at({k, i}) * x[i];
    for (int64_t j = 0; j < hidden; ++j) gh[k] += w.weight_hh.at({k, j}) * h[j];
  }
  const int64_t H = hidden;
  for (int64_t j = 0; j < H; ++j) {
    if (kind == Kind::kLstm) {
      const double i = sigmoid_ref(gx[j] + gh[j]);
      const double f = sigmoid_ref(gx[H + j] + gh[H + j]);
      const double g = std::tanh(gx[2 * H + j] + gh[2 * H + j]);
      const double o = sigmoid_ref(gx[3 * H + j] + gh[3 * H + j]);
      c[j] = f * c[j] + i * g;
      h[j] = o * std::tanh(c[j]);
    } else {
      const double r = sigmoid_ref(gx[j] + gh[j]);
      const double z = sigmoid_ref(gx[H + j] + gh[H + j]);
      const double n = std::tanh(gx[2 * H + j] + r * gh[2 * H + j]);
      h[j] = (1 - z) * n + z * h[j];
    }
  }
}

struct Reference {
  std::vector<double> output;        // (B, T, D H)
  std::vector<double> hidden, cell;  // (D, B, H)
};

// Padded steps (padding[b T + t] != 0) are skipped: no update, zero output.
Reference reference_sequence(Kind kind, const Tensor64& x, const std::vector<RecurrentWeights<double>>& directions,
                             const Tensor64& h0, const Tensor64& c0, const std::vector<uint8_t>& padding) {
  const int64_t batch = x.size(0), steps = x.size(1), input = x.size(2);
  const int64_t hidden = directions[0].weight_hh.size(1), dirs = static_cast<int64_t>(directions.size());
  const std::vector<double> xs = x.to_vector();
  Reference r{std::vector<double>(batch * steps * dirs * hidden), std::vector<double>(dirs * batch * hidden),
              std::vector<double>(dirs * batch * hidden)};
  for (int64_t d = 0; d < dirs; ++d) {
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<double> h(hidden, 0.0), c(hidden, 0.0);
      for (int64_t j = 0; j < hidden; ++j) {
        if (h0.defined()) h[j] = h0.at({d, b, j});
        if (c0.defined()) c[j] = c0.at({d, b, j});
      }
      for (int64_t k = 0; k < steps; ++k) {
        const int64_t t = d == 1 ? steps - 1 - k : k;
        if (!padding.empty() && padding[b * steps + t]) continue;
        reference_step(kind, directions[d], &xs[(b * steps + t) * input], h, c);
        for (int64_t j = 0; j < hidden; ++j) r.output[((b * steps + t) * dirs + d) * hidden + j] = h[j];
      }
      for (int64_t j = 0; j < hidden; ++j) {
        r.hidden[(d * batch + b) * hidden + j] = h[j];
        r.cell[(d * batch + b) * hidden + j] = c[j];
      }
    }
  }
  return r;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tolerance,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tolerance) << what << " element " << i;
}

// ---- harness plumbing: weights and states as op inputs ----

template <typename T>
Tensor<T> flat_concat(const std::vector<Tensor<T>>& parts) {
  std::vector<Tensor<T>> flat;
  for (const auto& p : parts) flat.push_back(p.reshape({-1}));
  return concat(flat, 0);
}

// Per direction: weight_ih (G H, I), weight_hh (G H, H), and with bias bias_ih, bias_hh (G H).
void add_weight_specs(std::vector<InputSpec>& specs, Kind kind, int64_t input, int64_t hidden, bool bias) {
  const int64_t rows = gate_count(kind) * hidden;
  specs.push_back(InputSpec{{rows, input}});
  specs.push_back(InputSpec{{rows, hidden}});
  if (bias) {
    specs.push_back(InputSpec{{rows}});
    specs.push_back(InputSpec{{rows}});
  }
}

template <typename T>
RecurrentWeights<T> weights_at(const std::vector<Tensor<T>>& x, size_t first, bool bias) {
  return {x[first], x[first + 1], bias ? x[first + 2] : Tensor<T>(), bias ? x[first + 3] : Tensor<T>()};
}

struct SequenceCase {
  std::string name;
  int64_t batch, steps, input, hidden;
  bool bidirectional, bias, initial_state;
  std::vector<uint8_t> padding;  // (B, T) or empty
};

const std::vector<SequenceCase> kSequenceCases = {
    {"one direction, zero state", 2, 3, 3, 2, false, true, false, {}},
    {"one direction, initial state, no bias", 1, 4, 2, 3, false, false, true, {}},
    {"bidirectional, initial state", 2, 3, 2, 2, true, true, true, {}},
    // Row 0 has a hole at t = 1; row 1 is right-padded after 1 step.
    {"bidirectional, padded", 2, 3, 3, 2, true, true, true, {0, 1, 0, 0, 1, 1}},
};

MaskTensor mask_of(const SequenceCase& c) {
  return c.padding.empty() ? MaskTensor() : MaskTensor::from_vector({c.batch, c.steps}, c.padding);
}

// Inputs: x (B, T, I), [h0 (D, B, H), [c0 (D, B, H)]], then each direction's weights.
std::vector<InputSpec> sequence_specs(Kind kind, const SequenceCase& c) {
  const int64_t dirs = c.bidirectional ? 2 : 1;
  std::vector<InputSpec> specs = {InputSpec{{c.batch, c.steps, c.input}}};
  if (c.initial_state) {
    specs.push_back(InputSpec{{dirs, c.batch, c.hidden}});
    if (kind == Kind::kLstm) specs.push_back(InputSpec{{dirs, c.batch, c.hidden}});
  }
  for (int64_t d = 0; d < dirs; ++d) add_weight_specs(specs, kind, c.input, c.hidden, c.bias);
  return specs;
}

TEST(LstmCell, HarnessOnInputStateAndEveryWeight) {
  for (bool bias : {true, false}) {
    std::vector<InputSpec> specs = {InputSpec{{3, 4}}, InputSpec{{3, 2}}, InputSpec{{3, 2}}};  // x, h, c
    add_weight_specs(specs, Kind::kLstm, 4, 2, bias);
    EXPECT_OP_OK(make_case(bias ? "lstm_cell" : "lstm_cell no bias", specs, [bias](const auto& x) {
      const auto next = nn::lstm_cell(x[0], {x[1], x[2]}, weights_at(x, 3, bias));
      return concat(std::vector{next.hidden, next.cell}, 1);
    }));
  }
}

TEST(GruCell, HarnessOnInputStateAndEveryWeight) {
  for (bool bias : {true, false}) {
    std::vector<InputSpec> specs = {InputSpec{{3, 4}}, InputSpec{{3, 2}}};  // x, h
    add_weight_specs(specs, Kind::kGru, 4, 2, bias);
    EXPECT_OP_OK(make_case(bias ? "gru_cell" : "gru_cell no bias", specs,
                           [bias](const auto& x) { return nn::gru_cell(x[0], x[1], weights_at(x, 2, bias)); }));
  }
}

TEST(Lstm, HarnessOnWholeSequences) {
  for (const SequenceCase& c : kSequenceCases) {
    const MaskTensor mask = mask_of(c);
    EXPECT_OP_OK(make_case("lstm " + c.name, sequence_specs(Kind::kLstm, c), [c, mask](const auto& x) {
      using Tensor = std::decay_t<decltype(x[0])>;
      size_t next = 1;
      nn::LstmState<typename Tensor::value_type> initial;
      if (c.initial_state) {
        initial = {x[1], x[2]};
        next = 3;
      }
      std::vector<RecurrentWeights<typename Tensor::value_type>> dirs;
      for (int d = 0; d < (c.bidirectional ? 2 : 1); ++d, next += c.bias ? 4 : 2)
        dirs.push_back(weights_at(x, next, c.bias));
      const auto out = nn::lstm(x[0], dirs, initial, mask);
      return flat_concat(std::vector{out.output, out.state.hidden, out.state.cell});
    }));
  }
}

TEST(Gru, HarnessOnWholeSequences) {
  for (const SequenceCase& c : kSequenceCases) {
    const MaskTensor mask = mask_of(c);
    EXPECT_OP_OK(make_case("gru " + c.name, sequence_specs(Kind::kGru, c), [c, mask](const auto& x) {
      using Tensor = std::decay_t<decltype(x[0])>;
      size_t next = c.initial_state ? 2 : 1;
      std::vector<RecurrentWeights<typename Tensor::value_type>> dirs;
      for (int d = 0; d < (c.bidirectional ? 2 : 1); ++d, next += c.bias ? 4 : 2)
        dirs.push_back(weights_at(x, next, c.bias));
      const auto out = nn::gru(x[0], dirs, c.initial_state ? x[1] : Tensor(), mask);
      return flat_concat(std::vector{out.output, out.hidden});
    }));
  }
}

TEST(Recurrent, SequencesMatchPyTorchEquationsByLoops) {
  for (Kind kind : {Kind::kLstm, Kind::kGru}) {
    for (const SequenceCase& c : kSequenceCases) {
      Generator generator(17);
      const int64_t dirs = c.bidirectional ? 2 : 1;
      const auto x = Tensor64::randn({c.batch, c.steps, c.input}, generator);
      const auto h0 = c.initial_state ? Tensor64::randn({dirs, c.batch, c.hidden}, generator) : Tensor64();
      const auto c0 = c.initial_state ? Tensor64::randn({dirs, c.batch, c.hidden}, generator) : Tensor64();
      const nn::RecurrentConfig config{c.input, c.hidden, c.bias, c.bidirectional};
      const std::string what = (kind == Kind::kLstm ? "lstm " : "gru ") + c.name;
      if (kind == Kind::kLstm) {
        nn::LSTM<double> layer(config, generator);
        const auto out = layer.forward(x, {h0, c0}, mask_of(c));
        const std::vector<RecurrentWeights<double>> weights = {layer.weights(0), layer.weights(dirs - 1)};
        const Reference want =
            reference_sequence(kind, x, {weights.begin(), weights.begin() + dirs}, h0, c0, c.padding);
        EXPECT_EQ(out.output.shape(), (Shape{c.batch, c.steps, dirs * c.hidden}));
        expect_near(out.output.to_vector(), want.output, 1e-12, what + " output");
        expect_near(out.state.hidden.to_vector(), want.hidden, 1e-12, what + " h_n");
        expect_near(out.state.cell.to_vector(), want.cell, 1e-12, what + " c_n");
      } else {
        nn::GRU<double> layer(config, generator);
        const auto out = layer.forward(x, h0, mask_of(c));
        const std::vector<RecurrentWeights<double>> weights = {layer.weights(0), layer.weights(dirs - 1)};
        const Reference want =
            reference_sequence(kind, x, {weights.begin(), weights.begin() + dirs}, h0, c0, c.padding);
        expect_near(out.output.to_vector(), want.output, 1e-12, what + " output");
        expect_near(out.hidden.to_vector(), want.hidden, 1e-12, what + " h_n");
      }
    }
  }
}

TEST(Recurrent, PaddedStepsLeaveTheStateUnchanged) {
  Generator generator(23);
  nn::LSTM<double> lstm({3, 4, true, true}, generator);
  nn::GRU<double> gru({3, 4, true, true}, generator);
  // Row 0: real, padded, real.  Row 1: one real step.  Row 2: no real step at all.
  const auto mask = MaskTensor::from_vector({3, 3}, {0, 1, 0, 0, 1, 1, 1, 1, 1});
  const auto x = Tensor64::randn({3, 3, 3}, generator);
  const auto h0 = Tensor64::randn({2, 3, 4}, generator), c0 = Tensor64::randn({2, 3, 4}, generator);
  // Garbage in the padded steps must change nothing.
  Tensor64 noisy = x.clone();
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t t = 0; t < 3; ++t) {
      if (mask.at({b, t})) noisy.slice(0, b, b + 1).slice(1, t, t + 1).fill(1e3);
    }
  }
  const auto a = lstm.forward(x, {h0, c0}, mask), a_noisy = lstm.forward(noisy, {h0, c0}, mask);
  const auto g = gru.forward(x, h0, mask), g_noisy = gru.forward(noisy, h0, mask);
  EXPECT_EQ(a.output.to_vector(), a_noisy.output.to_vector());
  EXPECT_EQ(a.state.hidden.to_vector(), a_noisy.state.hidden.to_vector());
  EXPECT_EQ(a.state.cell.to_vector(), a_noisy.state.cell.to_vector());
  EXPECT_EQ(g.output.to_vector(), g_noisy.output.to_vector());
  EXPECT_EQ(g.hidden.to_vector(), g_noisy.hidden.to_vector());
  for (int64_t b = 0; b < 3; ++b) {
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t j = 0; j < 8; ++j) {
        if (!mask.at({b, t})) continue;
        EXPECT_EQ(a.output.at({b, t, j}), 0.0) << "lstm output at padded (" << b << ", " << t << ")";
        EXPECT_EQ(g.output.at({b, t, j}), 0.0) << "gru output at padded (" << b << ", " << t << ")";
      }
    }
  }
  for (int64_t j = 0; j < 4; ++j) {
    // Row 1, forward direction: the state after its only step is the final state, bitwise.
    EXPECT_EQ(a.state.hidden.at({0, 1, j}), a.output.at({1, 0, j}));
    EXPECT_EQ(g.hidden.at({0, 1, j}), g.output.at({1, 0, j}));
    // Row 2 never updates: the final states are the initial ones, in both directions.
    for (int64_t d = 0; d < 2; ++d) {
      EXPECT_EQ(a.state.hidden.at({d, 2, j}), h0.at({d, 2, j}));
      EXPECT_EQ(a.state.cell.at({d, 2, j}), c0.at({d, 2, j}));
      EXPECT_EQ(g.hidden.at({d, 2, j}), h0.at({d, 2, j}));
    }
  }
}

TEST(Recurrent, ReverseDirectionStartsAtTheLastRealStep) {
  // With right padding (from lengths) each row's reverse half equals a reverse pass over just
  // its real steps, as PyTorch's packed sequences.
  Generator generator(31);
  nn::LSTM<double> lstm({2, 3, true, true}, generator);
  nn::GRU<double> gru({2, 3, true, true}, generator);
  const std::vector<int64_t> lengths = {4, 2, 3};
  const auto x = Tensor64::randn({3, 4, 2}, generator);
  const auto mask = nn::padding_mask_from_lengths(IndexTensor::from_vector({3}, lengths), 4);
  EXPECT_EQ(mask.to_vector(), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1}));
  const auto lstm_out = lstm.forward(x, {}, mask).output;
  const auto gru_out = gru.forward(x, Tensor64(), mask).output;
  for (int64_t b = 0; b < 3; ++b) {
    const auto row = x.slice(0, b, b + 1).slice(1, 0, lengths[b]);
    const auto lstm_row = lstm.forward(row).output, gru_row = gru.forward(row).output;
    for (int64_t t = 0; t < lengths[b]; ++t) {
      for (int64_t j = 0; j < 6; ++j) {
        EXPECT_NEAR(lstm_out.at({b, t, j}), lstm_row.at({0, t, j}), 1e-13) << b << " " << t << " " << j;
        EXPECT_NEAR(gru_out.at({b, t, j}), gru_row.at({0, t, j}), 1e-13) << b << " " << t << " " << j;
      }
    }
  }
}

TEST(Recurrent, CellsStepByStepEqualTheSequenceLayers) {
  Generator generator(41);
  nn::LSTM<double> lstm({3, 5, true, false}, generator);
  nn::GRU<double> gru({3, 5, true, false}, generator);
  nn::LSTMCell<double> lstm_cell(3, 5, true, generator);
  nn::GRUCell<double> gru_cell(3, 5, true, generator);
  // Same weights: copy the layers' into the cells (names differ only by the "_l0" suffix).
  for (auto [layer, cell] :
       {std::pair<nn::Module<double>*, nn::Module<double>*>{&lstm, &lstm_cell}, {&gru, &gru_cell}}) {
    const auto from = layer->named_parameters();
    auto to = cell->named_parameters();
    ASSERT_EQ(from.size(), to.size());
    for (size_t i = 0; i < from.size(); ++i) {
      EXPECT_EQ(from[i].first, to[i].first + "_l0");
      to[i].second.copy_from(from[i].second);
    }
  }
  const auto x = Tensor64::randn({2, 4, 3}, generator);
  const auto h0 = Tensor64::randn({1, 2, 5}, generator), c0 = Tensor64::randn({1, 2, 5}, generator);
  const auto lstm_out = lstm.forward(x, {h0, c0});
  const auto gru_out = gru.forward(x, h0);
  nn::LstmState<double> state{h0.squeeze(0), c0.squeeze(0)};
  Tensor64 hidden = h0.squeeze(0);
  for (int64_t t = 0; t < 4; ++t) {
    const auto x_t = x.slice(1, t, t + 1).squeeze(1);  // (B, I)
    state = lstm_cell.forward(x_t, state);
    hidden = gru_cell.forward(x_t, hidden);
    expect_near(state.hidden.to_vector(), lstm_out.output.slice(1, t, t + 1).to_vector(), 1e-13, "lstm step");
    expect_near(hidden.to_vector(), gru_out.output.slice(1, t, t + 1).to_vector(), 1e-13, "gru step");
  }
  expect_near(state.cell.to_vector(), lstm_out.state.cell.to_vector(), 1e-13, "lstm final cell");
  // An undefined state is zeros.
  const auto x0 = x.slice(1, 0, 1).squeeze(1);
  EXPECT_EQ(gru_cell.forward(x0).to_vector(), gru_cell.forward(x0, Tensor64::zeros({2, 5})).to_vector());
  EXPECT_EQ(lstm_cell.forward(x0).cell.to_vector(),
            lstm_cell.forward(x0, {Tensor64::zeros({2, 5}), Tensor64::zeros({2, 5})}).cell.to_vector());
}

TEST(Recurrent, ParameterNamesShapesAndInitialization) {
  Generator generator(3);
  nn::LSTM<float> lstm({.input_size = 6, .hidden_size = 16, .bidirectional = true}, generator);
  std::vector<std::string> names;
  for (const auto& [name, p] : lstm.named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                             "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                                             "bias_hh_l0_reverse"}));
  EXPECT_EQ(lstm.weights(1).weight_ih.shape(), (Shape{64, 6}));
  EXPECT_EQ(lstm.weights(1).weight_hh.shape(), (Shape{64, 16}));
  EXPECT_EQ(lstm.parameter_count(), 2 * (64 * 6 + 64 * 16 + 2 * 64));
  // U(-1/sqrt(H), 1/sqrt(H)) for every parameter.
  for (const auto& [name, p] : lstm.named_parameters()) {
    float largest = 0;
    for (float v : p.to_vector()) {
      EXPECT_LE(std::abs(v), 0.25f) << name;
      largest = std::max(largest, std::abs(v));
    }
    EXPECT_GT(largest, 0.2f) << name << " does not use its range";
  }
  nn::GRU<float> gru({.input_size = 5, .hidden_size = 4, .bias = false}, generator);
  EXPECT_EQ(gru.named_parameters().size(), 2u);
  EXPECT_EQ(gru.named_parameters()[0].first, "weight_ih_l0");
  EXPECT_EQ(gru.parameter_count(), 12 * 5 + 12 * 4);
  nn::GRUCell<float> cell(5, 4, true, generator);
  EXPECT_EQ(cell.named_parameters()[3].first, "bias_hh");
  EXPECT_EQ(cell.weights().weight_ih.shape(), (Shape{12, 5}));
  nn::LSTMCell<float> lstm_cell(5, 4, true, generator);
  EXPECT_EQ(lstm_cell.named_parameters()[0].first, "weight_ih");
  EXPECT_EQ(lstm_cell.parameter_count(), 16 * 5 + 16 * 4 + 32);
}

TEST(Recurrent, LayerGradientsByFiniteDifferences) {
  Generator generator(5);
  nn::LSTM<double> lstm({2, 3, true, true}, generator);
  nn::GRU<double> gru({2, 3, true, true}, generator);
  const auto x = Tensor64::randn({2, 3, 2}, generator);
  const auto mask = MaskTensor::from_vector({2, 3}, {0, 0, 0, 0, 0, 1});
  const auto probe = Tensor64::randn({2, 3, 6}, generator);
  const auto h0 = Tensor64::randn({2, 2, 3}, generator);
  EXPECT_EQ(testing::check_parameter_gradients(lstm,
                                               [&] {
                                                 const auto out = lstm.forward(x, {h0, Tensor64()}, mask);
                                                 return add(sum(mul(out.output, probe)), sum(out.state.cell));
                                               }),
            "");
  EXPECT_EQ(testing::check_parameter_gradients(gru,
                                               [&] {
                                                 const auto out = gru.forward(x, h0, mask);
                                                 return add(sum(mul(out.output, probe)), sum(out.hidden));
                                               }),
            "");
}

// ---- misuse ----

TEST(RecurrentMisuse, InputWidthDiffersFromTheLayer) {
  Generator generator(0);
  nn::LSTM<float> lstm({4, 3}, generator);
  expect_error<ShapeError>([&] { lstm.forward(Tensor32::ones({2, 5, 6})); }, {"lstm", "weight_ih (12, 4)", "width 6"});
}

TEST(RecurrentMisuse, SequenceInputOfRank2) {
  Generator generator(0);
  nn::GRU<float> gru({4, 3}, generator);
  expect_error<ShapeError>([&] { gru.forward(Tensor32::ones({5, 4})); }, {"gru", "(5, 4)", "(B, T, I)"});
}

TEST(RecurrentMisuse, InitialStateOfTheWrongShape) {
  Generator generator(0);
  nn::LSTM<float> lstm({4, 3, true, true}, generator);
  expect_error<ShapeError>(
      [&] {
        lstm.forward(Tensor32::ones({2, 5, 4}), {Tensor32::zeros({1, 2, 3}), Tensor32()});
      },
      {"lstm", "initial hidden (1, 2, 3)", "(2, 2, 3)"});
}

TEST(RecurrentMisuse, PaddingMaskOfTheWrongShape) {
  Generator generator(0);
  nn::GRU<float> gru({4, 3}, generator);
  expect_error<ShapeError>(
      [&] {
        gru.forward(Tensor32::ones({2, 5, 4}), Tensor32(), MaskTensor::zeros({2, 4}));
      },
      {"gru", "padding_mask (2, 4)", "(2, 5)", "(2, 5, 4)"});
}

TEST(RecurrentMisuse, LengthLongerThanTheSequence) {
  expect_error<ValueError>(
      [] {
        nn::padding_mask_from_lengths(IndexTensor::from_vector({2}, {3, 7}), 5);
      },
      {"padding_mask_from_lengths", "length 7", "row 1", "[0, 5]"});
}

TEST(RecurrentMisuse, CellStateOfTheWrongShape) {
  Generator generator(0);
  nn::LSTMCell<float> cell(4, 3, true, generator);
  expect_error<ShapeError>(
      [&] {
        cell.forward(Tensor32::ones({2, 4}), {Tensor32::zeros({2, 3}), Tensor32::zeros({3, 2})});
      },
      {"lstm_cell", "cell (3, 2)", "(2, 3)"});
}

TEST(RecurrentMisuse, WeightsOfAMissingDirectionAndEmptyLayer) {
  Generator generator(0);
  nn::GRUCell<float> cell(4, 3, true, generator);
  expect_error<ValueError>([&] { cell.weights(1); }, {"direction 1", "1 direction"});
  expect_error<ValueError>([&] { nn::LSTM<float>({4, 0}, generator); }, {"LSTM", "hidden_size (0)"});
}

TEST(RecurrentMisuse, FunctionalWeightsThatDisagree) {
  RecurrentWeights<float> w{Tensor32::ones({9, 4}), Tensor32::ones({12, 3}), Tensor32(), Tensor32()};
  expect_error<ShapeError>(
      [&] {
        nn::gru_cell(Tensor32::ones({2, 4}), Tensor32(), w);
      },
      {"gru_cell", "weight_hh (12, 3)", "(3 H, H)"});
}

}  // namespace
}  // namespace attend
