// Packed variable-length attention: every check of the op harness (float32 against float64,
// finite differences, strided views, thread counts), the plain loops of attention_reference.h
// per sequence, bitwise independence from the rest of the pack, and its refusals.
#include <gtest/gtest.h>

#include <string>
#include <utility>
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

// The option sets the per-sequence tests run under: every option a pack takes.
std::vector<std::pair<std::string, AttentionOptions<float>>> pack_option_sets() {
  std::vector<std::pair<std::string, AttentionOptions<float>>> sets(6);
  sets[0].first = "plain";
  sets[1].first = "causal";
  sets[1].second.causal = true;
  sets[2].first = "dropout";
  sets[2].second.dropout_p = 0.25;
  sets[2].second.dropout_seed = 40;
  sets[3].first = "window, scale, causal";
  sets[3].second.window_left = 2;
  sets[3].second.window_right = 1;
  sets[3].second.scale = 0.3;
  sets[3].second.causal = true;
  sets[4].first = "softcap, ALiBi";
  sets[4].second.softcap = 2.0;
  sets[4].second.alibi_slopes = alibi_slopes<float>(4);
  sets[5].first = "causal dropout";
  sets[5].second.causal = true;
  sets[5].second.dropout_p = 0.5;
  sets[5].second.dropout_seed = 7;
  return sets;
}

// Rows [begin, end) of x (T, H, D) as a contiguous batch of one, (1, H, n, D).
Tensor32 sequence_rows(const Tensor32& x, int64_t begin, int64_t end) {
  return x.detach().slice(0, begin, end).transpose(0, 1).unsqueeze(0).contiguous();
}

// A float32 pack goes straight to the fused kernels, which read q, k and v in place (here rows of
// a (T, 3, H, D) projection, and grouped k/v heads) and write O once. Its rows must be the bits of
// scaled_dot_product_attention on each sequence alone, with and without a gradient recorded, for
// every option and for sequences shorter and longer than a query tile, at 1 and 2 threads.
TEST(PackedAttention, InPlaceFusedPathGivesTheBitsOfEachSequenceAlone) {
  Generator generator(5);
  const std::vector<int64_t> lengths = {1, 70, 3, 129, 16};
  const int64_t tokens = 219, heads = 4, value_dim = 8;
  const auto qkv = Tensor32::randn({tokens, 3, heads, 8}, generator);  // (T, 3, H, D)
  const auto part = [&](int64_t i) { return qkv.slice(1, i, i + 1).squeeze(1); };
  const Tensor32 q = part(0), k = part(1).slice(1, 0, 2), v = part(2).slice(1, 2, 4);  // (T, 4, 8), (T, 2, 8) x 2
  for (const auto& [name, options] : pack_option_sets()) {
    for (const int threads : {1, 2}) {
      ThreadCountGuard guard(threads);
      const std::vector<float> in_place = packed_attention(q, k, v, lengths, options).to_vector();
      Tensor32 q_leaf = q.contiguous().detach();
      q_leaf.set_requires_grad();  // a gradient to record: the recorded op
      const std::vector<float> recorded = packed_attention(q_leaf, k, v, lengths, options).to_vector();
      int64_t begin = 0;
      for (size_t s = 0; s < lengths.size(); ++s) {
        const int64_t end = begin + lengths[s];
        AttentionOptions<float> own = options;
        own.dropout_seed = options.dropout_seed + static_cast<uint64_t>(s);
        const std::vector<float> alone =
            scaled_dot_product_attention(sequence_rows(q, begin, end), sequence_rows(k, begin, end),
                                         sequence_rows(v, begin, end), own)
                .output.squeeze(0)
                .transpose(0, 1)
                .contiguous()
                .to_vector();  // (n, H, D_v)
        const size_t first = static_cast<size_t>(begin * heads * value_dim);
        for (size_t i = 0; i < alone.size(); ++i) {
          ASSERT_EQ(in_place[first + i], alone[i])
              << name << ", sequence " << s << ", element " << i << ", " << threads << " threads";
          ASSERT_EQ(recorded[first + i], alone[i]) << name << ", recorded, sequence " << s << ", element " << i;
        }
        begin = end;
      }
    }
  }
}

