// The report store alone, with a parser of our own (fake_report.h) that counts its calls: what is read when,
// settle, a file that turns bad and good again, deletion, retention, the newest report per host and profile
// set, 1,000 files at once, and files changed or replaced while they are read.
#include "report_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "estate/testing/e2e.h"
#include "fake_report.h"

namespace estate::compliance {
namespace {

namespace fs = std::filesystem;
using estate::testing::TempDir;

constexpr double kNow = 1'800'000'000;  // the tests' wall clock

void SetMtime(const std::string& path, double unix) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(unix);
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

// Writes a file and dates it `age` seconds before the tests' clock (settled by default).
std::string Put(const TempDir& dir, const std::string& name, const std::string& body, double age = 60) {
  std::string path = dir.Write(name, body);
  SetMtime(path, kNow - age);
  return path;
}

std::string Report(const std::string& host, double time, const std::string& profile = "base",
                   const std::string& status = "failed") {
  return "host " + host + "\ntime " + std::to_string(static_cast<long long>(time)) + "\nprofile " + profile +
         " 1.0\ncontrol c1 " + profile + " " + status + " high\ncontrol c2 " + profile + " passed low\n";
}

struct Fixture {
  TempDir dir;
  std::atomic<int> calls{0};
  double now = kNow;
  StoreOptions options;

