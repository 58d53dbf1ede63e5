// The real estate-compliance-exporter: reports pushed to /data-collector/v0/, the process killed with SIGKILL
// right after the last 200, started again: every acknowledged report is in /metrics (label e2e, a few
// seconds).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/e2e.h"
#include "push_report.h"

namespace {

using estate::compliance::testing::AutomateReport;
using estate::testing::BinaryPath;
using estate::testing::ChildProcess;
using estate::testing::FreePort;
using estate::testing::HttpGet;
using estate::testing::HttpPost;
using estate::testing::TempDir;
using estate::testing::WaitHttpOk;

int CountRatioSeries(const std::string& metrics) {
  int n = 0;
  for (std::size_t at = 0;
       (at = metrics.find("\nestate_compliance_ratio{host=\"push-", at)) != std::string::npos; ++at) {
    ++n;
  }
  return n;
}

TEST(CompliancePushE2e, AcknowledgedReportsSurviveKill9) {
  const std::string binary = BinaryPath("estate-compliance-exporter");
  if (binary.empty()) GTEST_SKIP() << "estate-compliance-exporter not built";
  TempDir dir;
  dir.Write("tokens", "e2e-token\n");
  const std::string config =
      dir.Write("compliance.yml", "push:\n  enabled: true\n  tokens_file: " + dir.path() +
                                      "/tokens\n  spool_dir: " + dir.path() + "/spool\n");
  const int port = FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::vector<std::string> args = {binary, "--config.file=" + config,
                                         "--web.listen-address=127.0.0.1:" + std::to_string(port)};
  ChildProcess exporter;
  ASSERT_TRUE(exporter.Start(args, dir.path() + "/exporter.log"));
  ASSERT_TRUE(WaitHttpOk(base + "/-/ready", std::chrono::seconds(20))) << exporter.Log();

  const int kReports = 20;
  for (int i = 0; i < kReports; ++i) {
    auto r = HttpPost(base + "/data-collector/v0/", AutomateReport("push-" + std::to_string(i)), 10,
                      {"Content-Type: application/json", "x-data-collector-token: e2e-token",
                       "x-data-collector-auth: version=1.0"});
    ASSERT_EQ(r.status, 200) << r.body << r.error;
  }
  // Right after the last 200: no graceful shutdown, no chance to flush anything.
  exporter.Signal(SIGKILL);
  exporter.Stop();

  ChildProcess again;
  ASSERT_TRUE(again.Start(args, dir.path() + "/exporter2.log"));
  ASSERT_TRUE(WaitHttpOk(base + "/-/ready", std::chrono::seconds(20))) << again.Log();
  int seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string metrics;
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = HttpGet(base + "/metrics").body;
    seen = CountRatioSeries(metrics);
    if (seen == kReports) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(seen, kReports) << again.Log();
  EXPECT_NE(
      metrics.find("estate_compliance_controls{host=\"push-7\",profile=\"push-profile\",status=\"failed\","
                   "severity=\"critical\"} 1"),
      std::string::npos);
}

}  // namespace
