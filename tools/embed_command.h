// `attend embed [--model DIR] TEXT... | --file FILE [--out FILE.npy|FILE.jsonl] [--batch N]`:
// sentence embeddings of a pretrained encoder (models/sentence_encoder.h), and
// `attend similarity A B`: the cosine of two texts' embeddings.
#pragma once

#include <string>
#include <vector>

namespace attend::tools {

// add_embed_command and add_similarity_command (commands.h) register `embed` and `similarity`.

// The lines of a text file, one text each (a final newline ends the last line, it does not add an
// empty one; "\r\n" endings lose their "\r"). ValueError naming the file and the line for bytes
// that are not UTF-8 or a NUL byte (not a text file); IoError when it cannot be read.
std::vector<std::string> read_text_lines(const std::string& path);

// The whole of a UTF-8 text file (a prompt, a text to score); IoError when it cannot be read,
// ValueError naming the file when it holds a NUL byte or is not UTF-8.
std::string read_text_file(const std::string& path);

}  // namespace attend::tools
