// Tests of the test harness itself: golden files, promtool, child processes, and a real Prometheus sending
// an always-firing alert to a real Alertmanager.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace estate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kValidMetrics[] =
    "# HELP harness_requests_total Requests handled.\n"
    "# TYPE harness_requests_total counter\n"
    "harness_requests_total{code=\"200\"} 3\n";

TEST(GoldenTest, DropLinesRemovesMatchingLinesOnly) {
  const std::string text = "a 1\nstart_time_seconds 1.7e9\nb 2\nscrape_duration_seconds 0.01\nc 3";
  EXPECT_EQ(DropLines(text, {"^start_time", "duration_seconds"}), "a 1\nb 2\nc 3");
  EXPECT_EQ(DropLines("x\n", {}), "x\n");
  EXPECT_EQ(DropLines("", {"."}), "");
}

TEST(GoldenTest, PromtoolAcceptsValidAndRejectsInvalidText) {
  EXPECT_TRUE(PromtoolCheckMetrics(kValidMetrics));
  ::testing::AssertionResult no_help = PromtoolCheckMetrics("harness_thing 1\n");
  EXPECT_FALSE(no_help);
  EXPECT_NE(std::string(no_help.message()).find("no help text"), std::string::npos) << no_help.message();
  EXPECT_FALSE(PromtoolCheckMetrics("harness_thing{ 1\n"));
}

TEST(GoldenTest, UpdateThenCompareRoundTrip) {
  TempDir dir;
  const std::string golden = dir.path() + "/sub/metrics.golden";  // absolute: replaces SourceDir()
  EXPECT_FALSE(MatchesGolden(kValidMetrics, golden));             // missing file
  ASSERT_EQ(setenv("ESTATE_UPDATE_GOLDEN", "1", 1), 0);
  EXPECT_TRUE(MatchesGolden(kValidMetrics, golden));
  ASSERT_EQ(unsetenv("ESTATE_UPDATE_GOLDEN"), 0);
  EXPECT_EQ(ReadFileOrDie(golden), kValidMetrics);
  EXPECT_TRUE(MatchesGolden(kValidMetrics, golden));
  ::testing::AssertionResult changed = MatchesGolden(std::string(kValidMetrics) + "extra 1\n", golden);
  ASSERT_FALSE(changed);
  const std::string message = changed.message();
  EXPECT_NE(message.find("+ extra 1"), std::string::npos) << message;
  EXPECT_NE(message.find("ESTATE_UPDATE_GOLDEN=1"), std::string::npos) << message;
}

TEST(GoldenTest, FixturesDirFollowsEnvironment) {
  ASSERT_EQ(setenv("ESTATE_FIXTURES_DIR", "/nonexistent/fixtures", 1), 0);
  EXPECT_EQ(FixturesDir(), "/nonexistent/fixtures");
  EXPECT_FALSE(HaveFixtures("anything"));
  ASSERT_EQ(unsetenv("ESTATE_FIXTURES_DIR"), 0);
  EXPECT_NE(FixturesDir().find("shared/fixtures"), std::string::npos);
}