  Fixture() {
    options.paths = {dir.path() + "/reports"};
    options.settle_seconds = 2;
    options.retention_seconds = 14 * 86400.0;
    options.now = [this] { return now; };
    fs::create_directories(dir.path() + "/reports");
  }
  std::unique_ptr<ReportStore> Make() {
    return std::make_unique<ReportStore>(options, [this](std::string_view body) {
      calls.fetch_add(1);
      return testing::FakeParse(body);
    });
  }
  const FileState* File(const StoreSnapshot& s, const std::string& path) {
    for (const auto& f : s.files) {
      if (f.path == path) return &f;
    }
    return nullptr;
  }
};

TEST(ReportStore, UnchangedFilesAreNotReadAgain) {
  Fixture f;
  Put(f.dir, "reports/a.json", Report("a", kNow - 100));
  std::string b = Put(f.dir, "reports/sub/b.json", Report("b", kNow - 100));
  auto store = f.Make();
  ScanStats first = store->Scan();
  EXPECT_EQ(first.files, 2u);
  EXPECT_EQ(first.read, 2u);
  EXPECT_EQ(f.calls.load(), 2);
  ScanStats second = store->Scan();
  EXPECT_EQ(second.read, 0u);
  EXPECT_EQ(f.calls.load(), 2);  // stat only
  // Same size, new mtime: read again.
  SetMtime(b, kNow - 30);
  store->Scan();
  EXPECT_EQ(f.calls.load(), 3);
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 2u);
  EXPECT_EQ(snap->reports[0]->host, "a");
  EXPECT_EQ(snap->reports[1]->host, "b");
}

TEST(ReportStore, AFileStillBeingWrittenWaitsForSettle) {
  Fixture f;
  std::string path = Put(f.dir, "reports/a.json", Report("a", kNow - 100), /*age=*/0.5);
  auto store = f.Make();
  ScanStats s = store->Scan();
  EXPECT_EQ(s.deferred, 1u);
  EXPECT_EQ(f.calls.load(), 0);
  EXPECT_EQ(store->Snapshot()->pending, 1u);
  EXPECT_TRUE(store->Snapshot()->files.empty());
  EXPECT_FALSE(store->ScanDue());  // not before it has settled
  f.now += 2;
  EXPECT_TRUE(store->ScanDue());
  store->Scan();
  EXPECT_EQ(f.calls.load(), 1);
  ASSERT_EQ(store->Snapshot()->reports.size(), 1u);
}

TEST(ReportStore, ABadVersionKeepsTheLastGoodReport) {
  Fixture f;
  std::string path = Put(f.dir, "reports/a.json", Report("a", kNow - 100));
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  ASSERT_NE(f.File(*snap, path), nullptr);
  EXPECT_TRUE(f.File(*snap, path)->up);
  EXPECT_EQ(f.File(*snap, path)->last_success_unix, kNow);
  const auto generation = snap->generation;

  Put(f.dir, "reports/a.json", "{\"profiles\": [BROKEN", 30);  // truncated
  f.now += 10;
  store->Scan();
  snap = store->Snapshot();
  EXPECT_GT(snap->generation, generation);
  const FileState* st = f.File(*snap, path);
  ASSERT_NE(st, nullptr);
  EXPECT_FALSE(st->up);
  EXPECT_EQ(st->parse_errors, 1);
  EXPECT_EQ(st->last_error, "fake: truncated at byte 3");
  EXPECT_EQ(st->last_success_unix, kNow);
  ASSERT_EQ(snap->reports.size(), 1u);  // the last good report is still served
  EXPECT_EQ(snap->reports[0]->time_unix, kNow - 100);
  // The bad version is not read again while it does not change.
  store->Scan();
  EXPECT_EQ(f.calls.load(), 2);
  EXPECT_EQ(f.File(*store->Snapshot(), path)->parse_errors, 1);

  Put(f.dir, "reports/a.json", Report("a", kNow - 5), 20);  // fixed
  store->Scan();
  snap = store->Snapshot();
  st = f.File(*snap, path);
  EXPECT_TRUE(st->up);
  EXPECT_EQ(st->parse_errors, 1);
  EXPECT_TRUE(st->last_error.empty());
  EXPECT_EQ(snap->reports[0]->time_unix, kNow - 5);
}

TEST(ReportStore, AnEmptyFileIsAnErrorWithoutData) {
  Fixture f;
  std::string path = Put(f.dir, "reports/empty.json", "");
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_NE(f.File(*snap, path), nullptr);
  EXPECT_FALSE(f.File(*snap, path)->up);
  EXPECT_EQ(f.File(*snap, path)->report, nullptr);
  EXPECT_TRUE(snap->reports.empty());
}

TEST(ReportStore, ADeletedFileDropsItsReport) {
  Fixture f;
  std::string a = Put(f.dir, "reports/a.json", Report("a", kNow - 100));
  Put(f.dir, "reports/b.json", Report("b", kNow - 100));
  auto store = f.Make();
  store->Scan();
  ASSERT_EQ(store->Snapshot()->reports.size(), 2u);
  fs::remove(a);
  ScanStats s = store->Scan();
  EXPECT_EQ(s.removed, 1u);
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  EXPECT_EQ(snap->reports[0]->host, "b");
  EXPECT_EQ(f.File(*snap, a), nullptr);
}

TEST(ReportStore, RetentionDropsReportsOfHostsThatStoppedReporting) {
  Fixture f;
  f.options.retention_seconds = 86400;
  std::string old = Put(f.dir, "reports/old.json", Report("old", kNow - 2 * 86400));
  Put(f.dir, "reports/new.json", Report("new", kNow - 3600));
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  EXPECT_EQ(snap->reports[0]->host, "new");
  EXPECT_NE(f.File(*snap, old), nullptr);  // the file itself is still known (and up)
  // Time moves on: the other one leaves too, without any file changing.
  const auto generation = snap->generation;
  f.now += 86400;
  store->Scan();
  snap = store->Snapshot();
  EXPECT_TRUE(snap->reports.empty());
  EXPECT_GT(snap->generation, generation);
}

TEST(ReportStore, TheNewestReportPerHostAndProfileSetWins) {
  Fixture f;
  f.options.spool_dir = f.dir.path() + "/spool";
  Put(f.dir, "reports/web-1-monday.json", Report("web-1", kNow - 3000));
  Put(f.dir, "reports/web-1-tuesday.json", Report("web-1", kNow - 2000));
  Put(f.dir, "reports/web-1-cis.json", Report("web-1", kNow - 5000, "cis"));  // another profile set
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 2u);
  EXPECT_EQ(snap->reports[0]->time_unix, kNow - 2000);  // newest first within a host
  EXPECT_EQ(snap->reports[1]->report.profiles[0].name, "cis");
  EXPECT_FALSE(snap->reports[0]->pushed);
  // A pushed report (the spool is just another folder, written atomically: no settle) that is newer wins.
  Put(f.dir, "spool/x1.json", Report("web-1", kNow - 10), 0);
  store->Scan();
  snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 2u);
  EXPECT_TRUE(snap->reports[0]->pushed);
  EXPECT_EQ(snap->reports[0]->time_unix, kNow - 10);
}

