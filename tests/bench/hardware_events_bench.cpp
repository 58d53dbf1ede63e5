// hardware_events_bench: time from a fault on a BMC to its appearance in /metrics, with Redfish events (one
// SSE stream per BMC) and without, for 1,000 simulated BMCs with the slow interval at 300 s. It starts the
// real estate-hardware-exporter twice (events on, then off) against the same estate and prints:
//   - flip -> /metrics p50 / p99 / max for 50 drives failed at random moments, with events;
//   - the same without events, measured only for a bounded time (--no-events-seconds): the fraction seen by
//     then and, for the rest, the expectation (a uniformly placed slow poll: median interval / 2);
//   - RSS of the exporter with 1,000 open streams minus RSS without events (same targets, settled);
//   - requests per BMC per full poll (fast + slow, from estate_hardware_poll_requests), with and without
//   events,
//     and the requests an event costs (the re-read of the one resource).
// Each figure is one "bench: <name> = <value> <unit> (target ...)" line. Exit 0 when every target is met, 1
// when one is missed, 2 when the benchmark could not run.
//
// The estate: a few FakeUpstream servers each listen on many ports (the HTTP client limits concurrency per
// host:port, so every BMC has its own), serving the demo's Dell iDRAC 9 tree (tools/simestate/data) with
// answers after --latency. Each BMC (told apart by the port a request came in on) has an EventService whose
// SSE stream sends that BMC's events; a flip overrides one drive's Status for that BMC only and emits the
// event.
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"

namespace {

using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::kExitBroken;
using estate::bench::kExitMissed;
using estate::bench::Percentile;
using estate::testing::ChildProcess;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::TempDir;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Args {
  int bmcs = 1000;
  int flips = 50;
  int ports_per_server = 100;
  int first_port = 23000;
  double latency_seconds = 0.02;
  double no_events_seconds = 60;
  double settle_deadline_seconds = 600;
  // Targets.
  double max_p99_seconds = 5;
  double max_stream_rss_mib = 50;
  double max_requests_per_poll = 20;
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--bmcs")
      a.bmcs = std::stoi(value);
    else if (name == "--flips")
      a.flips = std::stoi(value);
    else if (name == "--latency-ms")
      a.latency_seconds = std::stod(value) / 1000;
    else if (name == "--no-events-seconds")
      a.no_events_seconds = std::stod(value);
    else if (name == "--first-port")
      a.first_port = std::stoi(value);
    else {
      std::fprintf(stderr,
                   "usage: hardware_events_bench [--bmcs=N] [--flips=N] [--latency-ms=MS] "
                   "[--no-events-seconds=S] [--first-port=P]\n");
      std::exit(kExitBroken);
    }
  }
  a.flips = std::min(a.flips, a.bmcs);
  return a;
}

constexpr char kDrive[] =
    "/redfish/v1/Systems/System.Embedded.1/Storage/RAID.Integrated.1-1/Drives/"
    "Disk.Bay.2:Enclosure.Internal.0-1:RAID.Integrated.1-1";

// One BMC's event queue: what its SSE stream still has to send.
struct Bmc {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pending;
  bool failed = false;  // its drive has been flipped
  std::atomic<int> streams{0};
};

class Estate {
 public:
  Estate(const Args& args, std::string tree) : args_(args), tree_(std::move(tree)), bmcs_(args.bmcs) {
    for (auto& b : bmcs_) b = std::make_unique<Bmc>();
  }

