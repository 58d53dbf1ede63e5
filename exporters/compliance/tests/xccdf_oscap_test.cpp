// A real scanner: `oscap xccdf eval` (Debian's openscap-scanner) on our own content (tests/scap) and on SSG's
// Debian content, and the parser reads what it wrote. Skips when oscap or the content is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"
#include "report_parse.h"

namespace estate::compliance {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<std::string, Status> StatusById(const Report& r) {
  std::map<std::string, Status> out;
  for (const Control& c : r.controls) out[c.id] = c.status;
  return out;
}

TEST(OscapEval, OurContentGivesEveryOutcome) {
  const std::string oscap = testing::BinaryPath("oscap");
  if (oscap.empty()) GTEST_SKIP() << "oscap absent (Debian package openscap-scanner)";
  testing::TempDir dir;
  // The content reads /etc/estate-scap/...; OSCAP_PROBE_ROOT puts that under our directory (as oscap does for
  // a mounted host), and the root's /etc/hostname names the target.
  const std::string root = dir.path() + "/root";
  fs::create_directories(root + "/etc/estate-scap");
  dir.Write("root/etc/estate-scap/sshd_config", "Port 22\nPermitRootLogin no\nCiphers aes128-ctr\n");
  dir.Write("root/etc/hostname", "scap-test-host\n");
  const std::string results = dir.path() + "/results.xml", arf = dir.path() + "/arf.xml";
  const testing::CommandResult run =
      testing::RunCommand({testing::BinaryPath("env"), "OSCAP_PROBE_ROOT=" + root, oscap, "xccdf", "eval",
                           "--profile", "xccdf_org.estate_profile_demo", "--results", results,
                           "--results-arf", arf, testing::SourceDir() + "/tests/scap/estate-xccdf.xml"});
  ASSERT_EQ(run.exit_code, 2) << run.error << run.output;  // 2: at least one rule failed

  const std::map<std::string, Status> want = {
      {"xccdf_org.estate_rule_ssh_root_login_disabled", Status::kPassed},
      {"xccdf_org.estate_rule_ssh_strong_ciphers", Status::kFailed},
      {"xccdf_org.estate_rule_appliance_only", Status::kNotApplicable},
      {"xccdf_org.estate_rule_broken_check", Status::kError},
      {"xccdf_org.estate_rule_manual_review", Status::kNotReviewed}};
  for (const std::string& file : {results, arf}) {
    SCOPED_TRACE(file);
    const std::string body = Read(file);
    auto r = ParseReport(body);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->format, file == arf ? Format::kArf : Format::kXccdf12);
    EXPECT_EQ(StatusById(*r), want);  // the notselected rule is dropped
    EXPECT_EQ(r->host, "scap-test-host");
    EXPECT_EQ(r->host_source, "xccdf_target");
    EXPECT_EQ(r->tool, "oscap");
    EXPECT_FALSE(r->tool_version.empty());
    EXPECT_GT(r->time_unix, 1.7e9);
    EXPECT_GE(r->duration_seconds, 0);
    ASSERT_EQ(r->profiles.size(), 1u);
    EXPECT_EQ(r->profiles[0].name, "xccdf_org.estate_profile_demo");
    EXPECT_EQ(r->profiles[0].title, "Estate demo profile");
    EXPECT_EQ(r->profiles[0].version, "1.0.0");
    for (const Control& c : r->controls) {
      EXPECT_FALSE(c.title.empty()) << c.id;  // from the benchmark, in both files
      if (c.id == "xccdf_org.estate_rule_ssh_root_login_disabled") {
        EXPECT_EQ(c.severity, Severity::kHigh);
        EXPECT_EQ(c.description, "The PermitRootLogin option of sshd is no.");
      }
    }
  }
}

TEST(OscapEval, SsgDebianContentOnThisDebianIsNotApplicable) {
  const std::string oscap = testing::BinaryPath("oscap");
  const std::string ds = "/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml";
  if (oscap.empty() || !fs::exists(ds)) GTEST_SKIP() << "oscap or ssg-debian absent";
  const std::string os_release = Read("/etc/os-release");
  if (os_release.find("VERSION_ID=\"11\"") != std::string::npos)
    GTEST_SKIP() << "Debian 11: SSG's rules apply";
  testing::TempDir dir;
  const std::string results = dir.path() + "/results.xml", arf = dir.path() + "/arf.xml";
  // The standard profile (44 rules) costs about as much as one rule: loading the data stream dominates.
  const testing::CommandResult run = testing::RunCommand({oscap, "xccdf", "eval", "--profile",
                                                          "xccdf_org.ssgproject.content_profile_standard",
                                                          "--results", results, "--results-arf", arf, ds});
  ASSERT_EQ(run.exit_code, 0) << run.error << run.output;
  for (const std::string& file : {results, arf}) {
    SCOPED_TRACE(file);
    auto r = ParseReport(Read(file));
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_FALSE(r->controls.empty());
    for (const Control& c : r->controls) {
      EXPECT_EQ(c.status, Status::kNotApplicable) << c.id;
      EXPECT_FALSE(c.title.empty()) << c.id;
    }
    ASSERT_EQ(r->profiles.size(), 1u);
    EXPECT_EQ(r->profiles[0].name, "xccdf_org.ssgproject.content_profile_standard");
    EXPECT_EQ(r->profiles[0].controls, static_cast<int>(r->controls.size()));
    ASSERT_FALSE(r->notes.empty());  // the rules outside the profile, dropped
  }
}

}  // namespace
}  // namespace estate::compliance
