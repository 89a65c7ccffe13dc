// Every file that viz/ writes goes through here: the bytes go to a temporary file beside the
// target, which is renamed over it only once complete (io/atomic_file.h), so a failure leaves
// no partial image, page or document behind.
#pragma once

#include <string>
#include <string_view>

namespace attend::viz {

// Throws ValueError when the directory of `path` does not exist or cannot be written, naming
// it; io::IoError when a write fails later (disk full). Replaces an existing file.
void write_output_file(const std::string& path, std::string_view bytes);

// Throws ValueError unless `directory` exists (or can be created) and is writable.
void require_writable_directory(const std::string& directory);
// The same check without making anything: `directory` is a writable directory, or does not exist
// and its nearest existing ancestor is one. For failing before any work is done.
void check_output_directory(const std::string& directory);

}  // namespace attend::viz