TEST(ReportStore, HostFromThePathThenTheReportThenTheFileName) {
  Fixture f;
  f.options.paths = {f.dir.path() + "/reports", f.dir.path() + "/ci/*/inspec.json"};
  f.options.host_from_path = "/ci/([^/]+)/";
  Put(f.dir, "ci/db-7/inspec.json", Report("reported-name", kNow - 10));
  Put(f.dir, "reports/named.json", Report("from-report", kNow - 10));
  Put(f.dir, "reports/anonymous.xccdf.xml", "time 1799999999\ncontrol c1 p failed low\n");
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 3u);
  EXPECT_EQ(snap->reports[0]->host, "anonymous.xccdf");
  EXPECT_EQ(snap->reports[1]->host, "db-7");
  EXPECT_EQ(snap->reports[2]->host, "from-report");
}

TEST(ReportStore, SkipsTemporaryFilesAndNotesOpenScapHtml) {
  Fixture f;
  Put(f.dir, "reports/.host.json.tmp1234", Report("hidden", kNow - 10));
  Put(f.dir, "reports/host.json.part", Report("part", kNow - 10));
  Put(f.dir, "reports/.git/x.json", Report("git", kNow - 10));
  std::string xml = Put(f.dir, "reports/scap.xml", Report("scap", kNow - 10));
  std::string html = Put(f.dir, "reports/scap.html", "<html></html>");
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  EXPECT_EQ(snap->reports[0]->host, "scap");
  EXPECT_EQ(snap->reports[0]->html_report_file, html);
  EXPECT_EQ(snap->files.size(), 1u);
}

TEST(ReportStore, SlimReportsKeepCountsAndOnlyControlsThatNeedAView) {
  Fixture f;
  Put(f.dir, "reports/a.json",
      "host a\ntime 1799999999\nprofile base 1\ncontrol c1 base failed high\ncontrol c2 base passed low\n"
      "control c3 base not_applicable none\ncontrol c4 base passed medium expires=2000000000\n"
      "control c5 base waived high waived\ncontrol c6 other passed high\n");
  auto store = f.Make();
  store->Scan();
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  const StoredReport& r = *snap->reports[0];
  EXPECT_TRUE(r.slim);
  ASSERT_EQ(r.counts.size(), 2u);
  EXPECT_EQ(r.counts[0].profile, "base");
  EXPECT_EQ(r.counts[0].n[int(Status::kFailed)][int(Severity::kHigh)], 1);
  EXPECT_EQ(r.counts[0].n[int(Status::kPassed)][int(Severity::kLow)], 1);
  EXPECT_EQ(r.counts[0].n[int(Status::kNotApplicable)][int(Severity::kNone)], 1);
  EXPECT_EQ(r.counts[1].profile, "other");
  ASSERT_EQ(r.report.controls.size(), 3u);  // c1, c4 (a waiver expiry), c5
  EXPECT_EQ(r.report.controls[0].id, "c1");
  EXPECT_TRUE(r.report.controls[0].description.empty());
  EXPECT_EQ(r.report.controls[1].id, "c4");
  EXPECT_EQ(r.report.controls[2].id, "c5");
  // The whole report is one read away.
  auto full = store->ReadFull(r.source_file);
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->controls.size(), 6u);
  EXPECT_FALSE(full->controls[0].description.empty());
}

