// Decoding ids one at a time: never half a character, and in the end the same text as decode().
#include "attend/bpe/streaming_decoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "attend/core/error.h"
#include "attend/core/utf8.h"
#include "bpe/bpe_fixtures.h"

namespace attend::bpe {
namespace {

using testing::byte_vocabulary;

TEST(BpeStreamingDecoder, HoldsAnEmojiBackUntilItsLastByte) {
  // 😀 is F0 9F 98 80; in the one word "!😀!" the tokens are "!" F0 9F, then 98, then 80 "!".
  const BpeTokenizer tokenizer(byte_vocabulary({{"!", "\xF0"}, {"!\xF0", "\x9F"}, {"\x80", "!"}}));
  const std::vector<int32_t> ids = tokenizer.encode("!😀!");
  ASSERT_EQ(ids, (std::vector<int32_t>{257, 0x98, 258}));
  StreamingDecoder decoder(tokenizer);
  EXPECT_EQ(decoder.push(ids[0]), "!");
  EXPECT_EQ(decoder.push(ids[1]), "");
  EXPECT_EQ(decoder.push(ids[2]), "😀!");
  EXPECT_EQ(decoder.flush(), "");
}

TEST(BpeStreamingDecoder, ACutShortSequenceIsReplacedWhenItCannotBeCompleted) {
  const BpeTokenizer tokenizer(byte_vocabulary());
  StreamingDecoder decoder(tokenizer);
  EXPECT_EQ(decoder.push(0xE2), "");
  EXPECT_EQ(decoder.push(0x82), "");
  EXPECT_EQ(decoder.push('x'), "\uFFFDx");
  EXPECT_EQ(decoder.push(0xF0), "");
  EXPECT_EQ(decoder.flush(), "\uFFFD");
  EXPECT_EQ(decoder.push(0xFF), "\uFFFD");  // never part of a sequence: written at once
}

TEST(BpeStreamingDecoder, SkipsSpecialTokensWhenAsked) {
  BpeVocabulary vocabulary = byte_vocabulary();
  const int32_t end = testing::append_token(vocabulary, "<|im_end|>", TokenType::kControl);
  const BpeTokenizer tokenizer(vocabulary);
  StreamingDecoder skipping(tokenizer, /*skip_special=*/true), keeping(tokenizer);
  EXPECT_EQ(skipping.push(end), "");
  EXPECT_EQ(keeping.push(end), "<|im_end|>");
}

TEST(BpeStreamingDecoder, ABadIdIsRefusedAndTheStreamGoesOn) {
  const BpeTokenizer tokenizer(byte_vocabulary());
  StreamingDecoder decoder(tokenizer);
  EXPECT_EQ(decoder.push(0xC3), "");
  EXPECT_THROW(decoder.push(999), ValueError);
  EXPECT_EQ(decoder.push(0xA9), "\u00E9");
}

// Random byte tokens (valid UTF-8 or not): the pieces put together are decode() of all of them.
TEST(BpeStreamingDecoder, ThePiecesMakeTheDecodedText) {
  const BpeTokenizer tokenizer(byte_vocabulary({{"\xE2", "\x82"}, {"\xF0", "\x9F"}, {"\x98", "\x80"}}));
  std::mt19937 random(7);
  const std::vector<int32_t> likely = {'a', 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 256, 257, 258, 0xED};
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<int32_t> ids(random() % 12);
    for (int32_t& id : ids) id = random() % 4 == 0 ? random() % 259 : likely[random() % likely.size()];
    StreamingDecoder decoder(tokenizer);
    std::string streamed;
    for (const int32_t id : ids) {
      const std::string piece = decoder.push(id);
      EXPECT_TRUE(is_utf8(piece));
      streamed += piece;
    }
    streamed += decoder.flush();
    ASSERT_EQ(streamed, tokenizer.decode(ids)) << "trial " << trial;
  }
}

}  // namespace
}  // namespace attend::bpe
