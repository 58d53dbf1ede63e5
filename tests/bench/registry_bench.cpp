// registry_bench: the real estate-service-registry-exporter against the simulated estate's upstreams, run in
// this process (tools/simestate's OpenStack, ServiceNow and GoCD sims on port 0, every answer after 50 ms):
//   - Nova: 20,000 servers of all tenants (paged), with TLA host names (the default naming rule) on 200
//     hypervisors, 1 in 100 a name no rule matches;
//   - ServiceNow: 3,000 cmdb_ci_business_app records (paged, 1 in 50 retired) and the hypervisors'
//     cmdb_ci_server records;
//   - GoCD: 2,000 pipelines "<tla>-deploy", each with a generated history (one run a day).
// It prints:
//   - the first full refresh: the time from exporter start until the registry's metrics show every app, every
//     source up and the join run after the last source, with the requests each upstream answered until then;
//   - a later refresh: a few new runs are added to a few pipelines once the first refresh is complete, and
//   the
//     requests each upstream answered during its next refresh are counted (GoCD must fetch only the new runs:
//     the dashboard plus one history page per changed pipeline);
//   - the exporter's peak RSS (VmHWM) after the first refresh and at the end.
// Targets (printed next to the figures, not asserted): first refresh < 2 min on 2 cores, peak RSS <= 200 MB.
// Exit status: 0 when the run completed (whatever the figures), 2 when the benchmark itself could not run.
#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"
#include "sim_gocd.h"
#include "sim_openstack.h"
#include "sim_servicenow.h"
#include "sim_storage_model.h"

namespace {

using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::kExitBroken;
using estate::testing::ChildProcess;
using estate::testing::FakeUpstream;
using estate::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr const char* kExporter = "estate-service-registry-exporter";
constexpr const char* kCloud = "bench";
constexpr const char* kPassword = "bench-openstack-password";
constexpr const char* kSnowToken = "bench-snow-token";
constexpr const char* kGocdToken = "bench-gocd-token";

struct Args {
  int vms = 20000;
  int apps = 4000;  // TLAs the VMs belong to (>= records and pipelines)
  int records = 3000;
  int pipelines = 2000;
  int runs = 60;  // generated runs per pipeline, one a day (30 of them inside the 30-day window)
  int hypervisors = 200;
  int projects = 20;
  int latency_ms = 50;
  int new_runs = 5;             // added (one each to as many pipelines) after the first refresh
  std::string interval = "2m";  // every source's interval: the later refresh starts this long after the first
  double deadline_seconds = 900;
  double poll_seconds = 1;
  // Targets (printed, not asserted).
  double max_refresh_seconds = 120;
  double max_rss_mb = 200;
};

void Usage() {
  std::fprintf(stderr,
               "usage: registry_bench [--vms=N] [--apps=N] [--records=N] [--pipelines=N] [--runs=N]\n"
               "                      [--hypervisors=N] [--projects=N] [--latency-ms=MS] [--new-runs=N]\n"
               "                      [--interval=DURATION] [--deadline-seconds=S] [--poll-seconds=S]\n"
               "Quick check: registry_bench --vms=2000 --apps=400 --records=300 --pipelines=200 "
               "--interval=30s\n"
               "Set ESTATE_KEEP_TEMP=1 to keep the config, the exporter log and the state file.\n");
}

bool ParseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    try {
      if (name == "--vms")
        a.vms = std::stoi(value);
      else if (name == "--apps")
        a.apps = std::stoi(value);
      else if (name == "--records")
        a.records = std::stoi(value);
      else if (name == "--pipelines")
        a.pipelines = std::stoi(value);
      else if (name == "--runs")
        a.runs = std::stoi(value);
      else if (name == "--hypervisors")
        a.hypervisors = std::stoi(value);
      else if (name == "--projects")
        a.projects = std::stoi(value);
      else if (name == "--latency-ms")
        a.latency_ms = std::stoi(value);
      else if (name == "--new-runs")
        a.new_runs = std::stoi(value);
      else if (name == "--interval")
        a.interval = value;
      else if (name == "--deadline-seconds")
        a.deadline_seconds = std::stod(value);
      else if (name == "--poll-seconds")
        a.poll_seconds = std::stod(value);
      else {
        Usage();
        return false;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "registry_bench: bad value for %s: %s\n", name.c_str(), value.c_str());
      return false;
    }
  }
  // Every app needs a VM; TLAs are three letters (26^3); records and pipelines belong to apps.
  if (a.vms < 1 || a.apps < 1 || a.apps > 17576 || a.records > a.apps || a.pipelines > a.apps || a.runs < 1 ||
      a.hypervisors < 1 || a.projects < 1 || a.new_runs < 0 || a.new_runs > a.pipelines ||
      a.poll_seconds <= 0) {
    Usage();
    return false;
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

using estate::bench::ProcCpuSeconds;
using estate::bench::ProcStatusMib;
using estate::bench::ReadTextFile;

// The machine's load average (1, 5, 15 min) as text.
std::string LoadAverage() {
  std::string text = ReadTextFile("/proc/loadavg");
  const auto third = text.find(' ', text.find(' ', text.find(' ') + 1) + 1);
  return third == std::string::npos ? text : text.substr(0, third);
}

// ---- the simulated estate ---------------------------------------------------------------------------------

// The i-th three-letter acronym: aaa, aab, ...
std::string Tla(int i) {
  std::string s(3, 'a');
  s[0] = static_cast<char>('a' + (i / 676) % 26);
  s[1] = static_cast<char>('a' + (i / 26) % 26);
  s[2] = static_cast<char>('a' + i % 26);
  return s;
}

std::string Hypervisor(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "hv-bench-%03d", i);
  return buf;
}

