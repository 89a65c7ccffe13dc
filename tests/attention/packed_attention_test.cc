// Packed variable-length attention: every check of the op harness (float32 against float64,
// finite differences, strided views, thread counts), the plain loops of attention_reference.h
// per sequence, bitwise independence from the rest of the pack, and its refusals.
#include <gtest/gtest.h>

#include <vector>

#include "attend/attend.h"
#include "attend/attention/packed_attention.h"
#include "attention/attention_reference.h"
#include "harness/expect_error.h"
#include "harness/op_harness.h"

namespace attend {
namespace {

const std::vector<int64_t> kLengths = {3, 1, 6, 2};  // T = 12

TEST(PackedAttention, PassesTheOpHarness) {
  for (const bool causal : {false, true}) {
    EXPECT_OP_OK(testing::make_case(causal ? "packed causal" : "packed", {{{12, 4, 8}}, {{12, 2, 8}}, {{12, 2, 5}}},
                                    [causal](const auto& x) {
                                      using T = typename std::decay_t<decltype(x[0])>::value_type;
                                      AttentionOptions<T> options;
                                      options.causal = causal;
                                      return packed_attention(x[0], x[1], x[2], kLengths, options);
                                    }));
  }
}

TEST(PackedAttention, EachSequenceMatchesTheReferenceLoops) {
  Generator generator(7);
  const int64_t total = 12, heads = 4, kv_heads = 2, dim = 8, value_dim = 5;
  const auto q = Tensor64::randn({total, heads, dim}, generator);
  const auto k = Tensor64::randn({total, kv_heads, dim}, generator);
  const auto v = Tensor64::randn({total, kv_heads, value_dim}, generator);
  const std::vector<double> out = packed_attention(q, k, v, kLengths).to_vector();  // (T, H, D_v)
  int64_t begin = 0;
  for (const int64_t n : kLengths) {
    // The sequence's rows as (1, H, n, D) vectors for the loops.
    const auto rows = [&](const Tensor64& x) {
      return x.slice(0, begin, begin + n).transpose(0, 1).contiguous().to_vector();
    };
    const testing::ReferenceAttention expected = testing::reference_attention<double>(
        rows(q), rows(k), rows(v), 1, heads, kv_heads, n, n, dim, value_dim, 1 / std::sqrt(8.0), 0, {}, 0,
        [](auto...) { return true; }, [](auto...) { return 0.0; }, {}, 0);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t e = 0; e < value_dim; ++e) {
          EXPECT_NEAR(out[((begin + i) * heads + h) * value_dim + e], expected.output[(h * n + i) * value_dim + e],
                      1e-12);
        }
      }
    }
    begin += n;
  }
}

TEST(PackedAttention, ASequenceGetsTheSameBitsInAnyPackAndThreadCount) {
  Generator generator(3);
  const auto q = Tensor32::randn({12, 4, 16}, generator);
  const auto k = Tensor32::randn({12, 4, 16}, generator);
  const auto v = Tensor32::randn({12, 4, 16}, generator);
  const std::vector<float> packed = packed_attention(q, k, v, kLengths).to_vector();
  // Sequence 2 (rows 4..9) alone, with one thread.
  ThreadCountGuard one_thread(1);
  const std::vector<float> alone =
      packed_attention(q.slice(0, 4, 10), k.slice(0, 4, 10), v.slice(0, 4, 10), {6}).to_vector();
  ASSERT_EQ(alone.size(), 6u * 4 * 16);
  for (size_t i = 0; i < alone.size(); ++i) ASSERT_EQ(alone[i], packed[4 * 4 * 16 + i]) << i;
}

// Without a gradient to record, a float32 pack goes straight to the fused forward kernel, which
// reads q, k and v in place (here rows of a (T, 3, H, D) projection, and grouped k/v heads) and
// writes O once; with one, each sequence goes through scaled_dot_product_attention on a tape of its
// own. The two
// must give the same bits, causal or not, for sequences shorter and longer than a query tile.
TEST(PackedAttention, InPlaceInferenceGivesTheBitsOfThePerSequencePath) {
  Generator generator(5);
  const std::vector<int64_t> lengths = {1, 70, 3, 129, 16};
  const int64_t tokens = 219;
  const auto qkv = Tensor32::randn({tokens, 3, 4, 8}, generator);  // (T, 3, H, D)
  const auto part = [&](int64_t i) { return qkv.slice(1, i, i + 1).squeeze(1); };
  const Tensor32 q = part(0), k = part(1).slice(1, 0, 2), v = part(2).slice(1, 2, 4);  // (T, 4, 8), (T, 2, 8) x 2
  for (const bool causal : {false, true}) {
    AttentionOptions<float> options;
    options.causal = causal;
    for (const int threads : {1, 2}) {
      ThreadCountGuard guard(threads);
      const std::vector<float> in_place = packed_attention(q, k, v, lengths, options).to_vector();
      Tensor32 q_leaf = q.contiguous().detach();
      q_leaf.set_requires_grad();  // a gradient to record: the per-sequence path
      const std::vector<float> per_sequence = packed_attention(q_leaf, k, v, lengths, options).to_vector();
      ASSERT_EQ(in_place.size(), per_sequence.size());
      for (size_t i = 0; i < in_place.size(); ++i) {
        ASSERT_EQ(in_place[i], per_sequence[i]) << "element " << i << (causal ? ", causal, " : ", ") << threads;
      }
    }
  }
}

