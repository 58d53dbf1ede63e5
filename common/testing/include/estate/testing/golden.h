// Golden-file and promtool helpers for tests.
// Set ESTATE_UPDATE_GOLDEN=1 to rewrite golden files instead of comparing them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estate::testing {

// The project's source directory and the shared fixtures directory ("<source>/../shared/fixtures").
std::string SourceDir();
std::string FixturesDir();
// True when "<FixturesDir()>/<sub>" exists; use with GTEST_SKIP() otherwise.
bool HaveFixtures(const std::string& sub);

// Compares text with the golden file (path relative to SourceDir()); rewrites it when updating.
::testing::AssertionResult MatchesGolden(const std::string& text, const std::string& golden_relpath);

// Drops lines matching any of the regular expressions (for non-deterministic series such as timestamps).
std::string DropLines(const std::string& text, const std::vector<std::string>& regexes);

// Runs `promtool check metrics` on the text; success when it exits 0. output gets what it printed.
::testing::AssertionResult PromtoolCheckMetrics(const std::string& text);

std::string ReadFileOrDie(const std::string& path);

}  // namespace estate::testing