// With a gradient, the pack is one op whose backward runs the backward kernel on each sequence's
// rows: sequence s's dq, dk, dv rows must be the bits of scaled_dot_product_attention on that
// sequence alone (with its dropout seed, dropout_seed + s), under every option, and a retained
// graph must give the same gradient again.
TEST(PackedAttention, GradientsOfASequenceAreThoseOfItsOwnAttention) {
  Generator generator(11);
  const std::vector<int64_t> lengths = {5, 2, 70, 9};
  const int64_t tokens = 86;
  const auto make_leaf = [&](int64_t heads) {
    return Tensor32::randn({tokens, heads, 8}, generator).set_requires_grad();
  };
  const auto upstream = Tensor32::randn({tokens, 4, 8}, generator);  // dL/dO
  for (const auto& [name, options] : pack_option_sets()) {
    Tensor32 q = make_leaf(4), k = make_leaf(2), v = make_leaf(2);
    const Tensor32 out = packed_attention(q, k, v, lengths, options);
    out.backward(upstream, /*retain_graph=*/true);
    const std::vector<Tensor32> packed = {q.grad().clone(), k.grad().clone(), v.grad().clone()};
    int64_t begin = 0;
    for (size_t s = 0; s < lengths.size(); ++s) {
      const int64_t end = begin + lengths[s];
      Tensor32 qs = sequence_rows(q, begin, end).set_requires_grad(),
               ks = sequence_rows(k, begin, end).set_requires_grad(),
               vs = sequence_rows(v, begin, end).set_requires_grad();
      AttentionOptions<float> own = options;
      own.dropout_seed = options.dropout_seed + static_cast<uint64_t>(s);
      const Tensor32 os = scaled_dot_product_attention(qs, ks, vs, own).output;  // (1, H, n, D)
      os.backward(sequence_rows(upstream, begin, end));
      const std::vector<Tensor32> alone = {qs.grad(), ks.grad(), vs.grad()};
      for (size_t i = 0; i < alone.size(); ++i) {
        const std::vector<float> expected = alone[i].squeeze(0).transpose(0, 1).contiguous().to_vector();
        const std::vector<float> got = packed[i].slice(0, begin, end).contiguous().to_vector();
        ASSERT_EQ(expected, got) << name << ", sequence " << s << ", input " << i;
      }
      begin = end;
    }
    // The retained graph runs again: the leaves' gradients double, exactly.
    out.backward(upstream);
    const std::vector<float> once = packed[0].to_vector(), twice = q.grad().to_vector();
    for (size_t i = 0; i < once.size(); ++i) ASSERT_EQ(twice[i], 2 * once[i]) << name << " " << i;
  }
}

TEST(PackedSelfAttention, PassesTheOpHarness) {
  for (const bool causal : {false, true}) {
    EXPECT_OP_OK(
        testing::make_case(causal ? "packed self causal" : "packed self", {{{12, 3, 4, 8}}}, [causal](const auto& x) {
          using T = typename std::decay_t<decltype(x[0])>::value_type;
          AttentionOptions<T> options;
          options.causal = causal;
          return packed_self_attention(x[0], kLengths, options);
        }));
  }
}

// From one projection: the values, and the (T, 3, H, D) gradient written in place, are the bits of
// packed_attention on the three views (whose gradients autograd sums), under every option.
TEST(PackedSelfAttention, GivesTheBitsOfPackedAttentionOnTheThreeViews) {
  Generator generator(13);
  const std::vector<int64_t> lengths = {4, 67, 1, 20};
  const auto projection = Tensor32::randn({92, 3, 4, 8}, generator);
  const auto upstream = Tensor32::randn({92, 4, 8}, generator);
  for (const auto& [name, options] : pack_option_sets()) {
    Tensor32 packed = projection.clone().set_requires_grad(), views = projection.clone().set_requires_grad();
    const Tensor32 out = packed_self_attention(packed, lengths, options);
    const auto part = [&](int64_t i) { return views.slice(1, i, i + 1).squeeze(1); };
    const Tensor32 expected = packed_attention(part(0), part(1), part(2), lengths, options);
    ASSERT_EQ(out.to_vector(), expected.to_vector()) << name;
    out.backward(upstream);
    expected.backward(upstream);
    ASSERT_EQ(packed.grad().to_vector(), views.grad().to_vector()) << name;
  }
  expect_error<ShapeError>(
      [] {
        packed_self_attention(Tensor32::zeros({5, 2, 2, 4}), {5});
      },
      {"qkv must be (T, 3, H, D)", "(5, 2, 2, 4)"});
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
