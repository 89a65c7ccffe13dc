// Atomic file replacement: at every moment `path` holds either its previous content (or nothing)
// or the complete new content, never a prefix of it, even if the process crashes mid-write.
//
// The usual POSIX recipe (LevelDB writes its CURRENT file this way):
//   1. write the new content to a temporary file in the same directory as `path` (a rename is
//      only atomic within one file system);
//   2. fsync the temporary file, so its data is on disk before its name can point at it;
//   3. rename it over `path` (or, when overwriting is not allowed, link it to `path`, which fails
//      if `path` appeared meanwhile, and unlink the temporary name);
//   4. fsync the directory, so that the new name itself survives a power cut.
// On any error before step 3 the temporary file is removed and IoError is thrown; `path` is not
// touched. A crash (no destructor runs) can leave the temporary file behind: it is named
// ".<file name>.tmp-<pid>-<counter>" beside `path` and can be deleted.
#pragma once

#include <cstddef>
#include <string>

#include "attend/core/error.h"

namespace attend::io {

// A file system operation failed (open, write, fsync, rename); the message names the file and
// the reason given by the operating system.
class IoError : public Error {
 public:
  using Error::Error;
};

class AtomicFile {
 public:
  // Creates the temporary file beside `path`. Throws IoError when `path` exists and `overwrite`
  // is false, when `path` is a directory or another non-regular file (a device, pipe or socket,
  // even with `overwrite`), or when the directory cannot be written.
  AtomicFile(std::string path, bool overwrite);
  // Without a successful commit(), closes and removes the temporary file.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `size` bytes to the temporary file.
  void write(const void* data, size_t size);
  // Steps 2-4 above. After it returns, `path` holds everything written. If it throws, `path`
  // holds its previous content, except when only the final directory fsync failed: the message
  // then says that the new file is in place but not known to be durable.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  void discard() noexcept;

  std::string path_;
  std::string directory_;
  std::string temp_path_;
  bool overwrite_ = false;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace attend::io
