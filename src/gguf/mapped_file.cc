#include "gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "attend/io/atomic_file.h"

namespace attend::gguf {
namespace {

[[noreturn]] void cannot_map(const std::string& path, int error) {
  fail<io::IoError>("cannot read '{}': {}", path, std::generic_category().message(error));
}

void require_regular_file(const std::string& path, const struct stat& status) {
  if (!S_ISREG(status.st_mode)) fail<io::IoError>("cannot read '{}': not a regular file", path);
}

}  // namespace

MappedFile::MappedFile(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) cannot_map(path, errno);
  require_regular_file(path, status);
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (descriptor < 0) cannot_map(path, errno);
  if (::fstat(descriptor, &status) != 0) {
    const int error = errno;
    ::close(descriptor);
    cannot_map(path, error);
  }
  if (!S_ISREG(status.st_mode)) {
    ::close(descriptor);
    require_regular_file(path, status);
  }
  size_ = static_cast<size_t>(status.st_size);
  if (size_ > 0) {
    void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, descriptor, 0);
    if (mapping == MAP_FAILED) {
      const int error = errno;
      ::close(descriptor);
      cannot_map(path, error);
    }
    data_ = static_cast<const std::byte*>(mapping);
  }
  ::close(descriptor);  // the mapping keeps the file
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace attend::gguf
