// The files of one command (viz, plot), rendered in memory first and then written together.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace attend::tools {

using Files = std::vector<std::pair<std::string, std::string>>;  // (file name, bytes)

// Writes every file into `directory` (made if absent) and prints each path. A bad input fails
// before anything is written, and a failed write removes what this call had written (and the
// directory, if it made it).
void write_all(const std::string& directory, const Files& files);

}  // namespace attend::tools
