// Atomic files: a failed, interrupted or crashed write (simulated in forked children) never
// destroys the previous file and leaves no temporary behind; existing targets are refused.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "attend/core/tensor.h"
#include "attend/io/atomic_file.h"
#include "attend/io/safetensors.h"
#include "io/io_fixtures.h"

namespace attend {
namespace {

namespace fs = std::filesystem;
using io::NamedTensors;
using io_fixtures::read_bytes;
using io_fixtures::run_in_child;
using io_fixtures::TempDir;
using io_fixtures::write_bytes;

TEST(SafetensorsAtomicity, FailedSaveKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"a", Tensor<float>::scalar(1.0f)}});
  const std::string old_bytes = read_bytes(path);
  // Fails validation, before any file is made.
  EXPECT_THROW(io::save_safetensors(path, {{"a", Tensor<float>::ones({1000})}, {"b", Tensor<double>()}}, {}, true),
               ValueError);
  // Fails to create the temporary file.
  EXPECT_THROW(io::save_safetensors(dir.file("missing/model.safetensors"), {{"a", Tensor<float>::scalar(1.0f)}}),
               io::IoError);
  EXPECT_FALSE(fs::exists(dir.file("missing")));
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.safetensors"});
}

// The write itself fails half way (the file size limit stands in for a full disk).
TEST(SafetensorsAtomicity, WriteErrorMidwayKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("model.safetensors");
  io::save_safetensors(path, {{"a", Tensor<float>::scalar(1.0f)}});
  const std::string old_bytes = read_bytes(path);
  const int code = run_in_child([&] {
    ::signal(SIGXFSZ, SIG_IGN);  // make write() fail with EFBIG instead of killing the process
    const rlimit limit{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      io::save_safetensors(path, {{"a", Tensor<float>::ones({100000})}}, {}, true);
    } catch (const io::IoError&) {
      return 0;
    } catch (...) {
      return 2;
    }
    return 1;  // the limit did not bite
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.safetensors"});
}

TEST(AtomicFile, WritesCommitsAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  {
    io::AtomicFile file(path, false);
    EXPECT_TRUE(fs::exists(file.temp_path()));
    EXPECT_EQ(fs::path(file.temp_path()).parent_path(), fs::path(path).parent_path());
    file.write("hello ", 6);
    file.write("world", 5);
    EXPECT_FALSE(fs::exists(path)) << "nothing is visible before commit";
    file.commit();
    EXPECT_THROW(file.write("!", 1), io::IoError);
    EXPECT_THROW(file.commit(), io::IoError);
  }
  EXPECT_EQ(read_bytes(path), "hello world");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, ExceptionBeforeCommitKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_bytes(path, "old");
  try {
    io::AtomicFile file(path, true);
    file.write("new, but only half", 18);
    throw std::runtime_error("serialization failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_bytes(path), "old");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, CrashMidWriteKeepsTheOldFile) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  write_bytes(path, "old");
  const int code = run_in_child([&] {
    io::AtomicFile file(path, true);
    file.write("new, but only half", 18);
    ::_exit(0);  // dies with the file open: no commit, no destructor
    return 1;
  });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(read_bytes(path), "old");
  // The crash leaves its temporary file, under the documented name.
  const std::set<std::string> names = dir.entries();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names.count("out.bin"), 1u);
  const std::string& stray = *names.begin();  // '.' sorts before 'o'
  EXPECT_EQ(stray.rfind(".out.bin.tmp-", 0), 0u) << stray;
}

TEST(AtomicFile, RefusesExistingFileAndDirectories) {
  TempDir dir;
  write_bytes(dir.file("out.bin"), "old");
  EXPECT_THROW(io::AtomicFile(dir.file("out.bin"), false), io::IoError);
  fs::create_directories(dir.file("sub"));
  EXPECT_THROW(io::AtomicFile(dir.file("sub"), true), io::IoError);
  EXPECT_THROW(io::AtomicFile(dir.file("nowhere/out.bin"), true), io::IoError);
  EXPECT_EQ(read_bytes(dir.file("out.bin")), "old");
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"out.bin", "sub"}));
}

// Overwriting never renames a regular file over a device, pipe or socket: a named pipe here (a
// command given --out /dev/full --overwrite as root replaced the device before).
TEST(AtomicFile, NeverReplacesWhatIsNotARegularFile) {
  TempDir dir;
  ASSERT_EQ(::mkfifo(dir.file("pipe").c_str(), 0600), 0);
  try {
    io::AtomicFile file(dir.file("pipe"), true);
    ADD_FAILURE() << "a named pipe was accepted as a target";
  } catch (const io::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_fifo(dir.file("pipe")));
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"pipe"}));
}

// Another writer creates the target while we write: without overwrite, theirs stays.
TEST(AtomicFile, TargetAppearingDuringWriteIsNotOverwritten) {
  TempDir dir;
  const std::string path = dir.file("out.bin");
  {
    io::AtomicFile file(path, false);
    file.write("ours", 4);
    write_bytes(path, "theirs");
    EXPECT_THROW(file.commit(), io::IoError);
  }
  EXPECT_EQ(read_bytes(path), "theirs");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

}  // namespace
}  // namespace attend
