// A 200 MB InSpec report (issue #11, robustness): the store reads and parses it with the real parser next to
// an ordinary report, counts every control, keeps only the controls that need a series, and its memory stays
// a small multiple of the file; with a file-size limit below it, that file alone is down with a clear error
// and the other report is unaffected. Several seconds (label e2e: not run under ASan).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "estate/testing/e2e.h"
#include "report_store.h"

namespace estate::compliance {
namespace {

namespace fs = std::filesystem;
using estate::testing::TempDir;

struct Written {
  std::uintmax_t bytes = 0;
  int controls = 0, passed = 0, failed = 0;
};

// Streams an InSpec exec report of `controls` controls (~3.4 KB each) to `path`: every third fails.
Written WriteLargeReport(const std::string& path, int controls) {
  std::ofstream out(path, std::ios::binary);
  out << R"({"platform": {"name": "debian", "release": "12", "target_id": "big-host"},
"profiles": [{"name": "big", "version": "1.0.0", "sha256": "ab", "title": "Big", "status": "loaded",
"supports": [], "attributes": [], "groups": [], "controls": [)";
  const std::string filler(2400, 'x');
  Written w;
  for (int c = 0; c < controls; ++c) {
    const bool fail = c % 3 == 0;
    if (c > 0) out << ",";
    out << R"({"id": "BIG-)" << c << R"(", "title": "Control )" << c << R"(", "desc": ")" << filler
        << R"(", "impact": 0.7, "refs": [], "tags": {"cis": "1.)" << c << R"("},
"code": "control 'BIG' do\n  describe file('/etc') do\n    it { should exist }\n  end\nend\n",
"source_location": {"ref": "controls/big.rb", "line": 1}, "results": [{"status": ")"
        << (fail ? "failed" : "passed")
        << R"(", "code_desc": "File /etc is expected to exist", "run_time": 0.001,
"start_time": "2026-12-04T09:00:00+00:00")"
        << (fail ? R"(, "message": "expected it to exist")" : "") << "}]}";
    ++w.controls;
    (fail ? w.failed : w.passed)++;
  }
  out << R"(]}], "statistics": {"duration": 1.5}, "version": "5.22.3"})"
      << "\n";
  out.close();
  w.bytes = fs::file_size(path);
  return w;
}

std::string SmallReport() {
  return R"({"platform": {"name": "debian", "release": "12", "target_id": "small-host"},
"profiles": [{"name": "small", "version": "1.0.0", "status": "loaded", "controls": [
{"id": "S-1", "title": "one", "impact": 0.5, "results": [{"status": "passed", "code_desc": "ok", "start_time": "2026-12-04T09:00:00+00:00"}]},
{"id": "S-2", "title": "two", "impact": 0.9, "results": [{"status": "failed", "code_desc": "no", "message": "bad", "start_time": "2026-12-04T09:00:00+00:00"}]}
]}], "statistics": {"duration": 0.5}, "version": "5.22.3"})";
}

const FileState* FileOf(const StoreSnapshot& s, const std::string& path) {
  for (const auto& f : s.files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

const StoredReport* ReportOf(const StoreSnapshot& s, const std::string& host) {
  for (const auto& r : s.reports) {
    if (r->host == host) return r.get();
  }
  return nullptr;
}

int Count(const StoredReport& r, Status status) {
  int n = 0;
  for (const auto& c : r.counts) {
    for (int v : c.n[static_cast<int>(status)]) n += v;
  }
  return n;
}

class LargeReport : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fs::create_directories(dir_->path() + "/reports");
    big_path_ = dir_->path() + "/reports/big.json";
    written_ = WriteLargeReport(big_path_, 75000);
    small_path_ = dir_->Write("reports/small.json", SmallReport());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  StoreOptions Options() const {
    StoreOptions o;
    o.paths = {dir_->path() + "/reports"};
    o.settle_seconds = 0;
    o.retention_seconds = 3650 * 86400.0;
    return o;
  }
  static TempDir* dir_;
  static std::string big_path_, small_path_;
  static Written written_;
};

TempDir* LargeReport::dir_ = nullptr;
std::string LargeReport::big_path_, LargeReport::small_path_;
Written LargeReport::written_;

TEST_F(LargeReport, TwoHundredMegabytesAreReadCountedAndSlimmed) {
  ASSERT_GE(written_.bytes, std::uintmax_t{200} << 20) << "the generator must write at least 200 MiB";
  const auto before = estate::testing::ReadProcessMemory(::getpid());
  ReportStore store(Options());
  auto stats = store.Scan();
  const auto after = estate::testing::ReadProcessMemory(::getpid());
  EXPECT_EQ(stats.read, 2u);
  EXPECT_EQ(stats.failed, 0u);
  auto snap = store.Snapshot();
  const FileState* big = FileOf(*snap, big_path_);
  ASSERT_NE(big, nullptr);
  EXPECT_TRUE(big->up) << big->last_error;
  const StoredReport* report = ReportOf(*snap, "big-host");
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(Count(*report, Status::kPassed), written_.passed);
  EXPECT_EQ(Count(*report, Status::kFailed), written_.failed);
  // Slim: only the failing controls are kept, without their descriptions.
  EXPECT_EQ(report->report.controls.size(), static_cast<std::size_t>(written_.failed));
  for (const auto& c : report->report.controls) ASSERT_TRUE(c.description.empty()) << c.id;
  ASSERT_NE(ReportOf(*snap, "small-host"), nullptr);
  // The file is held once while it is parsed; the parse itself keeps pruned controls only. Printed for the
  // closing note; bounded at twice the file.
  const double grew_mib = static_cast<double>(after.peak_rss_bytes - before.peak_rss_bytes) / (1 << 20);
  std::printf("large report: %.0f MiB file, %d controls, read in %.2f s, peak RSS grew by %.0f MiB\n",
              static_cast<double>(written_.bytes) / (1 << 20), written_.controls, stats.seconds, grew_mib);
  EXPECT_LT(after.peak_rss_bytes - before.peak_rss_bytes, 2 * written_.bytes);
}

TEST_F(LargeReport, OverTheSizeLimitOnlyThatFileIsDown) {
  StoreOptions o = Options();
  o.max_file_bytes = std::size_t{100} << 20;
  ReportStore store(o);
  auto stats = store.Scan();
  EXPECT_EQ(stats.failed, 1u);
  auto snap = store.Snapshot();
  const FileState* big = FileOf(*snap, big_path_);
  ASSERT_NE(big, nullptr);
  EXPECT_FALSE(big->up);
  EXPECT_NE(big->last_error.find("larger than"), std::string::npos) << big->last_error;
  EXPECT_EQ(ReportOf(*snap, "big-host"), nullptr);
  const FileState* small = FileOf(*snap, small_path_);
  ASSERT_NE(small, nullptr);
  EXPECT_TRUE(small->up) << small->last_error;
  ASSERT_NE(ReportOf(*snap, "small-host"), nullptr);
}

}  // namespace
}  // namespace estate::compliance