  bool Start() {
    const int nservers = (args_.bmcs + args_.ports_per_server - 1) / args_.ports_per_server;
    int next_port = args_.first_port;
    std::vector<std::vector<int>> blocks(nservers);
    for (int s = 0; s < nservers; ++s) {
      const int count = args_.bmcs / nservers + (s < args_.bmcs % nservers ? 1 : 0);
      for (int attempt = 0;; ++attempt) {
        if (attempt == 20) return false;
        std::string listen;
        std::vector<int> block;
        for (int p = 0; p < count; ++p) {
          block.push_back(next_port + p);
          listen += (p == 0 ? "" : ",") + std::string("127.0.0.1:") + std::to_string(next_port + p);
        }
        next_port += count;
        FakeUpstream::Options o;
        o.root_dir = tree_;
        o.listen = listen;
        o.threads = count + 40;  // every BMC's stream holds a worker; polls need the rest
        auto server = std::make_unique<FakeUpstream>(o);
        Install(*server);
        if (args_.latency_seconds > 0) {
          estate::testing::Fault slow;
          slow.latency_seconds = args_.latency_seconds;
          slow.path_prefix = "/redfish/v1/S";  // Systems and SessionService; not the stream
          server->AddFault(slow);
          slow.path_prefix = "/redfish/v1/C";  // Chassis
          server->AddFault(slow);
        }
        if (!server->Start()) continue;
        blocks[s] = block;
        servers_.push_back(std::move(server));
        break;
      }
    }
    for (int i = 0; i < args_.bmcs; ++i) {
      const int port = blocks[i % nservers][i / nservers];
      ports_[port] = i;
      addresses_.push_back("http://127.0.0.1:" + std::to_string(port));
    }
    return true;
  }

  void Stop() {
    stopping_ = true;
    for (auto& b : bmcs_) b->cv.notify_all();
    std::vector<std::thread> stoppers;
    for (auto& s : servers_) stoppers.emplace_back([&s] { s->Stop(); });
    for (auto& t : stoppers) t.join();
  }

  // Fails BMC i's drive and queues the event on its stream.
  void Flip(int i) {
    Bmc& b = *bmcs_[i];
    std::lock_guard lock(b.mu);
    b.failed = true;
    nlohmann::json event = {{"@odata.type", "#Event.v1_7_0.Event"},
                            {"Id", std::to_string(i)},
                            {"Events",
                             {{{"EventType", "Alert"},
                               {"MessageId", "ResourceEvent.1.2.ResourceStatusChangedCritical"},
                               {"MessageSeverity", "Critical"},
                               {"OriginOfCondition", {{"@odata.id", kDrive}}}}}}};
    b.pending.push_back("data: " + event.dump() + "\n\n");
    b.cv.notify_all();
  }
  // Resets every BMC for the next run.
  void Reset() {
    for (auto& b : bmcs_) {
      std::lock_guard lock(b->mu);
      b->failed = false;
      b->pending.clear();
    }
  }
  int OpenStreams() const {
    int n = 0;
    for (const auto& b : bmcs_) n += b->streams.load();
    return n;
  }
  std::size_t Requests() const {
    std::size_t n = 0;
    for (const auto& s : servers_) n += s->RequestCount();
    return n;
  }
  const std::vector<std::string>& addresses() const { return addresses_; }

 private:
  Bmc* Of(const FakeRequest& r) {
    auto it = ports_.find(r.local_port);
    return it == ports_.end() ? nullptr : bmcs_[it->second].get();
  }
  FakeResponse File(const std::string& rel) const {
    FakeResponse r;
    r.body = estate::testing::ReadFileOrDie(tree_ + rel + "/index.json");
    return r;
  }

