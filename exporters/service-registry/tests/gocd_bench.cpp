// The GoCD side of issue #12's performance targets: 2,000 pipelines at 50 ms per upstream request (plus one
// pipeline with 100k runs), read by GocdClient from the simulated GoCD. Prints the first refresh's time and
// request count (target: under 2 minutes on 2 cores), then a later refresh after 20 pipelines gained a run
// (only new runs are fetched: 1 + 20 requests) and one with nothing new, and the peak RSS of this process
// (simulator and client together). Exits 1 when a target is missed (bench_util.h).
// Usage: gocd_bench [pipelines] [concurrency]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench_util.h"
#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "gocd_client.h"
#include "sim_gocd.h"

namespace {

using estate::Budget;
using estate::Clock;

double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  namespace bench = estate::bench;
  const int pipelines = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int concurrency = argc > 2 ? std::atoi(argv[2]) : 4;
  const double now = 1800000000;

  estate::simestate::SimGocd sim;
  for (int i = 0; i < pipelines; ++i) {
    const std::string name = "app" + std::to_string(i % 700) + "-p" + std::to_string(i);
    sim.AddPipeline(name, "group" + std::to_string(i % 50));
    for (int r = 0; r < 20; ++r) {  // one run a day for 20 days
      estate::simestate::SimGocdRun run;
      run.scheduled_unix = now - (19 - r) * 86400.0;
      run.forced_by = "user" + std::to_string((i + r) % 97);
      run.committers = {"Dev " + std::to_string(r) + " <dev" + std::to_string(r) + "@example.com>"};
      sim.AddRun(name, run);
    }
  }
  sim.GeneratePipeline("app-big", "big", 100000, now, 600, {"erin", "frank"});
  estate::testing::FakeUpstream server{estate::testing::FakeUpstream::Options{}};
  sim.Install(server);
  if (auto started = server.Start(); !started.ok()) {
    std::fprintf(stderr, "gocd_bench: %s\n", started.error().c_str());
    return bench::kExitBroken;
  }
  estate::testing::Fault latency;
  latency.latency_seconds = 0.05;
  server.AddFault(latency);

  estate::http::CurlHttpClient http;
  estate::registry::GocdOptions options;
  options.url = server.base_url();
  options.page_size = 100;
  options.concurrency = concurrency;
  options.http.source = "gocd";
  options.http.max_concurrent_per_host = concurrency;
  options.now_unix = [now] { return now; };
  estate::registry::GocdClient client(http, options);

  auto timed = [&](const char* what, int* requests) -> double {
    Budget budget;
    budget.deadline = Clock::now() + std::chrono::minutes(10);
    const auto start = Clock::now();
    auto got = client.Collect(budget);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (!got.ok() || got->partial) {
      std::fprintf(stderr, "gocd_bench: %s: %s\n", what,
                   got.ok() ? got->errors.front().c_str() : got.error().c_str());
      std::exit(bench::kExitBroken);
    }
    *requests = got->snapshot.requests;
    return seconds;
  };

  bench::Info(std::to_string(pipelines) + " pipelines of 20 runs + one of 100,000 runs, 50 ms per request, " +
              std::to_string(concurrency) + " at once");
  int first_requests = 0;
  const double first = timed("first refresh", &first_requests);
  bench::Figure("gocd_first_refresh_seconds", first, "s", "target < 120");
  bench::Figure("gocd_first_refresh_requests", first_requests, "requests",
                "1 + pipelines + big history pages");

  for (int i = 0; i < 20; ++i) {
    estate::simestate::SimGocdRun run;
    run.scheduled_unix = now;
    run.forced_by = "late";
    sim.AddRun("app" + std::to_string(i % 700) + "-p" + std::to_string(i), run);
  }
  int second_requests = 0;
  const double second = timed("second refresh", &second_requests);
  bench::Figure("gocd_incremental_refresh_seconds", second, "s", "20 pipelines with a new run");
  bench::Figure("gocd_incremental_refresh_requests", second_requests, "requests", "target 21");
  int idle_requests = 0;
  const double idle = timed("idle refresh", &idle_requests);
  bench::Figure("gocd_idle_refresh_seconds", idle, "s", "nothing new");
  bench::Figure("gocd_idle_refresh_requests", idle_requests, "requests", "target 1");
  bench::Figure("gocd_peak_rss_mb", PeakRssMb(), "MB", "simulator + client, informational");

  const bool met = first < 120 && second_requests == 21 && idle_requests == 1;
  return met ? 0 : bench::kExitMissed;
}