std::string Hex(std::uint64_t v, int width) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%0*llx", width, static_cast<unsigned long long>(v));
  return buf;
}

std::string Uuid(std::uint64_t kind, std::uint64_t i) {
  const std::string h = Hex(kind, 8) + Hex(i, 24);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20, 12);
}

struct Estate {
  int unmatched = 0;     // VMs no naming rule matches
  int apps = 0;          // apps with at least one VM
  int unregistered = 0;  // of those: no record, or a retired one
  std::vector<std::string> pipeline_names;
};

// VM j (not one of the unmatched): app j % apps, colour a for the first pass over the apps, b (a redeploy in
// progress) for the second, a again after that: "<tla>-web-<colour><nn>".
std::shared_ptr<estate::simestate::StorageModel> NovaModel(const Args& a, Estate& e) {
  auto model = std::make_shared<estate::simestate::StorageModel>();
  for (int p = 0; p < a.projects; ++p) {
    model->projects.push_back(
        {Hex(0x7000 + static_cast<unsigned>(p), 32), p == 0 ? "admin" : "tenant-" + std::to_string(p)});
  }
  for (int h = 0; h < a.hypervisors; ++h) model->hypervisors.push_back(Hypervisor(h));
  model->servers.reserve(static_cast<std::size_t>(a.vms));
  int matched = 0;
  for (int j = 0; j < a.vms; ++j) {
    estate::simestate::SimServer s;
    s.id = Uuid(0x5e12, static_cast<std::uint64_t>(j));
    if (j % 100 == 99) {
      s.name = "pgdb-main" + std::to_string(j);
      ++e.unmatched;
    } else {
      const int app = matched % a.apps;
      const int round = matched / a.apps;
      s.name = Tla(app) + "-web-" + (round % 2 == 1 ? "b" : "a") + (round < 9 ? "0" : "") +
               std::to_string(round + 1);
      ++matched;
    }
    s.host_name = s.name;
    s.project_id = model->projects[static_cast<std::size_t>(j % a.projects)].id;
    s.user_id = model->admin_user_id;
    s.hypervisor = model->hypervisors[static_cast<std::size_t>(j % a.hypervisors)];
    s.created = "2026-01-01T00:00:00Z";
    s.instance_number = j + 1;
    model->servers.push_back(std::move(s));
  }
  model->Rebuild();
  e.apps = std::min(a.apps, matched);
  return model;
}

bool Retired(int i) { return i % 50 == 49; }

