// The InSpec JSON family parser: every recorded report in ../shared/fixtures/compliance (counts against its
// MANIFEST), and hand-written reports for each status, waiver and overlay case and for bad input.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <string>
#include <vector>

#include "compliance_model.h"
#include "estate/testing/golden.h"
#include "report_parse.h"

namespace estate::compliance {
namespace {

using estate::testing::FixturesDir;
using estate::testing::HaveFixtures;
using estate::testing::ReadFileOrDie;

std::map<Status, int> CountStatuses(const Report& r) {
  std::map<Status, int> out;
  for (const Control& c : r.controls) ++out[c.status];
  return out;
}

const Control* Find(const Report& r, const std::string& id, const std::string& profile = "") {
  for (const Control& c : r.controls) {
    if (c.id == id && (profile.empty() || c.profile == profile)) return &c;
  }
  return nullptr;
}

Report MustParse(std::string_view body) {
  auto r = ParseInspecFamily(body, {});
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : Report{};
}

std::string MustFail(std::string_view body, const ParseLimits& limits = {}) {
  auto r = ParseInspecFamily(body, limits);
  EXPECT_FALSE(r.ok()) << "parsed: " << body.substr(0, 80);
  return r.ok() ? std::string() : r.error();
}

// ---------------------------------------------------------------------------------------------------------
// The fixtures. The MANIFEST counts control entries with InSpec's simple rule (any result failed -> failed,
// else any skipped -> skipped, else passed; no results -> no_results), over every entry as listed, wrapper
// copies and repeated profiles included. Our model differs in three ways, and the table below says, per file,
// where each MANIFEST count goes:
//   - de-duplication: a control without results whose id has results elsewhere (an overlay or wrapper copy),
//   or
//     in a dependency profile that no wrapper lists, is dropped; a repeated (profile, id) counts once;
//   - InSpec's enhanced outcomes: a result with an exception AND a backtrace makes the control error
//   (MANIFEST
//     failed); impact 0 is not_applicable whatever the results (MANIFEST passed, failed, skipped or
//     no_results); all skipped or no results is not_reviewed; skipped and passed together is passed (MANIFEST
//     skipped);
//   - waivers: skipped_due_to_waiver is waived (MANIFEST skipped); a waived control that runs keeps its
//   status.
namespace M {
enum Simple { kPassed, kFailed, kSkipped, kNoResults, kCount };
}  // namespace M

// Where a MANIFEST status may go in ours: the mapping above as a table.
bool Allowed(M::Simple from, Status to) {
  switch (from) {
    case M::kFailed:
      return to == Status::kFailed || to == Status::kError || to == Status::kNotApplicable;
    case M::kPassed:
      return to == Status::kPassed || to == Status::kNotApplicable;
    case M::kSkipped:
      return to == Status::kNotReviewed || to == Status::kNotApplicable || to == Status::kWaived ||
             to == Status::kPassed;
    case M::kNoResults:
      return to == Status::kNotReviewed || to == Status::kNotApplicable;
    default:
      return false;
  }
}

struct Split {
  M::Simple from;
  Status to;
  int n;
};

struct FixtureCase {
  const char* file;                     // under ../shared/fixtures/compliance
  std::array<int, M::kCount> manifest;  // MANIFEST "control status": passed, failed, skipped, no_results
  int dropped_no_results;               // copies without results that de-duplication drops
  std::vector<Split> split;             // the rest, MANIFEST status -> ours
};

const std::vector<FixtureCase>& Cases() {
  static const std::vector<FixtureCase> cases = {
      {"inspec/automate/2018-02-09_debian(2)-zeta-linux(f)-apache(p)-failed.json",
       {24, 22, 13, 0},
       0,
       {{M::kFailed, Status::kFailed, 22},
        {M::kPassed, Status::kPassed, 24},
        {M::kSkipped, Status::kNotReviewed, 12},
        {M::kSkipped, Status::kWaived, 1}}},
      {"inspec/automate/2018-03-04_centos(3)-beta-nginx(p)-apache(s)-fake(s)-passed.json",
       {3, 0, 15, 0},
       0,
       {{M::kPassed, Status::kPassed, 3}, {M::kSkipped, Status::kNotReviewed, 15}}},
      {"inspec/automate/2018-03-04_redhat(2)-beta-non-ingestable.json",
       {0, 0, 14, 0},
       0,
       {{M::kSkipped, Status::kNotReviewed, 14}}},
      {"inspec/automate/2018-03-07_ubuntu(1)-alpha-myprofile(s)-skipped.json", {0, 0, 0, 0}, 0, {}},
      {"inspec/automate/2018-04-01_osx(1)-omega-pro2(w)-waived.json",
       {0, 1, 0, 0},
       0,
       {{M::kFailed, Status::kFailed, 1}}},
      {"inspec/automate/2018-04-01_osx(2)-omega-pro1(f)-pro2(w)-failed.json",
       {0, 4, 2, 0},
       0,
       {{M::kFailed, Status::kFailed, 4},
        {M::kSkipped, Status::kNotReviewed, 1},
        {M::kSkipped, Status::kWaived, 1}}},
      {"inspec/automate/2018-04-02_ubuntu(4)-alpha-myskippy(s)-myfaily(f)-apache(f)-linux(p)-failed.json",
       {1, 0, 0, 0},
       0,
       {{M::kPassed, Status::kPassed, 1}}},
      {"inspec/automate/2018-04-03_ubuntu(0)-alpha-failed.json", {0, 0, 0, 0}, 0, {}},
      {"inspec/automate/NOW_MINUS_1440_PLUS_0300_osx(2)-omega-pro1(p)-failed.json",
       {0, 3, 2, 0},
       0,
       {{M::kFailed, Status::kFailed, 3},
        {M::kSkipped, Status::kNotReviewed, 1},
        {M::kSkipped, Status::kWaived, 1}}},
      {"inspec/automate/automate-delivered.cd.chef.co_inspec_report.json",
       {30, 2, 1, 335},
       335,
       {{M::kFailed, Status::kFailed, 2},
        {M::kPassed, Status::kNotApplicable, 1},
        {M::kPassed, Status::kPassed, 29},
        {M::kSkipped, Status::kNotReviewed, 1}}},
      {"inspec/automate/c5-full.json",
       {3, 5, 0, 0},
       0,
       {{M::kFailed, Status::kFailed, 5}, {M::kPassed, Status::kPassed, 3}}},
      {"inspec/automate/c6-full.json",
       {85, 99, 21, 29},
       0,
       {{M::kFailed, Status::kError, 1},
        {M::kFailed, Status::kFailed, 98},
        {M::kNoResults, Status::kNotApplicable, 27},
        {M::kNoResults, Status::kNotReviewed, 2},
        {M::kPassed, Status::kNotApplicable, 10},
        {M::kPassed, Status::kPassed, 75},
        {M::kSkipped, Status::kNotReviewed, 21}}},
      {"inspec/automate/compliance-failure-big-report.json",
       {12, 129, 1, 84},
       82,
       {{M::kFailed, Status::kFailed, 129},
        {M::kNoResults, Status::kNotReviewed, 2},
        {M::kPassed, Status::kPassed, 12},
        {M::kSkipped, Status::kNotReviewed, 1}}},
      {"inspec/automate/f22-full.json",
       {25, 90, 38, 0},
       0,
       {{M::kFailed, Status::kError, 1},
        {M::kFailed, Status::kFailed, 89},
        {M::kPassed, Status::kPassed, 25},
        {M::kSkipped, Status::kNotReviewed, 38}}},
      {"inspec/automate/inspec-mixed.json",
       {1, 2, 1, 0},
       0,
       {{M::kFailed, Status::kFailed, 2},
        {M::kPassed, Status::kPassed, 1},
        {M::kSkipped, Status::kNotReviewed, 1}}},
      {"inspec/automate/u18-full.json",
       {32, 88, 2, 0},
       0,
       {{M::kFailed, Status::kFailed, 88},
        {M::kPassed, Status::kPassed, 32},
        {M::kSkipped, Status::kNotReviewed, 2}}},
      {"inspec/heimdall2/aws_report_better.json",
       {8, 22, 6, 0},
       0,
       {{M::kFailed, Status::kError, 1},
        {M::kFailed, Status::kFailed, 21},
        {M::kPassed, Status::kPassed, 8},
        {M::kSkipped, Status::kNotReviewed, 5},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/aws_report_worse.json",
       {6, 24, 6, 0},
       0,
       {{M::kFailed, Status::kError, 1},
        {M::kFailed, Status::kFailed, 23},
        {M::kPassed, Status::kPassed, 6},
        {M::kSkipped, Status::kNotReviewed, 5},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/bad_nginx.json",
       {33, 3, 5, 0},
       0,
       {{M::kFailed, Status::kFailed, 3},
        {M::kPassed, Status::kPassed, 33},
        {M::kSkipped, Status::kNotApplicable, 1},
        {M::kSkipped, Status::kNotReviewed, 3},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/cis-aws-foundations-baseline.json",
       {40, 6, 6, 0},
       0,
       {{M::kFailed, Status::kFailed, 6},
        {M::kPassed, Status::kPassed, 40},
        {M::kSkipped, Status::kNotReviewed, 6}}},
      {"inspec/heimdall2/example-3-layer-overlay.json",
       {72, 138, 37, 494},
       494,
       {{M::kFailed, Status::kFailed, 138},
        {M::kPassed, Status::kPassed, 72},
        {M::kSkipped, Status::kNotApplicable, 27},
        {M::kSkipped, Status::kNotReviewed, 9},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/good_nginxresults.json",
       {36, 0, 5, 0},
       0,
       {{M::kPassed, Status::kPassed, 36},
        {M::kSkipped, Status::kNotApplicable, 1},
        {M::kSkipped, Status::kNotReviewed, 3},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/nginx-baseline.json",
       {36, 0, 6, 0},
       0,
       {{M::kPassed, Status::kPassed, 36},
        {M::kSkipped, Status::kNotApplicable, 1},
        {M::kSkipped, Status::kNotReviewed, 4},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/oracle_early_results.json",
       {23, 82, 95, 0},
       0,
       {{M::kFailed, Status::kFailed, 82},
        {M::kPassed, Status::kPassed, 23},
        {M::kSkipped, Status::kNotApplicable, 5},
        {M::kSkipped, Status::kNotReviewed, 90}}},
      {"inspec/heimdall2/red_hat_bad.json",
       {185, 28, 34, 0},
       0,
       {{M::kFailed, Status::kError, 1},
        {M::kFailed, Status::kFailed, 27},
        {M::kPassed, Status::kPassed, 185},
        {M::kSkipped, Status::kNotApplicable, 24},
        {M::kSkipped, Status::kNotReviewed, 9},
        {M::kSkipped, Status::kPassed, 1}}},
      {"inspec/heimdall2/rhel6-results.json",
       {62, 91, 111, 0},
       0,
       {{M::kFailed, Status::kFailed, 91},
        {M::kPassed, Status::kPassed, 62},
        {M::kSkipped, Status::kNotReviewed, 111}}},
      {"inspec/heimdall2/rhel7-nist-string.json",
       {0, 0, 0, 1},
       0,
       {{M::kNoResults, Status::kNotApplicable, 1}}},
      {"inspec/heimdall2/rhel8_sample_oneOfEachControlStatus.json",
       {1, 1, 2, 0},
       0,
       {{M::kFailed, Status::kFailed, 1},
        {M::kPassed, Status::kPassed, 1},
        {M::kSkipped, Status::kNotApplicable, 1},
        {M::kSkipped, Status::kNotReviewed, 1}}},
      {"inspec/heimdall2/ubuntu-16.04-baseline-results.json",
       {87, 139, 4, 0},
       0,
       {{M::kFailed, Status::kError, 1},
        {M::kFailed, Status::kFailed, 138},
        {M::kPassed, Status::kPassed, 87},
        {M::kSkipped, Status::kNotReviewed, 4}}},
      {"inspec/heimdall2/windows_2012r2_memberserver_stig_baseline.json",
       {84, 198, 56, 1},
       0,
       {{M::kFailed, Status::kError, 3},
        {M::kFailed, Status::kFailed, 195},
        {M::kNoResults, Status::kNotReviewed, 1},
        {M::kPassed, Status::kPassed, 84},
        {M::kSkipped, Status::kNotApplicable, 31},
        {M::kSkipped, Status::kNotReviewed, 25}}},
      {"inspec/heimdall2/wrapper-acme-run.json",
       {6, 60, 35, 101},
       101,
       {{M::kFailed, Status::kFailed, 60},
        {M::kPassed, Status::kNotApplicable, 1},
        {M::kPassed, Status::kPassed, 5},
        {M::kSkipped, Status::kNotReviewed, 35}}},
      {"inspec/inspec-repo/json_merged_output.json",
       {2, 0, 1, 0},
       0,
       {{M::kPassed, Status::kPassed, 2}, {M::kSkipped, Status::kNotReviewed, 1}}},
      {"inspec/inspec-repo/json_output.json",
       {3, 1, 0, 0},
       0,
       {{M::kFailed, Status::kFailed, 1}, {M::kPassed, Status::kPassed, 3}}},
      {"hdf/heimdall2/small_overrides_hdf.json",
       {2, 4, 5, 0},
       0,
       {{M::kFailed, Status::kFailed, 4},
        {M::kPassed, Status::kPassed, 2},
        {M::kSkipped, Status::kNotApplicable, 1},
        {M::kSkipped, Status::kNotReviewed, 4}}},
      {"hdf/heimdall2/sonarqube_java_sample.json", {0, 3, 0, 0}, 0, {{M::kFailed, Status::kFailed, 3}}},
  };
  return cases;
}

class InspecFixtures : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveFixtures("compliance")) GTEST_SKIP() << "no fixtures at " << FixturesDir() << "/compliance";
  }
  static std::string Read(const std::string& rel) {
    return ReadFileOrDie(FixturesDir() + "/compliance/" + rel);
  }
  static Report Parse(const std::string& rel) {
    auto r = ParseInspecFamily(Read(rel), {});
    EXPECT_TRUE(r.ok()) << rel << ": " << r.error();
    return r.ok() ? std::move(r).value() : Report{};
  }
};

TEST_F(InspecFixtures, EveryFixtureParsesWithTheManifestCounts) {
  for (const FixtureCase& fc : Cases()) {
    SCOPED_TRACE(fc.file);
    // The table accounts for every MANIFEST entry.
    std::array<int, M::kCount> accounted{};
    accounted[M::kNoResults] = fc.dropped_no_results;
    std::map<Status, int> expected;
    for (const Split& s : fc.split) {
      EXPECT_TRUE(Allowed(s.from, s.to)) << s.from << " -> " << StatusName(s.to);
      accounted[s.from] += s.n;
      expected[s.to] += s.n;
    }
    EXPECT_EQ(accounted, fc.manifest);
    const Report r = Parse(fc.file);
    std::map<Status, int> got = CountStatuses(r);
    for (Status s : kAllStatuses) EXPECT_EQ(got[s], expected[s]) << StatusName(s);
    int per_profile = 0;
    for (const Profile& p : r.profiles) per_profile += p.controls;
    EXPECT_EQ(per_profile, static_cast<int>(r.controls.size()));
    EXPECT_NE(r.format, Format::kJsonMin);
    EXPECT_FALSE(r.degraded);
  }
}

TEST_F(InspecFixtures, SlimParsesCountLikeFullOnes) {
  for (const FixtureCase& fc : Cases()) {
    SCOPED_TRACE(fc.file);
    const Report full = Parse(fc.file);
    const std::string body = Read(fc.file);
    ParseLimits limits;
    limits.keep_text = false;
    auto slim = ParseReport(body, limits);
    ASSERT_TRUE(slim) << slim.error();
    EXPECT_EQ(CountStatuses(*slim), CountStatuses(full));
  }
}

// json-min has one row per result and no impacts: its controls count like the json report of the same run
// with InSpec's simple rule, except that what failed splits into failed and error.
TEST_F(InspecFixtures, JsonMinIsDegradedAndMatchesItsPair) {
  struct Pair {
    const char* min;
    int ids;
    int passed, failed_or_error, not_reviewed;  // the json pair's MANIFEST passed, failed, skipped
  };
  const Pair pairs[] = {
      {"inspec/automate/c6-min.json", 205, 85, 99, 21},
      {"inspec/automate/f22-min.json", 153, 25, 90, 38},
      {"inspec/automate/u18-min.json", 122, 32, 88, 2},
      {"inspec/inspec-repo/json_min_output.json", 4, 3, 1, 0},
  };
  for (const Pair& p : pairs) {
    SCOPED_TRACE(p.min);
    const Report r = Parse(p.min);
    EXPECT_EQ(r.format, Format::kJsonMin);
    EXPECT_TRUE(r.degraded);
    EXPECT_FALSE(r.notes.empty());
    EXPECT_EQ(static_cast<int>(r.controls.size()), p.ids);
    auto got = CountStatuses(r);
    EXPECT_EQ(got[Status::kPassed], p.passed);
    EXPECT_EQ(got[Status::kFailed] + got[Status::kError], p.failed_or_error);
    EXPECT_EQ(got[Status::kNotReviewed], p.not_reviewed);
    for (const Control& c : r.controls) EXPECT_EQ(c.severity, Severity::kUnknown);
  }
  // The Automate samples' json-min keeps the envelope's identity (their end_time is a placeholder: no time).
  const Report c6 = Parse("inspec/automate/c6-min.json");
  EXPECT_EQ(c6.host, "to_be_generated");
  EXPECT_EQ(c6.host_source, "node_name");
  EXPECT_EQ(c6.time_unix, 0);
  EXPECT_DOUBLE_EQ(c6.duration_seconds, 4.340577);
}

TEST_F(InspecFixtures, AutomateEnvelopeIdentityTimeAndWaivers) {
  const Report r = Parse("inspec/automate/2018-02-09_debian(2)-zeta-linux(f)-apache(p)-failed.json");
  EXPECT_EQ(r.format, Format::kAutomate);
  EXPECT_EQ(r.host, "debian(2)-zeta-linux(f)-apache(p)-failed");
  EXPECT_EQ(r.host_source, "node_name");
  EXPECT_EQ(r.time_unix, 1518220790);  // end_time 2018-02-09T23:59:50Z
  EXPECT_DOUBLE_EQ(r.duration_seconds, 0.636833);
  EXPECT_EQ(r.tool, "inspec");
  EXPECT_EQ(r.tool_version, "2.1.10");
  EXPECT_EQ(r.platform_name, "debian");
  EXPECT_EQ(r.platform_release, "8.7");
  ASSERT_EQ(r.profiles.size(), 2u);
  EXPECT_EQ(r.profiles[0].name, "linux-baseline");
  EXPECT_EQ(r.profiles[0].version, "2.0.1");
  EXPECT_EQ(r.profiles[0].controls, 45);
  // run: true and failing: failed, waived.
  const Control* os02 = Find(r, "os-02");
  ASSERT_NE(os02, nullptr);
  EXPECT_EQ(os02->status, Status::kFailed);
  EXPECT_TRUE(os02->waived);
  EXPECT_EQ(os02->waiver_justification, "Sound reasoning");
  ASSERT_EQ(os02->messages.size(), 2u);
  EXPECT_NE(os02->messages[1].find("got: \"shadow\""), std::string::npos) << os02->messages[1];
  // Expired: evaluated normally, not waived, the expiry kept.
  const Control* os04 = Find(r, "os-04");
  ASSERT_NE(os04, nullptr);
  EXPECT_EQ(os04->status, Status::kPassed);
  EXPECT_FALSE(os04->waived);
  EXPECT_EQ(os04->waiver_expires_unix, 233971200);  // 1977-06-01
  // Skipped due to the waiver: waived.
  const Control* apache01 = Find(r, "apache-01");
  ASSERT_NE(apache01, nullptr);
  EXPECT_EQ(apache01->status, Status::kWaived);
  EXPECT_TRUE(apache01->waived);
  EXPECT_EQ(apache01->waiver_expires_unix, 1748736000);  // 2025-06-01
  EXPECT_EQ(apache01->profile, "apache-baseline");
}

TEST_F(InspecFixtures, ProfilesThatFailedOrWereSkipped) {
  const Report r = Parse(
      "inspec/automate/2018-04-02_ubuntu(4)-alpha-myskippy(s)-myfaily(f)-apache(f)-linux(p)-failed.json");
  ASSERT_EQ(r.profiles.size(), 4u);
  std::map<std::string, std::string> status;
  for (const Profile& p : r.profiles) {
    status[p.name] = p.status;
    if (p.status != "loaded") {
      EXPECT_FALSE(p.status_message.empty()) << p.name;
    }
  }
  EXPECT_EQ(status["myskippy"], "skipped");
  EXPECT_EQ(status["myfaily"], "failed");
  EXPECT_EQ(status["linux-baseline"], "loaded");
  const Report none = Parse("inspec/automate/2018-04-03_ubuntu(0)-alpha-failed.json");
  EXPECT_TRUE(none.profiles.empty());
  EXPECT_TRUE(none.controls.empty());
  // A profile without a name is labelled, never "".
  const Report unnamed = Parse("inspec/automate/2018-03-04_redhat(2)-beta-non-ingestable.json");
  ASSERT_EQ(unnamed.profiles.size(), 1u);
  EXPECT_FALSE(unnamed.profiles[0].name.empty());
  for (const Control& c : unnamed.controls) EXPECT_EQ(c.severity, Severity::kUnknown);
}

TEST_F(InspecFixtures, OverlaysCountLeafControlsOnce) {
  const Report three = Parse("inspec/heimdall2/example-3-layer-overlay.json");
  EXPECT_EQ(three.controls.size(), 247u);
  ASSERT_EQ(three.profiles.size(), 3u);  // every profile is listed, wrappers included
  for (const Control& c : three.controls) EXPECT_EQ(c.profile, "redhat-enterprise-linux-7-stig-baseline");
  EXPECT_EQ(three.profiles[0].controls, 0);
  EXPECT_EQ(three.profiles[2].controls, 247);
  // The same four profiles listed twice: once.
  const Report twice = Parse("inspec/automate/automate-delivered.cd.chef.co_inspec_report.json");
  EXPECT_EQ(twice.profiles.size(), 4u);
  EXPECT_EQ(twice.controls.size(), 33u);
  // Control ids shared by two unrelated profiles (ssh, ssh-baseline) count in each; the wrapper's copies of
  // apache-baseline's two controls that have no results anywhere are credited to apache-baseline, once.
  const Report big = Parse("inspec/automate/compliance-failure-big-report.json");
  std::map<std::string, int> per_profile;
  for (const Profile& p : big.profiles) per_profile[p.name] = p.controls;
  EXPECT_EQ(per_profile["ssh"], 62);
  EXPECT_EQ(per_profile["ssh-baseline"], 68);
  EXPECT_EQ(per_profile["apache-baseline"], 14);
  EXPECT_EQ(per_profile["acme-inspec-profile"], 0);
}

TEST_F(InspecFixtures, ErrorsNeedABacktrace) {
  // Failed results with RSpec::Core::MultipleExceptionError and backtrace null: ordinary failures.
  const Report r = Parse("inspec/heimdall2/rhel8_sample_oneOfEachControlStatus.json");
  auto got = CountStatuses(r);
  EXPECT_EQ(got[Status::kError], 0);
  EXPECT_EQ(got[Status::kFailed], 1);
  EXPECT_EQ(r.host_source, "target_id");
  EXPECT_FALSE(r.host.empty());
  EXPECT_GT(r.time_unix, 0);  // the latest result start_time: plain exec JSON has no end_time
  EXPECT_EQ(r.format, Format::kInspecJson);
  // Three results with exception and backtrace: three error controls, with their messages.
  const Report w = Parse("inspec/heimdall2/windows_2012r2_memberserver_stig_baseline.json");
  int errors = 0;
  for (const Control& c : w.controls) {
    if (c.status != Status::kError) continue;
    ++errors;
    ASSERT_FALSE(c.messages.empty());
  }
  EXPECT_EQ(errors, 3);
  // 18 error results in one control: at most 8 messages of at most 1 KiB.
  const Report c6 = Parse("inspec/automate/c6-full.json");
  const Control* e =
      Find(c6, "xccdf_org.cisecurity.benchmarks_rule_9.2.1_Ensure_Password_Fields_are_Not_Empty");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, Status::kError);
  EXPECT_EQ(e->messages.size(), 8u);
  for (const Control& c : c6.controls) {
    for (const std::string& m : c.messages) EXPECT_LE(m.size(), 1024u);
  }
}

TEST_F(InspecFixtures, IdsAndDocLinks) {
  const Report r = Parse("inspec/heimdall2/red_hat_bad.json");
  const Control* c = Find(r, "V-71957");
  ASSERT_NE(c, nullptr);
  auto has = [&](const std::string& k, const std::string& v) {
    for (const auto& [kk, vv] : c->ids) {
      if (kk == k && vv == v) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("stig", "V-71957"));
  EXPECT_TRUE(has("stig_id", "RHEL-07-010460"));
  EXPECT_TRUE(has("rid", "SV-86581r3_rule"));
  EXPECT_TRUE(has("cci", "CCI-000366"));
  EXPECT_TRUE(has("nist", "CM-6 b"));
  EXPECT_FALSE(has("nist", "Rev_4"));
  EXPECT_EQ(c->severity, Severity::kMedium);
  EXPECT_FALSE(c->description.empty());
  // tags.nist as a string, not an array.
  const Report s = Parse("inspec/heimdall2/rhel7-nist-string.json");
  ASSERT_EQ(s.controls.size(), 1u);
  bool nist = false;
  for (const auto& [k, v] : s.controls[0].ids) nist |= k == "nist";
  EXPECT_TRUE(nist);
  // refs with a url (http or https only: "test-url" in another fixture is no link).
  const Report acme = Parse("inspec/heimdall2/wrapper-acme-run.json");
  const Control* sshd19 = Find(acme, "sshd-19");
  ASSERT_NE(sshd19, nullptr);
  EXPECT_EQ(sshd19->doc_url, "https://www.cisecurity.org/");
  const Report centos =
      Parse("inspec/automate/2018-03-04_centos(3)-beta-nginx(p)-apache(s)-fake(s)-passed.json");
  ASSERT_NE(Find(centos, "nginx-01"), nullptr);
  EXPECT_EQ(Find(centos, "nginx-01")->doc_url, "");
}

TEST_F(InspecFixtures, HdfConvertedFromOtherTools) {
  const Report r = Parse("hdf/heimdall2/small_overrides_hdf.json");
  EXPECT_EQ(r.format, Format::kHdf);
  EXPECT_EQ(r.tool, "Heimdall Tools");
  EXPECT_EQ(r.tool_version, "2.10.8");
  EXPECT_TRUE(r.platform_name.empty());
  const Report s = Parse("hdf/heimdall2/sonarqube_java_sample.json");
  EXPECT_EQ(s.format, Format::kHdf);
  ASSERT_EQ(s.profiles.size(), 1u);
  EXPECT_EQ(s.profiles[0].name, "SonarQube Scan");
}

TEST_F(InspecFixtures, WhatIsNotAReportIsRefusedClearly) {
  for (const char* f : {"hdf/heimdall2/exec-json.json", "hdf/heimdall2/exec-jsonmin.json"}) {
    auto r = ParseInspecFamily(Read(f), {});
    ASSERT_FALSE(r.ok()) << f;
    EXPECT_NE(r.error().find("JSON Schema"), std::string::npos) << r.error();
  }
  if (HaveFixtures("compliance/kube-bench")) {
    auto r = ParseInspecFamily(Read("kube-bench/kube-bench/result.json"), {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("not an InSpec"), std::string::npos) << r.error();
  }
}

TEST_F(InspecFixtures, TruncatedFixturesFailWithAReason) {
  const std::string body = Read("inspec/heimdall2/rhel8_sample_oneOfEachControlStatus.json");
  for (std::size_t cut : {std::size_t{1}, body.size() / 3, body.size() / 2, body.size() - 2}) {
    auto r = ParseInspecFamily(std::string_view(body).substr(0, cut), {});
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_NE(r.error().find("truncated"), std::string::npos) << r.error();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Hand-written reports.

// A minimal exec JSON report around one profile's controls.
std::string Exec(const std::string& controls, const std::string& extra = "") {
  return R"({"platform":{"name":"debian","release":"12","target_id":"t-1"},"version":"5.22.3",)"
         R"("statistics":{"duration":1.5},)" +
         extra + R"("profiles":[{"name":"p","version":"1.0.0","sha256":"aa","status":"loaded","controls":[)" +
         controls + "]}]}";
}

std::string Ctl(const std::string& id, double impact, const std::string& results,
                const std::string& more = "") {
  return R"({"id":")" + id + R"(","title":"T )" + id + R"(","desc":"D","impact":)" + std::to_string(impact) +
         R"(,"refs":[],"tags":{},"code":"control ')" + id +
         R"(' do end","source_location":{"ref":"x.rb","line":1})" + more + R"(,"results":[)" + results + "]}";
}

const std::string kPass =
    R"({"status":"passed","code_desc":"ok","run_time":0.5,"start_time":"2024-05-01T10:00:00+00:00"})";
const std::string kFail =
    R"({"status":"failed","code_desc":"File /x","message":"expected x","run_time":0.25,"start_time":"2024-05-01T10:00:02+00:00"})";
const std::string kSkip =
    R"({"status":"skipped","code_desc":"s","skip_message":"Skipped control due to only_if"})";
const std::string kError =
    R"({"status":"failed","code_desc":"Control Source Code Error x.rb:3","exception":"NoMethodError","message":"undefined method","backtrace":["x.rb:3","y.rb:4"]})";
const std::string kMulti =
    R"({"status":"failed","code_desc":"many","exception":"RSpec::Core::MultipleExceptionError","message":"2 failures","backtrace":null})";

TEST(InspecParse, EachStatus) {
  const Report r = MustParse(Exec(Ctl("pass", 0.7, kPass + "," + kPass) + "," +    //
                                  Ctl("fail", 0.5, kPass + "," + kFail) + "," +    //
                                  Ctl("error", 0.5, kPass + "," + kError) + "," +  //
                                  Ctl("multi", 0.5, kMulti) + "," +                //
                                  Ctl("na", 0.0, kFail) + "," +                    //
                                  Ctl("skipped", 0.3, kSkip) + "," +               //
                                  Ctl("mixed", 0.3, kSkip + "," + kPass) + "," +   //
                                  Ctl("empty", 0.9, "") + "," +                    //
                                  Ctl("error-na", 0.0, kError)));
  EXPECT_EQ(r.format, Format::kInspecJson);
  const std::map<std::string, Status> want = {
      {"pass", Status::kPassed},  {"fail", Status::kFailed},       {"error", Status::kError},
      {"multi", Status::kFailed}, {"na", Status::kNotApplicable},  {"skipped", Status::kNotReviewed},
      {"mixed", Status::kPassed}, {"empty", Status::kNotReviewed}, {"error-na", Status::kError},
  };
  ASSERT_EQ(r.controls.size(), want.size());
  for (const auto& [id, status] : want) {
    const Control* c = Find(r, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_EQ(c->status, status) << id << ": " << StatusName(c->status);
  }
  EXPECT_EQ(Find(r, "pass")->severity, Severity::kHigh);
  EXPECT_EQ(Find(r, "empty")->severity, Severity::kCritical);
  EXPECT_EQ(Find(r, "na")->severity, Severity::kNone);
  EXPECT_DOUBLE_EQ(Find(r, "pass")->duration_seconds, 1.0);
  EXPECT_TRUE(Find(r, "pass")->messages.empty());
  ASSERT_EQ(Find(r, "fail")->messages.size(), 1u);
  EXPECT_EQ(Find(r, "fail")->messages[0], "File /x: expected x");
  ASSERT_EQ(Find(r, "error")->messages.size(), 1u);
  EXPECT_NE(Find(r, "error")->messages[0].find("NoMethodError"), std::string::npos);
  EXPECT_EQ(Find(r, "skipped")->messages.at(0), "Skipped control due to only_if");
  EXPECT_EQ(r.host, "t-1");
  EXPECT_EQ(r.host_source, "target_id");
  EXPECT_EQ(r.time_unix, 1714557602);  // the latest start_time, 2024-05-01T10:00:02Z
  EXPECT_DOUBLE_EQ(r.duration_seconds, 1.5);
  EXPECT_EQ(r.tool_version, "5.22.3");
  ASSERT_EQ(r.profiles.size(), 1u);
  EXPECT_EQ(r.profiles[0].controls, 9);
  EXPECT_EQ(r.controls[0].title, "T pass");
  EXPECT_EQ(r.controls[0].description, "D");
}

// keep_text = false (the store's scans): the same controls, statuses and severities, without descriptions or
// messages, and passing controls without their titles and ids.
TEST(InspecParse, SlimParseKeepsEveryCountButNoText) {
  const std::string body = Exec(Ctl("pass", 0.7, kPass) + "," + Ctl("fail", 0.5, kPass + "," + kFail) + "," +
                                Ctl("skipped", 0.3, kSkip));
  const Report full = MustParse(body);
  ParseLimits limits;
  limits.keep_text = false;
  auto slim = ParseReport(body, limits);
  ASSERT_TRUE(slim) << slim.error();
  ASSERT_EQ(slim->controls.size(), full.controls.size());
  for (std::size_t i = 0; i < full.controls.size(); ++i) {
    const Control& f = full.controls[i];
    const Control& s = slim->controls[i];
    EXPECT_EQ(s.id, f.id);
    EXPECT_EQ(s.status, f.status) << f.id;
    EXPECT_EQ(s.severity, f.severity) << f.id;
    EXPECT_TRUE(s.description.empty()) << f.id;
    EXPECT_TRUE(s.messages.empty()) << f.id;
    EXPECT_EQ(s.title.empty(), f.status == Status::kPassed) << f.id;
  }
  EXPECT_FALSE(full.controls[0].description.empty());
  EXPECT_FALSE(Find(full, "fail")->messages.empty());
}

TEST(InspecParse, Waivers) {
  const std::string skipped_by_waiver =
      R"({"status":"skipped","code_desc":"No-op","skip_message":"Skipped control due to waiver condition: J"})";
  const Report r = MustParse(Exec(
      Ctl("waived", 0.7, skipped_by_waiver,
          R"(,"waiver_data":{"justification":"J","run":false,"skipped_due_to_waiver":true,"expiration_date":"2030-01-02","message":""})") +
      "," +
      Ctl("run-failing", 0.7, kFail,
          R"(,"waiver_data":{"justification":"K","run":true,"skipped_due_to_waiver":false,"message":""})") +
      "," +
      Ctl("expired", 0.7, kFail,
          R"(,"waiver_data":{"justification":"L","run":false,"skipped_due_to_waiver":false,"expiration_date":"2020-01-01","message":"Waiver expired on 2020-01-01, evaluating control normally"})") +
      "," + Ctl("none", 0.7, kPass, R"(,"waiver_data":{})")));
  const Control* w = Find(r, "waived");
  EXPECT_EQ(w->status, Status::kWaived);
  EXPECT_TRUE(w->waived);
  EXPECT_EQ(w->waiver_justification, "J");
  EXPECT_EQ(w->waiver_expires_unix, 1893542400);  // 2030-01-02T00:00:00Z
  const Control* f = Find(r, "run-failing");
  EXPECT_EQ(f->status, Status::kFailed);
  EXPECT_TRUE(f->waived);
  EXPECT_EQ(f->waiver_expires_unix, 0);
  const Control* e = Find(r, "expired");
  EXPECT_EQ(e->status, Status::kFailed);
  EXPECT_FALSE(e->waived);
  EXPECT_EQ(e->waiver_expires_unix, 1577836800);
  const Control* n = Find(r, "none");
  EXPECT_FALSE(n->waived);
  EXPECT_TRUE(n->waiver_justification.empty());
}

TEST(InspecParse, OverlayAndRepeatedProfiles) {
  // A wrapper listing two controls of its dependency; the dependency has a third no wrapper includes.
  const std::string body =
      R"({"platform":{"name":"x","release":"1"},"version":"4.52.9","statistics":{"duration":1},"profiles":[)"
      R"({"name":"wrapper","version":"1","sha256":"w","depends":[{"name":"base"}],"controls":[)" +
      Ctl("a", 0.7, "") + "," + Ctl("b", 0.7, "") + "," + Ctl("own", 0.5, kPass) +
      R"(]},{"name":"base","version":"2","sha256":"b","parent_profile":"wrapper","controls":[)" +
      Ctl("a", 0.7, kFail) + "," + Ctl("b", 0.7, "") + "," + Ctl("unselected", 0.7, "") +
      R"(]},{"name":"base","version":"2","sha256":"b","parent_profile":"wrapper","controls":[)" +
      Ctl("a", 0.7, "") + "]}]}";
  const Report r = MustParse(body);
  ASSERT_EQ(r.profiles.size(), 2u);
  EXPECT_EQ(r.profiles[0].name, "wrapper");
  EXPECT_EQ(r.profiles[0].controls, 1);  // its own
  EXPECT_EQ(r.profiles[1].controls, 2);  // a (results), b (listed by the wrapper, no results anywhere)
  ASSERT_EQ(r.controls.size(), 3u);
  EXPECT_EQ(Find(r, "a")->status, Status::kFailed);
  EXPECT_EQ(Find(r, "a")->profile, "base");
  EXPECT_EQ(Find(r, "b")->status, Status::kNotReviewed);
  EXPECT_EQ(Find(r, "b")->profile, "base");
  EXPECT_EQ(Find(r, "unselected"), nullptr);
  EXPECT_EQ(Find(r, "own")->profile, "wrapper");
}

TEST(InspecParse, ThreeLayersCreditTheLeaf) {
  // top -> middle -> leaf; "m" has no results anywhere: it is the leaf's, not the middle layer's.
  const std::string body =
      R"({"platform":{"name":"x","release":"1"},"version":"4.52.9","statistics":{"duration":1},"profiles":[)"
      R"({"name":"top","version":"1","depends":[{"name":"middle"}],"controls":[)" +
      Ctl("m", 0.7, "") +
      R"(]},{"name":"middle","version":"1","parent_profile":"top","depends":[{"name":"leaf"}],)"
      R"("controls":[)" +
      Ctl("m", 0.7, "") +
      R"(]},{"name":"leaf","version":"1","parent_profile":"middle",)"
      R"("controls":[)" +
      Ctl("m", 0.7, "") + "]}]}";
  const Report r = MustParse(body);
  ASSERT_EQ(r.controls.size(), 1u);
  EXPECT_EQ(r.controls[0].profile, "leaf");
  EXPECT_EQ(r.controls[0].status, Status::kNotReviewed);
}

TEST(InspecParse, ResultsTruncatedByChefCount) {
  // Chef Infra's compliance phase keeps the first results and counts the ones it removed.
  const Report r = MustParse(
      Exec(Ctl("cut-failed", 0.5, kPass, R"(,"removed_results_counts":{"failed":2,"skipped":0,"passed":5})") +
           "," +
           Ctl("cut-passed", 0.5, kPass, R"(,"removed_results_counts":{"failed":0,"skipped":1,"passed":5})") +
           "," + Ctl("none", 0.5, kSkip, R"(,"removed_results_counts":null)")));
  EXPECT_EQ(Find(r, "cut-failed")->status, Status::kFailed);
  EXPECT_EQ(Find(r, "cut-passed")->status, Status::kPassed);
  EXPECT_EQ(Find(r, "none")->status, Status::kNotReviewed);
}

TEST(InspecParse, AutomateEnvelope) {
  const Report r = MustParse(
      R"({"type":"inspec_report","node_uuid":"u","report_uuid":"r","job_uuid":"j","node_name":"web-1",)"
      R"("end_time":"2024-05-01T11:00:00Z","version":"4.18.5","platform":{"name":"ubuntu","release":"22.04","target_id":"t"},)"
      R"("statistics":{"duration":2},"profiles":[]})");
  EXPECT_EQ(r.format, Format::kAutomate);
  EXPECT_EQ(r.host, "web-1");
  EXPECT_EQ(r.host_source, "node_name");
  EXPECT_EQ(r.time_unix, 1714561200);
  EXPECT_TRUE(r.controls.empty());
}

TEST(InspecParse, HdfPassthroughIsDropped) {
  const std::string big(100000, 'x');
  const Report r = MustParse(Exec(Ctl("c", 0.5, R"({"status":"error","code_desc":"scanner","message":"m"})"),
                                  R"("passthrough":{"raw":")" + big + R"("},)"));
  EXPECT_EQ(r.format, Format::kHdf);
  EXPECT_EQ(Find(r, "c")->status, Status::kError);
}

TEST(InspecParse, JsonMinRows) {
  const Report r = MustParse(
      R"({"controls":[{"id":"a","profile_id":"p","status":"passed","code_desc":"x"},)"
      R"({"id":"a","profile_id":"p","status":"failed","code_desc":"y","message":"m"},)"
      R"({"id":"b","profile_id":"p","status":"skipped","code_desc":"z","skip_message":"s"},)"
      R"({"id":"c","profile_id":"q","status":"failed","code_desc":"e","exception":"NameError","backtrace":["l"]}],)"
      R"("statistics":{"duration":0.5},"version":"2.2.20"})");
  EXPECT_EQ(r.format, Format::kJsonMin);
  EXPECT_TRUE(r.degraded);
  ASSERT_EQ(r.controls.size(), 3u);
  EXPECT_EQ(Find(r, "a")->status, Status::kFailed);
  EXPECT_EQ(Find(r, "b")->status, Status::kNotReviewed);
  EXPECT_EQ(Find(r, "c")->status, Status::kError);
  ASSERT_EQ(r.profiles.size(), 2u);
  EXPECT_EQ(r.profiles[0].controls, 2);
  EXPECT_DOUBLE_EQ(r.duration_seconds, 0.5);
}

TEST(InspecParse, AProfileIsNotResults) {
  const std::string profile =
      R"({"name":"linux-baseline","title":"DevSec Linux","version":"2.8.0","supports":[{"platform-family":"linux"}],)"
      R"("controls":[{"id":"os-01","title":"Trusted hosts","impact":1.0,"code":"control 'os-01' do end","tags":{}}],)"
      R"("groups":[],"sha256":"abc"})";
  const std::string err = MustFail(profile);
  EXPECT_NE(err.find("an InSpec profile (inspec json), not results"), std::string::npos) << err;
  EXPECT_NE(MustFail(R"({"name":"p","supports":[],"controls":[]})").find("InSpec profile"),
            std::string::npos);
}

TEST(InspecParse, BadInputIsAnErrorWithAReason) {
  EXPECT_NE(MustFail("").find("empty"), std::string::npos);
  EXPECT_NE(MustFail(" \n\t").find("empty"), std::string::npos);
  const std::string body = Exec(Ctl("a", 0.5, kPass));
  const std::string truncated = MustFail(std::string_view(body).substr(0, body.size() - 5));
  EXPECT_NE(truncated.find("truncated"), std::string::npos) << truncated;
  EXPECT_NE(truncated.find("InSpec JSON"), std::string::npos) << truncated;
  EXPECT_NE(MustFail("garbage, not JSON").find("invalid JSON at byte"), std::string::npos);
  EXPECT_NE(MustFail("\x1f\x8b\x08\x00").find("invalid JSON"), std::string::npos);  // gzip
  std::string latin1 = Exec(Ctl("a", 0.5, kPass));
  latin1.replace(latin1.find("T a"), 3, "T \xe9");
  EXPECT_NE(MustFail(latin1).find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(MustFail("[1e400]").find("too large for a double"), std::string::npos);
  EXPECT_NE(MustFail("42").find("not a report"), std::string::npos);
  EXPECT_NE(MustFail("[]").find("not an InSpec"), std::string::npos);
  EXPECT_NE(MustFail(R"({"a":1})").find("not an InSpec"), std::string::npos);
  EXPECT_NE(MustFail(R"({"message_type":"run_converge","node_name":"n"})").find("data-collector"),
            std::string::npos);
  EXPECT_NE(MustFail(R"({"version":"3.7","examples":[],"summary":{}})").find("json-rspec"),
            std::string::npos);
  EXPECT_NE(MustFail(std::string("\xff\xfe{\0\"\0", 6)).find("UTF-16"), std::string::npos);
  // A UTF-8 byte order mark is fine.
  EXPECT_EQ(MustParse("\xef\xbb\xbf" + body).controls.size(), 1u);
  // Deep nesting is refused before parsing.
  std::string deep = R"({"profiles":[{"controls":[{"tags":)";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += "}]}]}";
  EXPECT_NE(MustFail(deep).find("nested deeper"), std::string::npos);
  ParseLimits small;
  small.max_bytes = 10;
  EXPECT_NE(MustFail(body, small).find("more than the limit"), std::string::npos);
}

TEST(InspecParse, WrongTypesAreToleratedNotThrown) {
  // Every field in an unexpected type: parsed as absent, never an exception.
  const Report r = MustParse(
      R"({"platform":[],"version":5,"statistics":"x","profiles":[1,"s",{"name":7,"controls":{"x":1}},)"
      R"({"name":"p","controls":[1,{"id":3,"impact":"high","tags":[1],"refs":{"url":1},"waiver_data":[],)"
      R"("results":[7,{"status":9,"backtrace":{}},{"status":"failed","exception":"E","backtrace":{"a":[1]}}]}]}]})");
  ASSERT_EQ(r.controls.size(), 1u);
  EXPECT_EQ(r.controls[0].id, "3");
  EXPECT_EQ(r.controls[0].severity, Severity::kHigh);
  EXPECT_EQ(r.controls[0].status, Status::kError);
}

TEST(InspecParse, MessagesAreBounded) {
  std::string results;
  const std::string long_message(5000, 'm');
  for (int i = 0; i < 20; ++i) {
    if (i > 0) results += ",";
    results += R"({"status":"failed","code_desc":"c","message":")" + long_message + R"("})";
  }
  const Report r = MustParse(Exec(Ctl("a", 0.5, results)));
  ASSERT_EQ(r.controls.size(), 1u);
  EXPECT_EQ(r.controls[0].messages.size(), 8u);
  for (const std::string& m : r.controls[0].messages) EXPECT_LE(m.size(), 1024u);
  EXPECT_FALSE(r.notes.empty());
}

TEST(InspecParse, ManyControlsStayCompact) {
  // Not a timing test: 5,000 controls with bulky fields the parser drops come out whole, in order.
  std::string controls;
  const std::string backtrace = R"(,"backtrace":[")" + std::string(500, 'b') + R"("])";
  for (int i = 0; i < 5000; ++i) {
    if (i > 0) controls += ",";
    controls += Ctl(
        "c" + std::to_string(i), 0.5,
        kPass + R"(,{"status":"failed","code_desc":"x","exception":"RSpec::Core::MultipleExceptionError")" +
            R"(,"backtrace":null})");
  }
  controls +=
      "," + Ctl("last", 0.5, R"({"status":"failed","code_desc":"x","exception":"E")" + backtrace + "}");
  const Report r = MustParse(Exec(controls));
  ASSERT_EQ(r.controls.size(), 5001u);
  EXPECT_EQ(r.controls[4999].id, "c4999");
  EXPECT_EQ(r.controls[4999].status, Status::kFailed);
  EXPECT_EQ(r.controls.back().id, "last");
  EXPECT_EQ(r.controls.back().status, Status::kError);
}

TEST(InspecParse, TimesInEveryShape) {
  auto at = [](const std::string& start) {
    const Report r = MustParse(
        Exec(Ctl("a", 0.5, R"({"status":"passed","code_desc":"x","start_time":")" + start + R"("})")));
    return r.time_unix;
  };
  EXPECT_EQ(at("2018-01-05 11:43:04 -0500"), 1515170584);
  EXPECT_EQ(at("2018-01-05T16:43:04Z"), 1515170584);
  EXPECT_EQ(at("2018-01-05T17:43:04+01:00"), 1515170584);
  EXPECT_DOUBLE_EQ(at("2018-01-05T16:43:04.25Z"), 1515170584.25);
  EXPECT_EQ(at("not a time"), 0);
  EXPECT_EQ(at("2018-13-05T16:43:04Z"), 0);
}

TEST(ComplianceModel, Names) {
  EXPECT_STREQ(StatusName(Status::kNotApplicable), "not_applicable");
  EXPECT_STREQ(StatusName(Status::kNotReviewed), "not_reviewed");
  EXPECT_STREQ(SeverityName(Severity::kCritical), "critical");
  EXPECT_STREQ(FormatName(Format::kJsonMin), "json_min");
  EXPECT_STREQ(FormatName(Format::kXccdf12), "xccdf_1.2");
  EXPECT_STREQ(FormatName(Format::kArf), "arf");
}

TEST(ComplianceModel, SeverityBands) {
  EXPECT_EQ(SeverityFromImpact(0.0), Severity::kNone);
  EXPECT_EQ(SeverityFromImpact(0.09), Severity::kNone);
  EXPECT_EQ(SeverityFromImpact(0.1), Severity::kLow);
  EXPECT_EQ(SeverityFromImpact(0.39), Severity::kLow);
  EXPECT_EQ(SeverityFromImpact(0.4), Severity::kMedium);
  EXPECT_EQ(SeverityFromImpact(0.7), Severity::kHigh);
  EXPECT_EQ(SeverityFromImpact(0.9), Severity::kCritical);
  EXPECT_EQ(SeverityFromImpact(1.0), Severity::kCritical);
  EXPECT_EQ(SeverityFromXccdf("high"), Severity::kHigh);
  EXPECT_EQ(SeverityFromXccdf(" Medium "), Severity::kMedium);
  EXPECT_EQ(SeverityFromXccdf("info"), Severity::kNone);
  EXPECT_EQ(SeverityFromXccdf("unknown"), Severity::kUnknown);
  EXPECT_EQ(SeverityFromXccdf(""), Severity::kUnknown);
  EXPECT_LT(SeverityRank(Severity::kLow), SeverityRank(Severity::kMedium));
  EXPECT_LT(SeverityRank(Severity::kHigh), SeverityRank(Severity::kCritical));
  EXPECT_EQ(SeverityRank(Severity::kUnknown), SeverityRank(Severity::kNone));
}

}  // namespace
}  // namespace estate::compliance
