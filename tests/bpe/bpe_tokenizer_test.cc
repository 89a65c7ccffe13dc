// The byte-level BPE tokenizer on small vocabularies: merges, every byte, added tokens, decoding
// and the errors of a bad vocabulary or id.
#include "attend/bpe/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attend/bpe/byte_alphabet.h"
#include "attend/core/error.h"
#include "attend/text/unicode.h"
#include "bpe/bpe_fixtures.h"

namespace attend::bpe {
namespace {

using testing::append_token;
using testing::byte_vocabulary;
using Ids = std::vector<int32_t>;

// Merged tokens are numbered from 256 in the order of their merges.
BpeVocabulary the_vocabulary() {
  return byte_vocabulary({{" ", "t"}, {"h", "e"}, {" t", "he"}, {"i", "n"}, {"in", "g"}});
}
constexpr int32_t kSpaceT = 256, kHe = 257, kSpaceThe = 258, kIn = 259, kIng = 260;

TEST(BpeTokenizer, MergesWithinWords) {
  const BpeTokenizer tokenizer(the_vocabulary());
  EXPECT_EQ(tokenizer.encode(" the"), (Ids{kSpaceThe}));
  EXPECT_EQ(tokenizer.encode("the thing"), (Ids{'t', kHe, kSpaceT, 'h', kIng}));
  EXPECT_EQ(tokenizer.encode("he\n"), (Ids{kHe, '\n'}));
  EXPECT_EQ(tokenizer.token(kSpaceThe), "\u0120the");
  EXPECT_EQ(tokenizer.token_bytes(kSpaceThe), " the");
  EXPECT_EQ(tokenizer.id_of("\u0120the"), kSpaceThe);
  EXPECT_EQ(tokenizer.id_of(" the"), std::nullopt);
}

TEST(BpeTokenizer, NoMergeCrossesAWord) {
  const BpeTokenizer tokenizer(byte_vocabulary({{"a", "!"}, {"a", " "}}));
  EXPECT_EQ(tokenizer.encode("a!a "), (Ids{'a', '!', 'a', ' '}));
}

TEST(BpeTokenizer, AWholeWordInTheVocabularyIsNotUsedWithoutItsMerges) {
  BpeVocabulary vocabulary = byte_vocabulary();
  append_token(vocabulary, "hi");
  const BpeTokenizer tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.encode("hi"), (Ids{'h', 'i'}));
}

TEST(BpeTokenizer, EveryByteHasItsToken) {
  const BpeTokenizer tokenizer(byte_vocabulary());
  for (int byte = 0; byte < 256; ++byte) {
    EXPECT_EQ(tokenizer.token_bytes(byte), std::string(1, static_cast<char>(byte)));
  }
  std::string ascii;
  Ids ascii_ids;
  for (int byte = 0; byte < 128; ++byte) {
    ascii.push_back(static_cast<char>(byte));
    ascii_ids.push_back(byte);
  }
  EXPECT_EQ(tokenizer.encode(ascii), ascii_ids);
  EXPECT_EQ(tokenizer.encode("é€😀"), (Ids{0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80}));
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(ascii)), ascii);
}

TEST(BpeTokenizer, AByteWithoutATokenIsLeftOut) {
  BpeVocabulary vocabulary = byte_vocabulary({{"a", "b"}});
  vocabulary.tokens[0x04] = "<none>";  // no token spells the byte 0x04 any more
  const BpeTokenizer tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.encode("a\x04"
                             "b\x04"),
            (Ids{'a', 'b'}));  // two words: no merge
  EXPECT_EQ(tokenizer.encode("!\x04!"), (Ids{'!', '!'}));
}

TEST(BpeTokenizer, ControlTokensAreSpecialAndMatchedWhole) {
  BpeVocabulary vocabulary = the_vocabulary();
  const int32_t start = append_token(vocabulary, "<|im_start|>", TokenType::kControl);
  const int32_t end = append_token(vocabulary, "<|im_end|>", TokenType::kControl);
  const int32_t think = append_token(vocabulary, "<think>", TokenType::kUserDefined);
  const BpeTokenizer tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.encode("<|im_start|>the<|im_end|>\n"), (Ids{start, 't', kHe, end, '\n'}));
  EXPECT_EQ(tokenizer.encode(" <think> the"), (Ids{' ', think, kSpaceThe}));
  // As ordinary text: its bytes; a user-defined token is still matched.
  EXPECT_EQ(tokenizer.encode("<|im_end|><think>", false),
            (Ids{'<', '|', 'i', 'm', '_', 'e', 'n', 'd', '|', '>', think}));
  const Ids ids = {start, 't', kHe, end, think};
  EXPECT_EQ(tokenizer.decode(ids), "<|im_start|>the<|im_end|><think>");
  EXPECT_EQ(tokenizer.decode(ids, /*skip_special=*/true), "the<think>");
  EXPECT_TRUE(tokenizer.is_special(start));
  EXPECT_FALSE(tokenizer.is_special(think));
}

TEST(BpeTokenizer, AControlTokenOutsideTheAlphabetIsOrdinary) {
  BpeVocabulary vocabulary = byte_vocabulary();
  append_token(vocabulary, "<a b>", TokenType::kControl);  // a real space: not byte-level
  const BpeTokenizer tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.encode("<a b>"), (Ids{'<', 'a', ' ', 'b', '>'}));
}