  void Install(FakeUpstream& server) {
    server.Route("POST", "/redfish/v1/SessionService/Sessions", [](const FakeRequest&) {
      FakeResponse r;
      r.status = 201;
      r.headers = {{"X-Auth-Token", "bench-token"},
                   {"Location", "/redfish/v1/SessionService/Sessions/bench"}};
      r.body = R"({"@odata.id":"/redfish/v1/SessionService/Sessions/bench","Id":"bench"})";
      return r;
    });
    server.Route("DELETE", "/redfish/v1/SessionService/Sessions/bench", [](const FakeRequest&) {
      FakeResponse r;
      r.status = 204;
      return r;
    });
    server.Route("GET", "/redfish/v1", [this](const FakeRequest&) {
      FakeResponse r = File("/redfish/v1");
      auto j = nlohmann::json::parse(r.body);
      j["EventService"] = {{"@odata.id", "/redfish/v1/EventService"}};
      r.body = j.dump();
      return r;
    });
    server.Route("GET", "/redfish/v1/EventService", [](const FakeRequest&) {
      FakeResponse r;
      r.body = R"({"@odata.id": "/redfish/v1/EventService", "ServiceEnabled": true,
                   "ServerSentEventUri": "/redfish/v1/EventService/SSE",
                   "Subscriptions": {"@odata.id": "/redfish/v1/EventService/Subscriptions"}})";
      return r;
    });
    server.Route("GET", kDrive, [this](const FakeRequest& req) {
      FakeResponse r = File(kDrive);
      Bmc* b = Of(req);
      bool failed = false;
      if (b != nullptr) {
        std::lock_guard lock(b->mu);
        failed = b->failed;
      }
      if (failed) {
        auto j = nlohmann::json::parse(r.body);
        j["Status"]["Health"] = "Critical";
        r.body = j.dump();
      }
      return r;
    });
    server.Route("GET", "/redfish/v1/EventService/SSE", [this](const FakeRequest& req) {
      FakeResponse r;
      r.content_type = "text/event-stream";
      Bmc* b = Of(req);
      r.stream = [this, b](const FakeResponse::Writer& write) {
        if (b == nullptr) return;
        ++b->streams;
        while (!stopping_) {
          std::string out;
          {
            std::unique_lock lock(b->mu);
            b->cv.wait_for(lock, 200ms, [&] { return stopping_.load() || !b->pending.empty(); });
            while (!b->pending.empty()) {
              out += b->pending.front();
              b->pending.pop_front();
            }
          }
          if (!write(out.empty() ? std::string_view() : std::string_view(out))) break;
        }
        --b->streams;
      };
      return r;
    });
  }

  const Args& args_;
  std::string tree_;
  std::vector<std::unique_ptr<Bmc>> bmcs_;
  std::vector<std::unique_ptr<FakeUpstream>> servers_;
  std::map<int, int> ports_;  // port -> BMC index
  std::vector<std::string> addresses_;
  std::atomic<bool> stopping_{false};
};

std::size_t Collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string Fetch(CURL* curl, const std::string& url) {
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  if (curl_easy_perform(curl) != CURLE_OK) body.clear();
  return body;
}

std::string Name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "bmc-%04d", i);
  return name;
}

std::string DriveSeries(int i) {
  return "estate_hardware_drive_health{target=\"" + Name(i) +
         "\",controller=\"RAID.Integrated.1-1\",drive=\"Disk.Bay.2:Enclosure.Internal.0-1:RAID.Integrated.1-"
         "1\"} ";
}

double Sum(const std::string& body, const std::string& prefix, const std::string& must_contain = "") {
  double total = 0;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    if (!must_contain.empty() && line.find(must_contain) == std::string::npos) continue;
    total += std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
  }
  return total;
}

struct Run {
  ChildProcess process;
  std::string base;
};

