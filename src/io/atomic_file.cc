#include "attend/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <utility>

namespace attend::io {
namespace {

[[noreturn]] void fail_os(const std::string& what, int error) {
  throw IoError(fmt::format("{}: {}", what, std::generic_category().message(error)));
}

// With the process id, makes temporary names unique among concurrent writers; O_EXCL catches the
// rest (a name left by a crashed process whose id was reused).
std::atomic<uint64_t> temp_counter{0};

bool path_exists(const std::string& path) {
  struct stat status {};
  return ::lstat(path.c_str(), &status) == 0;
}

}  // namespace

AtomicFile::AtomicFile(std::string path, bool overwrite) : path_(std::move(path)), overwrite_(overwrite) {
  const std::filesystem::path target(path_);
  ATTEND_CHECK(target.has_filename(), IoError, "cannot write '{}': the path names no file", path_);
  directory_ = target.has_parent_path() ? target.parent_path().string() : ".";

  struct stat status {};
  if (::stat(path_.c_str(), &status) == 0) {
    ATTEND_CHECK(!S_ISDIR(status.st_mode), IoError, "cannot write '{}': it is a directory", path_);
    // A rename would put a regular file where a device, pipe or socket was (as root: /dev/full).
    ATTEND_CHECK(S_ISREG(status.st_mode), IoError,
                 "cannot write '{}': it is not a regular file (a device, pipe or socket is never replaced)", path_);
    ATTEND_CHECK(overwrite_, IoError,
                 "refusing to overwrite the existing file '{}' (pass overwrite = true to replace it)", path_);
  }

  const std::string stem = (target.parent_path() / fmt::format(".{}.tmp-", target.filename().string())).string();
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path_ = fmt::format("{}{}-{}", stem, ::getpid(), temp_counter.fetch_add(1));
    // 0666 before the umask: the new file gets the same permissions as one made by fopen.
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST) {
      const int error = errno;
      temp_path_.clear();
      fail_os(fmt::format("cannot write '{}': cannot create a temporary file in '{}'", path_, directory_), error);
    }
  }
  temp_path_.clear();
  fail<IoError>("cannot write '{}': 100 temporary names in '{}' are taken", path_, directory_);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

void AtomicFile::write(const void* data, size_t size) {
  ATTEND_CHECK(fd_ >= 0, IoError, "cannot write '{}': the file is already committed", path_);
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    // Linux writes at most about 2 GiB per call; larger requests come back short anyway.
    const ssize_t written = ::write(fd_, bytes, std::min<size_t>(size, size_t{1} << 30));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail_os(fmt::format("cannot write '{}'", temp_path_), written < 0 ? errno : EIO);
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFile::commit() {
  ATTEND_CHECK(fd_ >= 0, IoError, "cannot commit '{}': the file is already committed", path_);
  if (::fsync(fd_) != 0) fail_os(fmt::format("cannot fsync '{}'", temp_path_), errno);
  const int fd = std::exchange(fd_, -1);
  // close() can report a write error deferred by the file system (NFS does this).
  if (::close(fd) != 0) fail_os(fmt::format("cannot close '{}'", temp_path_), errno);

  if (overwrite_) {
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      fail_os(fmt::format("cannot rename '{}' to '{}'", temp_path_, path_), errno);
    }
  } else if (::link(temp_path_.c_str(), path_.c_str()) == 0) {
    // `path` is complete; failing to remove the temporary name only leaves a stray file.
    ::unlink(temp_path_.c_str());
  } else {
    const int error = errno;
    ATTEND_CHECK(error != EEXIST, IoError,
                 "refusing to overwrite '{}', which appeared while it was being written "
                 "(pass overwrite = true to replace it)",
                 path_);
    if (error != EPERM && error != EOPNOTSUPP) {
      fail_os(fmt::format("cannot link '{}' to '{}'", temp_path_, path_), error);
    }
    // The file system has no hard links (FAT, some FUSE mounts): check, then rename. Another
    // process could create `path` in between; these file systems offer nothing better.
    ATTEND_CHECK(!path_exists(path_), IoError,
                 "refusing to overwrite '{}', which appeared while it was being written "
                 "(pass overwrite = true to replace it)",
                 path_);
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      fail_os(fmt::format("cannot rename '{}' to '{}'", temp_path_, path_), errno);
    }
  }
  committed_ = true;
  temp_path_.clear();

  const int directory_fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string not_durable = fmt::format(
      "'{}' is written, but its directory '{}' cannot be synced, so the new file may not "
      "survive a power cut",
      path_, directory_);
  if (directory_fd < 0) fail_os(not_durable, errno);
  const int result = ::fsync(directory_fd);
  const int error = errno;
  ::close(directory_fd);
  // EINVAL: the file system does not sync directories (it has nothing to make durable).
  if (result != 0 && error != EINVAL) fail_os(not_durable, error);
}

}  // namespace attend::io