TEST(BpeTokenizer, ATokenStoredAsPlainTextIsFoundByItsBytes) {
  BpeVocabulary vocabulary = byte_vocabulary({{"\xE2", "\x82"}});
  const int32_t euro = append_token(vocabulary, "€");  // U+20AC's own UTF-8, not its spelling
  vocabulary.merges.push_back(spell_bytes("\xE2\x82") + " " + spell_bytes("\xAC"));
  const BpeTokenizer tokenizer(vocabulary);
  EXPECT_EQ(tokenizer.encode("€"), (Ids{euro}));
  EXPECT_EQ(tokenizer.decode(Ids{euro}), "€");
  EXPECT_EQ(tokenizer.id_of(spell_bytes("€")), euro);
}

TEST(BpeTokenizer, DecodingReplacesIllFormedBytes) {
  const BpeTokenizer tokenizer(byte_vocabulary());
  EXPECT_EQ(tokenizer.decode(Ids{0xF0, 0x9F, 'a'}), "\uFFFDa");        // one maximal subpart
  EXPECT_EQ(tokenizer.decode(Ids{0xC3, 0xC3, 0xA9}), "\uFFFD\u00E9");  // é after a stray lead
  EXPECT_EQ(tokenizer.decode(Ids{0x80, 0xFF}), "\uFFFD\uFFFD");
  EXPECT_EQ(tokenizer.decode(Ids{}), "");
}

TEST(BpeTokenizer, TextThatIsNotUtf8IsReadWithReplacementCharacters) {
  const BpeTokenizer tokenizer(byte_vocabulary());
  EXPECT_EQ(tokenizer.encode("a\xFF"
                             "b\xE2\x82"),
            tokenizer.encode("a\uFFFDb\uFFFD"));
}

TEST(BpeTokenizer, DecodeOfEncodeGivesTheText) {
  const BpeTokenizer tokenizer(the_vocabulary());
  for (const char* text : {"the thing", "  spaces \t\n end ", "日本語 😀 e\u0301", "it's 12345 <|x|>", ""}) {
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  }
}

TEST(BpeTokenizer, BosAndEosWhenTheVocabularyAsks) {
  BpeVocabulary vocabulary = byte_vocabulary();
  const int32_t bos = append_token(vocabulary, "<s>", TokenType::kControl);
  const int32_t eos = append_token(vocabulary, "</s>", TokenType::kControl);
  vocabulary.bos_id = bos;
  vocabulary.eos_id = eos;
  EXPECT_EQ(BpeTokenizer(vocabulary).encode("a"), (Ids{'a'}));
  vocabulary.add_bos = vocabulary.add_eos = true;
  EXPECT_EQ(BpeTokenizer(vocabulary).encode("a"), (Ids{bos, 'a', eos}));
}

TEST(BpeTokenizer, AnIdOutsideTheVocabularyIsRefused) {
  const BpeTokenizer tokenizer(byte_vocabulary());
  std::string message;
  try {
    tokenizer.decode(Ids{'a', 256});
  } catch (const ValueError& error) {
    message = error.what();
  }
  EXPECT_EQ(message, "token id 256 is outside the vocabulary of 256 tokens");
  EXPECT_THROW(tokenizer.decode(Ids{-1}), ValueError);
  EXPECT_THROW(tokenizer.token(300), ValueError);
  EXPECT_THROW(tokenizer.token_bytes(256), ValueError);
}

std::string construction_error(const BpeVocabulary& vocabulary) {
  try {
    BpeTokenizer tokenizer(vocabulary);
  } catch (const ValueError& error) {
    return error.what();
  }
  return "";
}

TEST(BpeTokenizer, ABadVocabularyIsRefusedWithTheReason) {
  BpeVocabulary missing = byte_vocabulary({{"a", "b"}});
  missing.merges.push_back("ab c");  // "abc" is not a token
  EXPECT_EQ(construction_error(missing),
            "BPE vocabulary: merge 1 'ab c' needs the token 'abc', which is not in the vocabulary");
  BpeVocabulary malformed = byte_vocabulary();
  malformed.merges.push_back("a b c");
  EXPECT_EQ(construction_error(malformed), "BPE vocabulary: merge 0 'a b c' is not two tokens separated by one space");
  BpeVocabulary types = byte_vocabulary();
  types.token_types.pop_back();
  EXPECT_EQ(construction_error(types), "BPE vocabulary: 255 token types for 256 tokens");
  BpeVocabulary bos = byte_vocabulary();
  bos.bos_id = 256;
  EXPECT_EQ(construction_error(bos), "BPE vocabulary: bos_id 256 is outside the vocabulary of 256 tokens");
  BpeVocabulary llama3 = byte_vocabulary();
  llama3.pre_tokenizer = "llama3";
  EXPECT_EQ(construction_error(llama3),
            "BPE vocabulary: the pre-tokenizer 'llama3' is not implemented (attend has gpt2, default and smollm)");
  EXPECT_EQ(construction_error(BpeVocabulary{}), "BPE vocabulary: no tokens");
}

}  // namespace
}  // namespace attend::bpe
