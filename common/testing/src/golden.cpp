#include "estate/testing/golden.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>

#include "estate/testing/e2e.h"

#ifndef ESTATE_SOURCE_DIR
#error "ESTATE_SOURCE_DIR must be defined by the build"
#endif

namespace estate::testing {
namespace {

namespace fs = std::filesystem;

// How much of a mismatch to show: enough to see what changed without flooding the test log.
constexpr std::size_t kContextLines = 2;
constexpr std::size_t kMaxDiffLines = 12;

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.emplace_back(text, start, end - start);
    start = end + 1;
  }
  return lines;
}

bool UpdatingGoldens() {
  const char* v = std::getenv("ESTATE_UPDATE_GOLDEN");
  return v != nullptr && std::string_view(v) == "1";
}

// A single hunk covering everything between the first and the last differing line, clipped.
std::string ShortDiff(const std::string& want, const std::string& got) {
  std::vector<std::string> a = SplitLines(want);
  std::vector<std::string> b = SplitLines(got);
  std::size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  std::ostringstream out;
  std::size_t from = prefix > kContextLines ? prefix - kContextLines : 0;
  out << "@@ first difference at line " << prefix + 1 << " (- golden, + got) @@\n";
  for (std::size_t i = from; i < prefix; ++i) out << "  " << a[i] << "\n";
  auto side = [&out](const std::vector<std::string>& lines, std::size_t begin, std::size_t end, char mark) {
    for (std::size_t i = begin; i < end && i < begin + kMaxDiffLines; ++i)
      out << mark << ' ' << lines[i] << "\n";
    if (end - begin > kMaxDiffLines) out << mark << " ... " << (end - begin - kMaxDiffLines) << " more\n";
  };
  side(a, prefix, a.size() - suffix, '-');
  side(b, prefix, b.size() - suffix, '+');
  for (std::size_t i = b.size() - suffix; i < b.size() && i < b.size() - suffix + kContextLines; ++i) {
    out << "  " << b[i] << "\n";
  }
  if (a.size() == b.size() && prefix == a.size()) out << "(only the final newline differs)\n";
  return out.str();
}

bool WriteFile(const fs::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

std::string SourceDir() { return ESTATE_SOURCE_DIR; }

std::string FixturesDir() {
  if (const char* env = std::getenv("ESTATE_FIXTURES_DIR"); env != nullptr && *env != '\0') return env;
  return (fs::path(SourceDir()) / ".." / "shared" / "fixtures").lexically_normal().string();
}

bool HaveFixtures(const std::string& sub) {
  std::error_code ec;
  return fs::exists(fs::path(FixturesDir()) / sub, ec);
}

::testing::AssertionResult MatchesGolden(const std::string& text, const std::string& golden_relpath) {
  // An absolute path replaces SourceDir() here, which the harness's own test uses for a throwaway golden.
  const fs::path path = fs::path(SourceDir()) / golden_relpath;
  if (UpdatingGoldens()) {
    if (!WriteFile(path, text)) return ::testing::AssertionFailure() << "cannot write golden file " << path;
    return ::testing::AssertionSuccess() << "updated " << path;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ::testing::AssertionFailure()
           << "golden file " << path << " is missing; create it with ESTATE_UPDATE_GOLDEN=1";
  }
  std::ostringstream want;
  want << in.rdbuf();
  if (want.str() == text) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "output differs from golden file " << golden_relpath << "\n"
                                       << ShortDiff(want.str(), text)
                                       << "If the change is intended, rerun with ESTATE_UPDATE_GOLDEN=1 and "
                                          "review the diff of the golden file.";
}

std::string DropLines(const std::string& text, const std::vector<std::string>& regexes) {
  std::vector<std::regex> patterns;
  patterns.reserve(regexes.size());
  for (const std::string& r : regexes) patterns.emplace_back(r);
  std::string out;
  out.reserve(text.size());
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    const bool has_newline = end != std::string::npos;
    if (!has_newline) end = text.size();
    const std::string line(text, start, end - start);
    const bool drop = std::any_of(patterns.begin(), patterns.end(),
                                  [&line](const std::regex& p) { return std::regex_search(line, p); });
    if (!drop) {
      out += line;
      if (has_newline) out += '\n';
    }
    start = end + 1;
  }
  return out;
}

::testing::AssertionResult PromtoolCheckMetrics(const std::string& text) {
  const std::string promtool = BinaryPath("promtool");
  if (promtool.empty()) {
    return ::testing::AssertionFailure()
           << "promtool not found in PATH; install the Debian package 'prometheus' (scripts/install-deps.sh)";
  }
  const char* tmpdir = std::getenv("TMPDIR");
  std::string name =
      std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") + "/estate-metrics-XXXXXX";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  const int fd = mkstemp(buf.data());
  if (fd < 0) return ::testing::AssertionFailure() << "cannot create a temporary file in " << name;
  close(fd);
  const std::string file(buf.data());
  if (!WriteFile(file, text)) {
    std::remove(file.c_str());
    return ::testing::AssertionFailure() << "cannot write " << file;
  }
  CommandResult r = RunCommand({promtool, "check", "metrics"}, file);
  std::remove(file.c_str());
  if (r.exit_code == 0) return ::testing::AssertionSuccess() << r.output;
  if (r.exit_code < 0) return ::testing::AssertionFailure() << "cannot run promtool: " << r.error;
  return ::testing::AssertionFailure() << "promtool check metrics exited " << r.exit_code << ":\n"
                                       << r.output;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "ReadFileOrDie: cannot open %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace estate::testing
