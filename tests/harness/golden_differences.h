// expect_no_golden_differences(cases, minimum, difference): every case of a golden file compared
// by `difference` ("" when attend agrees with the reference, else what differs). The first five
// differences fail on their own, then their count; a file that lost cases fails too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace attend {

template <typename Case, typename Difference>
void expect_no_golden_differences(const std::vector<Case>& cases, size_t minimum, Difference difference) {
  EXPECT_GE(cases.size(), minimum) << "the golden file lost cases";
  int64_t mismatches = 0;
  for (const Case& golden : cases) {
    const std::string found = difference(golden);
    if (found.empty()) continue;
    if (++mismatches <= 5) ADD_FAILURE() << found;
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " cases";
}

}  // namespace attend