// With a gradient, the pack is one op whose backward runs each sequence's own tape: sequence s's
// dq, dk, dv rows must be the bits of scaled_dot_product_attention on that sequence alone (with
// its dropout seed, dropout_seed + s), and a retained graph must give the same gradient again.
TEST(PackedAttention, GradientsOfASequenceAreThoseOfItsOwnAttention) {
  Generator generator(11);
  const std::vector<int64_t> lengths = {5, 2, 9};
  const int64_t tokens = 16;
  const auto make_leaf = [&](int64_t heads) {
    return Tensor32::randn({tokens, heads, 8}, generator).set_requires_grad();
  };
  Tensor32 q = make_leaf(4), k = make_leaf(2), v = make_leaf(2);
  const auto upstream = Tensor32::randn({tokens, 4, 8}, generator);  // dL/dO
  AttentionOptions<float> options;
  options.dropout_p = 0.25;
  options.dropout_seed = 40;
  const Tensor32 out = packed_attention(q, k, v, lengths, options);
  out.backward(upstream, /*retain_graph=*/true);
  const std::vector<Tensor32> packed = {q.grad().clone(), k.grad().clone(), v.grad().clone()};
  int64_t begin = 0;
  for (size_t s = 0; s < lengths.size(); ++s) {
    const int64_t end = begin + lengths[s];
    const auto rows = [&](const Tensor32& x) {  // (1, H, n, D) leaf
      return x.detach().slice(0, begin, end).transpose(0, 1).unsqueeze(0).contiguous().set_requires_grad();
    };
    Tensor32 qs = rows(q), ks = rows(k), vs = rows(v);
    AttentionOptions<float> own = options;
    own.dropout_seed = options.dropout_seed + static_cast<uint64_t>(s);
    const Tensor32 os = scaled_dot_product_attention(qs, ks, vs, own).output;  // (1, H, n, D)
    os.backward(upstream.slice(0, begin, end).transpose(0, 1).unsqueeze(0).contiguous());
    const std::vector<Tensor32> alone = {qs.grad(), ks.grad(), vs.grad()};
    for (size_t i = 0; i < alone.size(); ++i) {
      const std::vector<float> expected = alone[i].squeeze(0).transpose(0, 1).contiguous().to_vector();
      const std::vector<float> got = packed[i].slice(0, begin, end).contiguous().to_vector();
      ASSERT_EQ(expected, got) << "sequence " << s << ", input " << i;
    }
    begin = end;
  }
  // The retained graph runs again: the leaves' gradients double, exactly.
  out.backward(upstream);
  const std::vector<float> once = packed[0].to_vector(), twice = q.grad().to_vector();
  for (size_t i = 0; i < once.size(); ++i) ASSERT_EQ(twice[i], 2 * once[i]) << i;
}

TEST(PackedAttention, RefusesWhatDoesNotDescribeAPack) {
  const auto x = Tensor32::zeros({5, 2, 4});
  expect_error<ValueError>(
      [&] {
        packed_attention(x, x, x, {2, 2});
      },
      {"the 2 sequence lengths sum to 4 tokens, but q (5, 2, 4) holds T = 5"});
  expect_error<ValueError>([&] { packed_attention(x, x, x, {5, 0}); }, {"sequence 1 has length 0"});
  expect_error<ValueError>([&] { packed_attention(x, x, x, {6, -1}); }, {"sequence 1 has length -1"});
  expect_error<ShapeError>([&] { packed_attention(x.unsqueeze(0), x, x, {5}); }, {"must be (T, H, D)", "(1, 5, 2, 4)"});
  expect_error<ShapeError>([&] { packed_attention(x, x.slice(0, 0, 4), x, {5}); }, {"same tokens T"});
  const auto three_heads = Tensor32::zeros({5, 3, 4});
  expect_error<ShapeError>([&] { packed_attention(x, three_heads, three_heads, {5}); },
                           {"H = 2 heads of q (5, 2, 4) must be a multiple of the H_kv = 3 heads of k (5, 3, 4)"});
  AttentionOptions<float> padded;
  padded.key_padding_mask = MaskTensor::zeros({1, 5});
  expect_error<ValueError>([&] { packed_attention(x, x, x, {5}, padded); }, {"have a batch axis"});
  AttentionOptions<float> weights;
  weights.need_weights = true;
  expect_error<ValueError>([&] { packed_attention(x, x, x, {5}, weights); }, {"need_weights"});
}

TEST(PackedAttention, AnEmptyPackIsEmpty) {
  const auto x = Tensor32::zeros({0, 2, 4});
  EXPECT_EQ(packed_attention(x, x, x, {}).shape(), (Shape{0, 2, 4}));
}

}  // namespace
}  // namespace attend
