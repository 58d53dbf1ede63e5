#include "estate/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "estate/testing/golden.h"

namespace estate {
namespace {

std::map<std::string, double> Values() {
  std::map<std::string, double> out;
  for (const auto& f : CollectProcessMetrics()) {
    const auto& m = f.metric.at(0);
    out[f.name] = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return out;
}

TEST(ProcessMetrics, ReadsPlausibleValuesFromProc) {
  auto v = Values();
  ASSERT_EQ(v.size(), 7u);
  EXPECT_GT(v["process_resident_memory_bytes"], 1e5);
  EXPECT_GT(v["process_virtual_memory_bytes"], v["process_resident_memory_bytes"]);
  EXPECT_GE(v["process_open_fds"], 3);
  EXPECT_GT(v["process_max_fds"], v["process_open_fds"]);
  EXPECT_GE(v["process_threads"], 1);
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(v["process_start_time_seconds"], now + 2);
  EXPECT_GT(v["process_start_time_seconds"], now - 3600);
}

TEST(ProcessMetrics, OpenFdsFollowsOpens) {
  double before = Values()["process_open_fds"];
  int fd = dup(1);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Values()["process_open_fds"], before + 1);
  close(fd);
}

TEST(ProcessMetrics, CpuTimeGrows) {
  double before = Values()["process_cpu_seconds_total"];
  volatile double x = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < end) x = x + 1;
  EXPECT_GT(Values()["process_cpu_seconds_total"], before);
}

TEST(ProcessMetrics, PassesPromtool) {
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(metrics::Render(CollectProcessMetrics())));
}

}  // namespace
}  // namespace estate
