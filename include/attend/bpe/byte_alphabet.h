// GPT-2's byte-level alphabet (bytes_to_unicode in openai/gpt-2's encoder.py, kept by Hugging Face
// and llama.cpp): each of the 256 bytes is spelled as one printable code point, so that a vocabulary
// of byte strings can be stored as text and a token never holds a space or a control character.
//
//   bytes 0x21..0x7E, 0xA1..0xAC, 0xAE..0xFF   spelled as themselves (Latin-1), 188 bytes
//   the other 68 (0x00..0x20, 0x7F..0xA0, 0xAD) spelled U+0100, U+0101, ... in byte order:
//                                               '\n' is 'Ċ' U+010A, ' ' is 'Ġ' U+0120
//
// A GGUF file stores a byte-level vocabulary in this spelling (tokenizer.ggml.tokens).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace attend::bpe {

// The code point that spells `byte`.
char32_t byte_to_code_point(uint8_t byte);

// The byte that `code_point` spells, or nullopt when it is not one of the 256 of the alphabet.
std::optional<uint8_t> code_point_to_byte(char32_t code_point);

// The spelling of `bytes` (UTF-8, one or two bytes per input byte): "a b" gives "aĠb".
std::string spell_bytes(std::string_view bytes);

// The bytes a spelled token stands for: "aĠb" gives "a b". nullopt when `spelled` is not UTF-8 or
// holds a code point outside the alphabet (a token stored as plain text, like "<|im_start|>"'s
// spelling is itself, but "é" written as U+00E9's UTF-8 is not).
std::optional<std::string> unspell_bytes(std::string_view spelled);

}  // namespace attend::bpe