bool StartExporter(const Args& args, const Estate& estate, const TempDir& dir, bool events, Run& run) {
  std::ostringstream y;
  y << "defaults: {fast_interval: 60s, slow_interval: 300s, request_timeout: 20s, use_expand: false}\n"
    << "max_concurrent_polls: 64\n"
    << "auths:\n  bench: {username: monitor, password_env: BENCH_BMC_PASSWORD}\n";
  if (events) y << "events: {sse: true, max_streams: " << args.bmcs + 10 << "}\n";
  y << "targets:\n";
  for (int i = 0; i < args.bmcs; ++i) {
    y << "  - {name: " << Name(i) << ", address: \"" << estate.addresses()[i]
      << "\", protocol: redfish, auth: bench}\n";
  }
  const std::string config = dir.Write(events ? "events.yml" : "polls.yml", y.str());
  const int port = estate::testing::FreePort();
  run.base = "http://127.0.0.1:" + std::to_string(port);
  setenv("BENCH_BMC_PASSWORD", "bench", 1);
  auto started = run.process.Start(
      {estate::testing::BinaryPath("estate-hardware-exporter"), "--config.file=" + config,
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--refresh.workers=32", "--log.level=warn"},
      dir.path() + (events ? "/events.log" : "/polls.log"));
  if (!started) {
    std::fprintf(stderr, "exporter: %s\n", started.error().c_str());
    return false;
  }
  return estate::testing::WaitHttpOk(run.base + "/-/healthy", 30s);
}

// Waits until every slow and fast job is up (and, with events, every stream is open).
bool Settle(const Args& args, const Estate& estate, Run& run, bool events, CURL* curl) {
  const auto until = Clock::now() + std::chrono::duration<double>(args.settle_deadline_seconds);
  while (Clock::now() < until) {
    const std::string body = Fetch(curl, run.base + "/metrics");
    const double up = Sum(body, "estate_hardware_source_up{", "group=\"slow\"") +
                      Sum(body, "estate_hardware_source_up{", "group=\"fast\"");
    const bool streams = !events || estate.OpenStreams() >= args.bmcs;
    if (up >= 2 * args.bmcs && streams) return true;
    std::this_thread::sleep_for(1s);
  }
  std::fprintf(stderr, "not settled in time:\n%s\n", run.process.Log().substr(0, 4000).c_str());
  return false;
}

struct FlipResult {
  std::vector<double> seconds;  // of the flips seen
  int unseen = 0;
};

// Flips `flips` random BMCs at random moments over `spread` seconds and reads /metrics back to back until
// each shows its drive failed, or `deadline` passes.
FlipResult Flips(const Args& args, Estate& estate, Run& run, CURL* curl, double spread, double deadline) {
  std::mt19937 rng(42);
  std::vector<int> all(args.bmcs);
  for (int i = 0; i < args.bmcs; ++i) all[i] = i;
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<int> chosen(all.begin(), all.begin() + args.flips);
  std::uniform_real_distribution<double> when(0, spread);
  std::vector<double> at(args.flips);
  for (auto& t : at) t = when(rng);
  std::sort(at.begin(), at.end());

  const auto start = Clock::now();
  std::vector<Clock::time_point> flipped(args.flips, Clock::time_point::max());
  std::mutex mu;
  std::thread flipper([&] {
    for (int k = 0; k < args.flips; ++k) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(at[k])));
      {
        std::lock_guard lock(mu);
        flipped[k] = Clock::now();
      }
      estate.Flip(chosen[k]);
    }
  });
  FlipResult result;
  std::vector<bool> seen(args.flips, false);
  int remaining = args.flips;
  while (remaining > 0 && Seconds(Clock::now() - start) < deadline) {
    const std::string body = Fetch(curl, run.base + "/metrics");
    const auto now = Clock::now();
    for (int k = 0; k < args.flips; ++k) {
      if (seen[k]) continue;
      Clock::time_point t;
      {
        std::lock_guard lock(mu);
        t = flipped[k];
      }
      if (t == Clock::time_point::max()) continue;
      if (body.find(DriveSeries(chosen[k]) + "2\n") != std::string::npos) {
        seen[k] = true;
        --remaining;
        result.seconds.push_back(Seconds(now - t));
      }
    }
  }
  flipper.join();
  result.unseen = remaining;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = ParseArgs(argc, argv);
  if (estate::testing::BinaryPath("estate-hardware-exporter").empty()) {
    std::fprintf(stderr, "estate-hardware-exporter not built\n");
    return kExitBroken;
  }
  const std::string tree = estate::testing::SourceDir() + "/tools/simestate/data/bmc-dell-idrac9";
  Estate estate(args, tree);
  if (!estate.Start()) {
    std::fprintf(stderr, "hardware_events_bench: cannot bind the simulated BMCs' ports\n");
    return kExitBroken;
  }
  Info(std::to_string(args.bmcs) + " simulated Dell iDRAC 9 BMCs, " +
       std::to_string(static_cast<int>(args.latency_seconds * 1000)) +
       " ms per answer, slow interval 300 s, " + std::to_string(args.flips) +
       " drives failed at random moments");
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  TempDir dir;
  bool ok = true;

  // --- without events: the baseline RSS, requests per poll, and a bounded look at the latency
  // ---------------
  Run polls;
  if (!StartExporter(args, estate, dir, false, polls) || !Settle(args, estate, polls, false, curl))
    return kExitBroken;
  std::this_thread::sleep_for(5s);  // let the first round's garbage go
  const double rss_polls = estate::bench::ProcStatusMib(polls.process.pid(), "VmRSS");
  std::string body = Fetch(curl, polls.base + "/metrics");
  const double per_poll_polls = (Sum(body, "estate_hardware_poll_requests{", "group=\"fast\"") +
                                 Sum(body, "estate_hardware_poll_requests{", "group=\"slow\"")) /
                                args.bmcs;
  FlipResult without = Flips(args, estate, polls, curl, 10, args.no_events_seconds);
  polls.process.Stop();
  estate.Reset();

  // --- with events -----------------------------------------------------------------------------------------
  Run events;
  if (!StartExporter(args, estate, dir, true, events) || !Settle(args, estate, events, true, curl))
    return kExitBroken;
  std::this_thread::sleep_for(5s);
  const double rss_events = estate::bench::ProcStatusMib(events.process.pid(), "VmRSS");
  body = Fetch(curl, events.base + "/metrics");
  const double per_poll_events = (Sum(body, "estate_hardware_poll_requests{", "group=\"fast\"") +
                                  Sum(body, "estate_hardware_poll_requests{", "group=\"slow\"")) /
                                 args.bmcs;
  const double connected = Sum(body, "estate_hardware_event_stream_connected{");
  const std::size_t requests_before = estate.Requests();
  FlipResult with = Flips(args, estate, events, curl, 10, 60);
  const std::size_t event_requests = estate.Requests() - requests_before;
  events.process.Stop();
  estate.Stop();
  curl_easy_cleanup(curl);

  // --- figures
  // ----------------------------------------------------------------------------------------------
  Info("streams connected: " + std::to_string(static_cast<int>(connected)) + " of " +
       std::to_string(args.bmcs));
  const double p50 = Percentile(with.seconds, 0.5), p99 = Percentile(with.seconds, 0.99);
  Figure("flip_to_metrics_with_events_p50", p50, "s", "measured");
  Figure("flip_to_metrics_with_events_p99", p99, "s", "target < 5 s");
  Figure("flip_to_metrics_with_events_max", Percentile(with.seconds, 1), "s", "measured");
  Figure("flips_unseen_with_events", with.unseen, "flips", "target 0 within 60 s");
  const double seen_fraction = static_cast<double>(without.seconds.size()) / args.flips;
  Figure(
      "flips_seen_without_events_within_window", seen_fraction * 100, "%",
      "measured for " + std::to_string(static_cast<int>(args.no_events_seconds)) +
          " s after the flips; here every BMC's slow poll ran in the first round, so the next is due ~300 s "
          "later; polls of uniform phase would catch ~" +
          std::to_string(static_cast<int>(100 * std::min(1.0, (args.no_events_seconds - 5) / 300))) + "%");
  if (!without.seconds.empty()) {
    Figure("flip_to_metrics_without_events_p50_of_seen", Percentile(without.seconds, 0.5), "s",
           "only the flips seen within the window");
  }
  Figure("flip_to_metrics_without_events_p50_expected", 150, "s", "not measured: slow interval / 2");
  Figure("flip_to_metrics_without_events_p99_expected", 297, "s", "not measured: 0.99 x slow interval");
  Figure("rss_without_events", rss_polls, "MiB", "measured");
  Figure("rss_with_events", rss_events, "MiB", "measured");
  Figure("rss_added_by_streams", rss_events - rss_polls, "MiB", "target <= 50 MiB for 1,000 streams");
  Figure("requests_per_bmc_per_full_poll_without_events", per_poll_polls, "requests", "measured");
  Figure("requests_per_bmc_per_full_poll_with_events", per_poll_events, "requests",
         "target <= 20, as without");
  Figure("requests_per_event", with.seconds.empty() ? 0 : static_cast<double>(event_requests) / args.flips,
         "requests", "the re-read of the one resource (plus any poll that fell in the window)");

  auto check = [&](bool pass, const std::string& what) {
    std::printf("%s: %s\n", pass ? "PASS" : "FAIL", what.c_str());
    ok = ok && pass;
  };
  check(with.unseen == 0 && p99 < args.max_p99_seconds, "flip -> /metrics p99 < 5 s with events");
  check(rss_events - rss_polls <= args.max_stream_rss_mib, "1,000 open streams add <= 50 MiB RSS");
  check(per_poll_events <= per_poll_polls + 0.5, "events add no requests to a poll");
  return ok ? 0 : kExitMissed;
}