void FillServiceNow(const Args& a, estate::simestate::SimServiceNow& snow, double now, Estate& e) {
  snow.AddTable("cmdb_ci_business_app");
  snow.AddTable("cmdb_ci_server");
  for (int i = 0; i < a.records; ++i) {
    const std::string tla = Tla(i);
    snow.PutRecord("cmdb_ci_business_app",
                   estate::simestate::SnowBusinessApp(
                       tla, "App " + tla, Retired(i) ? "7" : "1", "owner" + std::to_string(i),
                       "Group " + std::to_string(i % 40), now - 400 * 86400.0));
  }
  for (int h = 0; h < a.hypervisors; ++h) {
    snow.PutRecord("cmdb_ci_server",
                   estate::simestate::SnowServer(Hypervisor(h), Hypervisor(h) + ".estate.example",
                                                 "Compute " + std::to_string(h % 7)));
  }
  e.unregistered = 0;
  for (int i = 0; i < e.apps; ++i) e.unregistered += (i >= a.records || Retired(i)) ? 1 : 0;
}

void FillGocd(const Args& a, estate::simestate::SimGocd& gocd, double now, Estate& e) {
  static const std::vector<std::string> kUsers = {"dana", "erin", "frank", "grace", "henry", "ivan", "judy"};
  for (int p = 0; p < a.pipelines; ++p) {
    // Spread over the apps: registered and unregistered ones get pipelines.
    const int app = static_cast<int>((static_cast<long long>(p) * a.apps) / a.pipelines);
    const std::string name = Tla(app) + "-deploy";
    std::vector<std::string> users = {kUsers[static_cast<std::size_t>(p) % kUsers.size()],
                                      kUsers[static_cast<std::size_t>(p + 3) % kUsers.size()]};
    gocd.GeneratePipeline(name, "group-" + std::to_string(p % 50), a.runs, now - 3600, 86400, users);
    e.pipeline_names.push_back(name);
  }
}

// ---- reading /metrics -------------------------------------------------------------------------------------

struct Source {
  double up = 0;
  double last_success = 0;
  double duration = 0;
};

struct Summary {
  std::map<std::string, Source> sources;
  double apps = -1;
  double unregistered = -1;
  double vms = -1;
  double unmatched = -1;
  double gocd_requests = -1;
  double snow_requests = 0;
  std::size_t series = 0;
};

using estate::bench::MetricLabel;

Summary Summarise(const std::string& body) {
  Summary m;
  std::string_view rest(body);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line[0] == '#') continue;
    ++m.series;
    if (!line.starts_with("estate_registry_")) continue;
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos) continue;
    const double v = std::strtod(std::string(line.substr(space + 1)).c_str(), nullptr);
    const auto is = [&](std::string_view metric) {
      return line.starts_with(metric) && line.size() > metric.size() &&
             (line[metric.size()] == ' ' || line[metric.size()] == '{');
    };
    if (is("estate_registry_source_up")) {
      m.sources[MetricLabel(line, "source")].up = v;
    } else if (is("estate_registry_source_last_success_timestamp_seconds")) {
      m.sources[MetricLabel(line, "source")].last_success = v;
    } else if (is("estate_registry_source_refresh_duration_seconds")) {
      m.sources[MetricLabel(line, "source")].duration = v;
    } else if (is("estate_registry_apps")) {
      m.apps = v;
    } else if (is("estate_registry_unregistered_apps")) {
      m.unregistered = v;
    } else if (is("estate_registry_vms")) {
      m.vms = v;
    } else if (is("estate_registry_unmatched_vms")) {
      m.unmatched = v;
    } else if (is("estate_registry_gocd_requests_total")) {
      m.gocd_requests = v;
    } else if (is("estate_registry_servicenow_requests_total")) {
      m.snow_requests += v;
    }
  }
  return m;
}

const std::vector<std::string> kUpstreamSources = {std::string("nova:") + kCloud, "servicenow", "gocd"};

// Every upstream source up, the join ("registry") run after the last of them, every app and VM counted.
bool Complete(const Summary& m, const Estate& e, const Args& a) {
  double last = 0;
  for (const auto& s : kUpstreamSources) {
    auto it = m.sources.find(s);
    if (it == m.sources.end() || it->second.up != 1 || it->second.last_success <= 0) return false;
    last = std::max(last, it->second.last_success);
  }
  auto join = m.sources.find("registry");
  if (join == m.sources.end() || join->second.last_success <= last) return false;
  return m.apps == e.apps && m.unregistered == e.unregistered && m.vms == a.vms && m.unmatched == e.unmatched;
}

