// The shared main() of every exporter: flags like node_exporter's, config loading with --config.check,
// reload on SIGHUP and POST /-/reload, the HTTP endpoints (/metrics, /, /-/healthy, /-/ready, /-/reload,
// /probe), self-metrics, and a clean shutdown within 5 s on SIGTERM/SIGINT.
//
// An exporter supplies an Exporter: it turns a config file into a Plan (background jobs, optional probe)
// without touching any upstream. Thread-safety: Load() is called from the control thread only; the functions
// in a Plan are called from worker threads and must be thread-safe.
#pragma once

#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "estate/http_client.h"
#include "estate/http_server.h"
#include "estate/metrics.h"
#include "estate/refresher.h"

namespace estate {

struct ExporterInfo {
  std::string name;                     // e.g. "hardware"; the binary is estate-<name>-exporter
  std::string ns;                       // metric namespace, e.g. "estate_hardware"
  std::string description;              // one line for --help and the landing page
  std::string default_listen;           // e.g. ":9840"
  std::string default_config;           // default --config.file ("" = required)
  std::string source_label = "source";  // label naming a job's source in status metrics
  int refresh_workers = 4;
  // Whether --shard.total/--shard.index may spread the sources over several instances (estate/shard.h): for
  // exporters whose source list can be large (the hardware exporter's BMCs).
  bool shardable = false;
};

// Shared services an exporter may use while building its plan. Owned by the app; valid for its lifetime.
struct Services {
  http::HttpClient* http = nullptr;
  prometheus::Registry* registry = nullptr;  // for the exporter's own instruments (counters, ...)
  // Out-of-schedule updates of a job's data (Refresher::Publish / RunSoon), e.g. on an event an upstream
  // pushed. Unset under --config.check; callable from any thread, also after a reload replaced the plan (a
  // job that no longer exists is refused with false).
  std::function<bool(const std::string& source, const std::string& group, const metrics::Families& families)>
      publish;
  std::function<bool(const std::string& source, const std::string& group)> run_soon;
  // This instance's shard (--shard.index; 0 when not sharded), for what must name the instance itself, e.g.
  // the URL upstreams push to.
  int shard_ordinal = 0;
};

// What a config file turns into.
struct Plan {
  std::vector<JobSpec> jobs;
  // /probe?target=&module=: both set to enable it. has_target must not do I/O; probe runs the collection
  // now, within the budget (taken from X-Prometheus-Scrape-Timeout-Seconds).
  std::function<bool(const std::string& target, const std::string& module)> has_target;
  std::function<Result<metrics::Families>(const std::string& target, const std::string& module,
                                          const Budget& budget)>
      probe;
  // Rows for the landing page beyond the job table (optional): a short HTML fragment.
  std::string landing_html;
  // The same, computed each time the page is served (optional; after landing_html), e.g. a summary of
  // current errors. Called from HTTP worker threads: must be thread-safe and quick.
  std::function<std::string()> landing_dynamic_html;
  // A plan without jobs is refused (an empty or truncated config must not stop all collection) unless the
  // config said so explicitly (allow_empty: true).
  bool allow_empty = false;
};

class Exporter {
 public:
  virtual ~Exporter() = default;
  // Reads and validates the config; one line per problem in the error. Must not do upstream I/O. Should not
  // throw: the app turns an exception into a failed load all the same (and keeps the previous config).
  virtual Result<Plan> Load(const std::string& config_path, const Services& services) = 0;
  // Extra routes, added once before the server starts (they must read current state themselves).
  virtual void AddRoutes(web::HttpServer& /*server*/, const Services& /*services*/) {}
};

// exporter.Load for startup, reload and --config.check: an exception becomes an error, and a plan without
// jobs is refused unless it allows it. Never throws.
Result<Plan> LoadPlan(Exporter& exporter, const std::string& config_path, const Services& services);

// Parses flags, runs until SIGTERM/SIGINT, returns the process exit code.
int RunExporter(int argc, char** argv, const ExporterInfo& info, Exporter& exporter);

// The time budget of one /probe, in seconds: the X-Prometheus-Scrape-Timeout-Seconds header less 0.5 s (to
// send the answer before Prometheus gives up), at least 0.2 s, and never more than max_seconds
// (--probe.max-timeout). A missing, non-numeric, zero or negative header counts as 10 s; one too large for a
// double counts as max_seconds.
double ProbeTimeoutSeconds(std::string_view header, double max_seconds);

// The version string compiled in (project version and git revision).
const char* Version();
const char* Revision();

}  // namespace estate