TEST(ChildProcessTest, StopKillsTheWholeProcessGroup) {
  TempDir dir;
  ChildProcess child;
  // The shell starts a grandchild and ignores SIGTERM, so Stop() must escalate and reach the grandchild.
  ASSERT_TRUE(child
                  .Start({"/bin/sh", "-c", "trap '' TERM; echo started $GREETING; sleep 60 & wait"},
                         dir.path() + "/child.log", {{"GREETING", "hello"}})
                  .ok());
  const pid_t group = child.pid();
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (child.Log().find("started hello") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(child.Log().find("started hello"), std::string::npos);
  EXPECT_TRUE(child.Running());
  child.Stop(milliseconds(200));
  EXPECT_FALSE(child.Running());
  // The grandchild was SIGKILLed; its parent is gone, so it lingers only until init reaps it.
  const auto gone_by = std::chrono::steady_clock::now() + seconds(5);
  while (kill(-group, 0) == 0 && std::chrono::steady_clock::now() < gone_by) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(kill(-group, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ChildProcessTest, WaitReturnsTheExitStatusWithoutSignalling) {
  TempDir dir;
  ChildProcess quick;
  ASSERT_TRUE(quick.Start({"/bin/sh", "-c", "exit 3"}, dir.path() + "/quick.log").ok());
  const int status = quick.Wait(seconds(5));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
  EXPECT_EQ(quick.Stop(), status);

  ChildProcess slow;
  ASSERT_TRUE(slow.Start({"/bin/sh", "-c", "sleep 60"}, dir.path() + "/slow.log").ok());
  EXPECT_EQ(slow.Wait(milliseconds(100)), -1);
  EXPECT_TRUE(slow.Running());
  const int stopped = slow.Stop();
  EXPECT_TRUE(WIFSIGNALED(stopped) && WTERMSIG(stopped) == SIGTERM) << stopped;
}

TEST(ChildProcessTest, StartReportsAMissingExecutable) {
  TempDir dir;
  ChildProcess child;
  Result<Ok> r = child.Start({"/nonexistent/binary"}, dir.path() + "/log");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("No such file"), std::string::npos) << r.error();
}

TEST(HarnessTest, HttpGetToAClosedPortFails) {
  SimpleResponse r = HttpGet("http://127.0.0.1:" + std::to_string(FreePort()) + "/", 2);
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

TEST(HarnessTest, BinaryPathFindsSystemTools) {
  EXPECT_EQ(BinaryPath("prometheus"), "/usr/bin/prometheus");
  EXPECT_EQ(BinaryPath("prometheus-alertmanager"), "/usr/bin/prometheus-alertmanager");
  EXPECT_EQ(BinaryPath("no-such-binary-anywhere"), "");
}

TEST(HarnessTest, PrometheusScrapesItselfAndAlertsReachAlertmanager) {
  TempDir dir;
  AlertmanagerServer alertmanager;
  Result<Ok> am = alertmanager.Start(dir);
  ASSERT_TRUE(am.ok()) << am.error();

  const std::string rules =
      dir.Write("harness.rules.yml",
                "groups:\n"
                "  - name: harness\n"
                "    rules:\n"
                "      - alert: HarnessAlwaysFiring\n"
                "        expr: vector(1)\n"
                "        for: 0s\n"
                "        labels: {severity: none}\n"
                "        annotations: {summary: \"Always firing, to test the harness.\"}\n");
  PrometheusServer::Options options;
  options.rule_files = {rules};
  options.alertmanager_url = alertmanager.address();
  options.scrape_configs_yaml =
      "  - job_name: prometheus\n"
      "    static_configs:\n"
      "      - targets: [\"{{prometheus_address}}\"]\n";
  PrometheusServer prometheus(options);
  Result<Ok> started = prometheus.Start(dir);
  ASSERT_TRUE(started.ok()) << started.error();

  Result<nlohmann::json> up = prometheus.WaitForResult("up{job=\"prometheus\"} == 1", seconds(20));
  ASSERT_TRUE(up.ok()) << up.error() << "\n" << prometheus.process().Log();
  EXPECT_EQ((*up)[0]["value"][1], "1");

  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  std::vector<std::string> names;
  while (std::chrono::steady_clock::now() < deadline) {
    names = alertmanager.AlertNames();
    if (std::find(names.begin(), names.end(), "HarnessAlwaysFiring") != names.end()) break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(names, std::vector<std::string>{"HarnessAlwaysFiring"}) << alertmanager.process().Log();

  Result<nlohmann::json> bad = prometheus.Query("up{");
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("bad_data"), std::string::npos) << bad.error();

  EXPECT_EQ(HttpPost(prometheus.url() + "/-/reload").status, 200);
  EXPECT_TRUE(WaitHttpOk(prometheus.url() + "/-/ready", seconds(5)));
}

TEST(HarnessTest, PrometheusStartRejectsABadConfig) {
  TempDir dir;
  PrometheusServer::Options options;
  options.scrape_configs_yaml = "  - job_name: broken\n    no_such_field: 1\n";
  PrometheusServer prometheus(options);
  Result<Ok> started = prometheus.Start(dir);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("no_such_field"), std::string::npos) << started.error();
  EXPECT_FALSE(prometheus.process().Running());
}

}  // namespace
}  // namespace estate::testing