struct Upstreams {
  FakeUpstream* nova;
  FakeUpstream* snow;
  FakeUpstream* gocd;
  std::map<std::string, long> Counts() const {
    return {{"nova", static_cast<long>(nova->RequestCount())},
            {"servicenow", static_cast<long>(snow->RequestCount())},
            {"gocd", static_cast<long>(gocd->RequestCount())}};
  }
};

std::string Num(double v) { return std::to_string(static_cast<long long>(std::llround(v))); }

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) return kExitBroken;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const std::string exporter_bin = estate::testing::BinaryPath(kExporter);
  if (exporter_bin.empty()) {
    std::fprintf(stderr, "registry_bench: %s not built\n", kExporter);
    return kExitBroken;
  }
  const double now = static_cast<double>(std::time(nullptr));
  const auto build_t0 = Clock::now();
  Estate estate_model;

  estate::testing::Fault latency;
  latency.kind = estate::testing::Fault::Kind::kNone;
  latency.latency_seconds = args.latency_ms / 1000.0;

  // Nova (Keystone, Nova; all tenants).
  FakeUpstream nova{FakeUpstream::Options{}};
  estate::simestate::OpenStackOptions os;
  os.users.push_back({"monitor", kPassword, "admin", true});
  estate::simestate::InstallOpenStack(nova, os, NovaModel(args, estate_model),
                                      std::make_shared<estate::simestate::OpenStackTokens>());
  // ServiceNow.
  FakeUpstream snow_server{FakeUpstream::Options{}};
  estate::simestate::ServiceNowSimOptions so;
  so.bearer_token = kSnowToken;
  estate::simestate::SimServiceNow snow(so);
  FillServiceNow(args, snow, now, estate_model);
  snow.Install(snow_server);
  // GoCD.
  FakeUpstream gocd_server{FakeUpstream::Options{}};
  estate::simestate::SimGocdOptions go;
  go.bearer_token = kGocdToken;
  estate::simestate::SimGocd gocd(go);
  FillGocd(args, gocd, now, estate_model);
  gocd.Install(gocd_server);
  for (FakeUpstream* u : {&nova, &snow_server, &gocd_server}) {
    if (args.latency_ms > 0) u->AddFault(latency);
    if (auto s = u->Start(); !s) {
      std::fprintf(stderr, "registry_bench: cannot start a simulated upstream: %s\n", s.error().c_str());
      return kExitBroken;
    }
  }
  const Upstreams upstreams{&nova, &snow_server, &gocd_server};
  Info("simulated estate (in this process) ready in " + Fixed(Seconds(Clock::now() - build_t0), 1) +
       " s: " + std::to_string(args.vms) + " VMs (" + std::to_string(estate_model.unmatched) +
       " unmatched) of " + std::to_string(estate_model.apps) + " apps in " + std::to_string(args.projects) +
       " projects on " + std::to_string(args.hypervisors) + " hypervisors; " + std::to_string(args.records) +
       " business-app records (" + std::to_string(estate_model.unregistered) + " apps unregistered) + " +
       std::to_string(args.hypervisors) + " server records; " + std::to_string(args.pipelines) +
       " pipelines of " + std::to_string(args.runs) + " runs (one a day); " +
       std::to_string(args.latency_ms) + " ms per request");

  TempDir dir;
  const std::string snow_token = dir.Write("snow.token", std::string(kSnowToken) + "\n");
  const std::string gocd_token = dir.Write("gocd.token", std::string(kGocdToken) + "\n");
  std::ostringstream y;
  y << "# Written by registry_bench.\n"
    << "inventory:\n"
    << "  clouds:\n"
    << "    - name: " << kCloud << "\n"
    << "      auth_url: " << nova.base_url() << "/identity/v3\n"
    << "      region: RegionOne\n"
    << "      auth: {method: password, username: monitor, password_env: BENCH_OS_PASSWORD, project_name: "
       "admin}\n"
    << "      interval: " << args.interval << "\n"
    << "servicenow:\n"
    << "  url: " << snow_server.base_url() << "\n"
    << "  auth: {bearer_token_file: " << snow_token << "}\n"
    << "  server_table: cmdb_ci_server\n"
    << "  interval: " << args.interval << "\n"
    << "gocd:\n"
    << "  url: " << gocd_server.base_url() << "\n"
    << "  auth: {bearer_token_file: " << gocd_token << "}\n"
    << "  app_pipeline_patterns: ['^{app}-']\n"
    << "  interval: " << args.interval << "\n"
    << "report:\n"
    << "  state_file: " << dir.path() << "/first-seen.json\n";
  const std::string config = dir.Write("service-registry.yml", y.str());

  const int port = estate::testing::FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ChildProcess exporter;
  const std::string load_before = LoadAverage();
  const auto t0 = Clock::now();
  if (auto s = exporter.Start({exporter_bin, "--config.file=" + config,
                               "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"},
                              dir.path() + "/exporter.log", {{"BENCH_OS_PASSWORD", kPassword}});
      !s) {
    std::fprintf(stderr, "registry_bench: cannot start the exporter: %s\n", s.error().c_str());
    return kExitBroken;
  }
  Info("exporter " + exporter_bin + " pid " + std::to_string(exporter.pid()) + "; every source's interval " +
       args.interval + "; load average before: " + load_before);

  // (1) The first full refresh.
  double first_seconds = -1;
  Summary at_first, last;
  auto next_report = t0 + std::chrono::seconds(10);
  while (Seconds(Clock::now() - t0) < args.deadline_seconds) {
    if (!exporter.Running()) {
      std::fprintf(stderr, "registry_bench: the exporter exited; its log:\n%s\n", exporter.Log().c_str());
      return kExitBroken;
    }
    auto resp = estate::testing::HttpGet(base + "/metrics", 30);
    if (resp.status == 200) {
      last = Summarise(resp.body);
      if (Complete(last, estate_model, args)) {
        first_seconds = Seconds(Clock::now() - t0);
        at_first = last;
        break;
      }
    }
    if (Clock::now() >= next_report) {
      std::string state;
      for (const auto& [source, s] : last.sources) state += " " + source + "=" + (s.up == 1 ? "up" : "down");
      Info("t=" + Num(Seconds(Clock::now() - t0)) + "s:" + state + "; apps " + Num(last.apps) + " of " +
           std::to_string(estate_model.apps));
      next_report += std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(args.poll_seconds));
  }
  if (first_seconds < 0) {
    std::fprintf(stderr,
                 "registry_bench: no complete refresh within %.0f s (apps %.0f of %d); exporter log:\n%s\n",
                 args.deadline_seconds, last.apps, estate_model.apps, exporter.Log().c_str());
    return kExitBroken;
  }
  const auto first_counts = upstreams.Counts();
  const double rss_first = ProcStatusMib(exporter.pid(), "VmHWM");
  const double cpu_first = ProcCpuSeconds(exporter.pid());
  const long dashboard_first = gocd.dashboard_requests();
  const long history_first = gocd.history_requests();

  Figure("first_refresh_seconds", first_seconds, "s",
         "target < " + Fixed(args.max_refresh_seconds, 0) + " s on 2 cores; every source up, " +
             Num(at_first.apps) + " apps, " + Num(at_first.unregistered) + " unregistered");
  for (const auto& s : kUpstreamSources) {
    Figure("first_refresh_duration{source=" + s + "}", at_first.sources[s].duration, "s",
           "the source's own refresh duration");
  }
  long first_total = 0;
  for (const auto& [u, n] : first_counts) {
    Figure("first_refresh_requests{upstream=" + u + "}", static_cast<double>(n), "requests",
           "answered by the sim");
    first_total += n;
  }
  Figure("first_refresh_requests_total", static_cast<double>(first_total), "requests",
         "gocd: " + std::to_string(dashboard_first) + " dashboard + " + std::to_string(history_first) +
             " history pages; exporter counted gocd " + Num(at_first.gocd_requests) + ", servicenow " +
             Num(at_first.snow_requests));
  Figure("first_refresh_exporter_cpu_seconds", cpu_first, "s", "user + system");
  Figure("peak_rss_after_first_refresh_mb", rss_first * 1.048576, "MB",
         "target <= " + Fixed(args.max_rss_mb, 0) + " MB (VmHWM)");

  // (2) A later refresh: new runs on a few pipelines, then the requests of each source's next refresh.
  const auto before = upstreams.Counts();
  const long dashboard_before = gocd.dashboard_requests();
  const long history_before = gocd.history_requests();
  for (int i = 0; i < args.new_runs; ++i) {
    const auto& name =
        estate_model.pipeline_names[static_cast<std::size_t>(i) * estate_model.pipeline_names.size() /
                                    static_cast<std::size_t>(std::max(1, args.new_runs))];
    estate::simestate::SimGocdRun run;
    run.scheduled_unix = static_cast<double>(std::time(nullptr));
    run.forced_by = "newcomer";
    run.committers = {"New Comer <newcomer@estate.example>"};
    gocd.AddRun(name, run);
  }
  Info("added " + std::to_string(args.new_runs) + " runs (one each to " + std::to_string(args.new_runs) +
       " pipelines) at t=" + Num(Seconds(Clock::now() - t0)) + "s; waiting for every source's next refresh");
  const std::map<std::string, std::string> upstream_of = {
      {std::string("nova:") + kCloud, "nova"}, {"servicenow", "servicenow"}, {"gocd", "gocd"}};
  std::map<std::string, long> later;  // by upstream: requests answered by the source's next refresh
  long dashboard_later = -1, history_later = -1;
  const auto t1 = Clock::now();
  while (later.size() < upstream_of.size() && Seconds(Clock::now() - t0) < args.deadline_seconds) {
    auto resp = estate::testing::HttpGet(base + "/metrics", 30);
    if (resp.status == 200) {
      last = Summarise(resp.body);
      const auto counts = upstreams.Counts();
      for (const auto& [source, upstream] : upstream_of) {
        if (later.contains(upstream)) continue;
        if (last.sources[source].last_success > at_first.sources[source].last_success) {
          later[upstream] = counts.at(upstream) - before.at(upstream);
          if (upstream == "gocd") {
            dashboard_later = gocd.dashboard_requests() - dashboard_before;
            history_later = gocd.history_requests() - history_before;
          }
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(args.poll_seconds, 0.5)));
  }
  if (later.size() < upstream_of.size()) {
    std::fprintf(stderr, "registry_bench: not every source refreshed again within the deadline\n");
    return kExitBroken;
  }
  const double rss_end = ProcStatusMib(exporter.pid(), "VmHWM");
  long later_total = 0;
  for (const auto& [u, n] : later) {
    Figure("later_refresh_requests{upstream=" + u + "}", static_cast<double>(n), "requests",
           u == "gocd"
               ? "expected 1 dashboard + " + std::to_string(args.new_runs) + " history pages (new runs only)"
               : "a full listing again");
    later_total += n;
  }
  Figure("later_refresh_requests_total", static_cast<double>(later_total), "requests",
         "gocd: " + std::to_string(dashboard_later) + " dashboard + " + std::to_string(history_later) +
             " history pages, after " + std::to_string(args.new_runs) + " new runs; waited " +
             Num(Seconds(Clock::now() - t1)) + " s");
  Figure("later_refresh_duration{source=gocd}", last.sources["gocd"].duration, "s",
         "the source's own duration");
  Figure("peak_rss_mb", rss_end * 1.048576, "MB",
         "target <= " + Fixed(args.max_rss_mb, 0) + " MB (VmHWM at the end)");
  Figure("exporter_cpu_seconds_total", ProcCpuSeconds(exporter.pid()), "s", "user + system, whole run");
  Info("/metrics: " + std::to_string(last.series) + " series; load average after: " + LoadAverage());
  Info(std::string("targets: first refresh < 2 min: ") +
       (first_seconds < args.max_refresh_seconds ? "met" : "MISSED") + "; peak RSS <= 200 MB: " +
       (rss_end * 1.048576 <= args.max_rss_mb ? "met" : "MISSED") + "; later gocd refresh new runs only: " +
       (dashboard_later == 1 && history_later == args.new_runs ? "yes" : "NO"));
  exporter.Stop();
  for (FakeUpstream* u : {&nova, &snow_server, &gocd_server}) u->Stop();
  return 0;
}