TEST(ReportStore, AThousandFilesAppearingAtOnce) {
  Fixture f;
  f.options.parse_threads = 4;
  auto store = f.Make();
  store->Scan();
  for (int i = 0; i < 1000; ++i) {
    Put(f.dir, "reports/batch/host-" + std::to_string(i) + ".json", Report("host-" + std::to_string(i), kNow - 60));
  }
  f.now += 1;
  store->RequestRescan();
  EXPECT_TRUE(store->ScanDue());
  ScanStats s = store->Scan();
  EXPECT_EQ(s.files, 1000u);
  EXPECT_EQ(s.read, 1000u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(f.calls.load(), 1000);
  auto snap = store->Snapshot();
  EXPECT_EQ(snap->reports.size(), 1000u);
  EXPECT_EQ(snap->files.size(), 1000u);
  store->Scan();
  EXPECT_EQ(f.calls.load(), 1000);
}

TEST(ReportStore, AFileReplacedWhileReadIsReadAgainLater) {
  Fixture f;
  std::string path = Put(f.dir, "reports/a.json", Report("a", kNow - 100));
  int replaced = 0;
  f.options.after_read = [&](const std::string& p) {
    if (p != path || replaced++ > 0) return;
    // A writer renames a new version over it (what inspec --reporter json:tmp && mv does).
    std::string tmp = Put(f.dir, "reports/.a.json.new", Report("a", kNow - 50));
    fs::rename(tmp, path);
    SetMtime(path, kNow - 40);
  };
  auto store = f.Make();
  ScanStats s = store->Scan();
  EXPECT_EQ(s.deferred, 1u);
  EXPECT_EQ(f.calls.load(), 0);  // the old version was not parsed
  EXPECT_TRUE(store->Snapshot()->files.empty());
  f.now += 2;  // a file that was changing is looked at again after the settle time
  EXPECT_TRUE(store->ScanDue());
  store->Scan();
  EXPECT_EQ(f.calls.load(), 1);
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  EXPECT_EQ(snap->reports[0]->time_unix, kNow - 50);
}

TEST(ReportStore, AFileRewrittenInPlaceWhileReadIsNeverParsedHalfWay) {
  Fixture f;
  std::string path = Put(f.dir, "reports/a.json", Report("a", kNow - 100));
  int rewrites = 0;
  f.options.after_read = [&](const std::string&) {
    if (rewrites++ > 0) return;
    std::ofstream out(path, std::ios::app);
    out << "control c9 base failed critical\n";
  };
  auto store = f.Make();
  store->Scan();
  EXPECT_EQ(f.calls.load(), 0);
  SetMtime(path, kNow - 30);
  store->Scan();
  EXPECT_EQ(f.calls.load(), 1);
  auto snap = store->Snapshot();
  ASSERT_EQ(snap->reports.size(), 1u);
  EXPECT_EQ(snap->reports[0]->counts[0].n[int(Status::kFailed)][int(Severity::kCritical)], 1);
}

TEST(ReportStore, ScanDueAfterTheIntervalOrARequest) {
  Fixture f;
  f.options.interval_seconds = 30;
  auto store = f.Make();
  EXPECT_TRUE(store->ScanDue());
  store->Scan();
  EXPECT_FALSE(store->ScanDue());
  store->RequestRescan();
  EXPECT_TRUE(store->ScanDue());
  store->Scan();
  EXPECT_FALSE(store->ScanDue());
  f.now += 30;
  EXPECT_TRUE(store->ScanDue());
}

TEST(ReportStore, ABudgetSpentKeepsWhatWasReadAndLeavesTheRest) {
  Fixture f;
  for (int i = 0; i < 5; ++i) Put(f.dir, "reports/h" + std::to_string(i) + ".json", Report("h" + std::to_string(i), kNow - 60));
  auto store = f.Make();
  Budget cancelled;
  cancelled.cancel.Cancel();
  ScanStats s = store->Scan(cancelled);
  EXPECT_EQ(s.read, 0u);
  EXPECT_EQ(s.deferred, 5u);
  EXPECT_TRUE(store->ScanDue());
  s = store->Scan();
  EXPECT_EQ(s.read, 5u);
}

}  // namespace
}  // namespace estate::compliance

namespace estate::compliance {
namespace {

TEST(ReportStoreReload, OnlyANewHostPatternReadsEverythingAgain) {
  Fixture f;
  Put(f.dir, "reports/a.json", Report("a", kNow - 100));
  auto store = f.Make();
  store->Scan();
  EXPECT_EQ(f.calls.load(), 1);
  StoreOptions more = f.options;
  more.retention_seconds = 86400;
  more.settle_seconds = 5;
  store->Configure(more);
  EXPECT_TRUE(store->ScanDue());
  store->Scan();
  EXPECT_EQ(f.calls.load(), 1);
  more.host_from_path = "/(reports)/";
  store->Configure(more);
  store->Scan();
  EXPECT_EQ(f.calls.load(), 2);
  EXPECT_EQ(store->Snapshot()->reports[0]->host, "reports");
}

}  // namespace
}  // namespace estate::compliance
