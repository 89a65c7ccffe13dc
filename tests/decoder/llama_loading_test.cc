// What LlamaModel::load refuses, on tiny llama GGUF files built here (one layer, width 8): another
// architecture, sizes that do not divide, a tensor whose shape disagrees with the metadata, a
// missing or an unknown tensor, RoPE scaling; and that a well-formed tiny model runs.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "attend/decoder/llama_model.h"
#include "gguf/gguf_bytes.h"
#include "harness/expect_error.h"
#include "harness/temp_dir.h"

namespace attend::decoder {
namespace {

using attend::testing::GgufBytes;

// A tiny llama: E = 8, 2 heads of 4, 1 key/value head, F = 16, 1 layer, 5 tokens, all weights F32.
struct TinyLlama {
  std::string architecture = "llama";
  std::map<std::string, uint32_t> sizes{
      {"block_count", 1},          {"embedding_length", 8},        {"feed_forward_length", 16},
      {"attention.head_count", 2}, {"attention.head_count_kv", 1}, {"context_length", 32}};
  std::vector<std::pair<std::string, std::vector<uint64_t>>> tensors{
      {"token_embd.weight", {8, 5}},        {"output_norm.weight", {8}},       {"blk.0.attn_norm.weight", {8}},
      {"blk.0.attn_q.weight", {8, 8}},      {"blk.0.attn_k.weight", {8, 4}},   {"blk.0.attn_v.weight", {8, 4}},
      {"blk.0.attn_output.weight", {8, 8}}, {"blk.0.ffn_norm.weight", {8}},    {"blk.0.ffn_gate.weight", {8, 16}},
      {"blk.0.ffn_up.weight", {8, 16}},     {"blk.0.ffn_down.weight", {16, 8}}};
  std::vector<std::pair<std::string, std::string>> extra_strings;

  GgufBytes build() const {
    GgufBytes b;
    b.u8('G').u8('G').u8('U').u8('F').u32(3).u64(tensors.size()).u64(sizes.size() + 4 + extra_strings.size());
    b.text("general.architecture").u32(8).text(architecture);
    for (const auto& [key, value] : sizes) b.text(architecture + "." + key).u32(4).u32(value);
    b.text(architecture + ".attention.layer_norm_rms_epsilon").u32(6).f32(1e-5f);
    b.text(architecture + ".rope.freq_base").u32(6).f32(10000.0f);
    b.text("tokenizer.ggml.tokens").u32(9).u32(8).u64(5);
    for (const char* token : {"a", "b", "c", "d", "e"}) b.text(token);
    for (const auto& [key, value] : extra_strings) b.text(key).u32(8).text(value);
    uint64_t offset = 0;
    for (const auto& [name, ne] : tensors) {
      b.text(name).u32(static_cast<uint32_t>(ne.size()));
      uint64_t count = 1;
      for (uint64_t n : ne) b.u64(n), count *= n;
      b.u32(0).u64(offset);
      offset += (count * 4 + 31) / 32 * 32;
    }
    b.pad_to(32);
    for (const auto& [name, ne] : tensors) {
      uint64_t count = 1;
      for (uint64_t n : ne) count *= n;
      for (uint64_t i = 0; i < count; ++i)
        b.f32(name.find("norm") != std::string::npos ? 1.0f : 0.01f * static_cast<float>(i % 7));
      b.pad_to(32);
    }
    return b;
  }
};

class LlamaLoading : public ::testing::Test {
 protected:
  void expect_refused(const std::function<void(TinyLlama&)>& change, const std::vector<std::string>& fragments) {
    TinyLlama tiny;
    change(tiny);
    const std::string path = dir_.file("tiny" + std::to_string(files_++) + ".gguf");
    tiny.build().write(path);
    expect_error<gguf::FormatError>([&] { LlamaModel::load(path); }, fragments);
  }
  attend::testing::TempDir dir_;
  int files_ = 0;
};

TEST_F(LlamaLoading, ATinyModelRuns) {
  const std::string path = dir_.file("tiny.gguf");
  TinyLlama{}.build().write(path);
  const LlamaModel model = LlamaModel::load(path);
  EXPECT_EQ(model.config().head_dim, 4);
  EXPECT_EQ(model.config().kv_heads, 1);
  KvCache cache = model.new_cache();
  const std::vector<int32_t> ids{0, 1, 2, 3, 4};
  const Tensor<float> logits = model.forward(ids, cache);
  EXPECT_EQ(logits.shape(), (Shape{1, 5}));
  EXPECT_EQ(cache.length(), 5);
}

TEST_F(LlamaLoading, RefusesWhatItCannotRunExactly) {
  expect_refused([](TinyLlama& t) { t.architecture = "gpt2"; }, {"the architecture is 'gpt2'; attend runs 'llama'"});
  expect_refused([](TinyLlama& t) { t.sizes["attention.head_count"] = 3; }, {"do not divide"});
  expect_refused([](TinyLlama& t) { t.sizes["attention.head_count_kv"] = 4; }, {"head_count_kv = 4 is outside [1, 2]"});
  expect_refused([](TinyLlama& t) { t.sizes["block_count"] = 0; }, {"block_count = 0 is outside"});
  expect_refused([](TinyLlama& t) { t.sizes.erase("embedding_length"); },
                 {"the metadata has no 'llama.embedding_length'"});
  expect_refused(
      [](TinyLlama& t) {
        t.tensors[3].second = {8, 4};
      },
      {"tensor 'blk.0.attn_q.weight' has ne [8, 4], but the configuration gives [8, 8]"});
  expect_refused([](TinyLlama& t) { t.tensors.pop_back(); }, {"tensor 'blk.0.ffn_down.weight' is missing"});
  expect_refused(
      [](TinyLlama& t) {
        t.tensors.push_back({"rope_freqs.weight", {2}});
      },
      {"tensor 'rope_freqs.weight' is not part of the llama decoder"});
  expect_refused(
      [](TinyLlama& t) {
        t.extra_strings.push_back({"llama.rope.scaling.type", "linear"});
      },
      {"RoPE scaling is not supported"});
}

}  // namespace
}  // namespace attend::decoder
