#include "estate/app.h"

#include <malloc.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "estate/config.h"
#include "estate/log.h"
#include "estate/process_metrics.h"
#include "estate/shard.h"
#include "estate/web_config.h"

namespace estate {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Flags {
  std::vector<std::string> listen;
  std::string telemetry_path = "/metrics";
  std::string web_config_file;
  std::string config_file;
  bool config_check = false;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  int max_requests = 16;
  int max_connections = 512;
  int refresh_workers = 4;
  double probe_max_timeout = 120;  // seconds
  int probe_max_per_target = 2;
  int shard_total = 1;
  std::string shard_index = "0";
  shard::Shard shard;  // resolved from the two above
  bool version = false;
  bool help = false;
};

std::string BinaryName(const ExporterInfo& info) { return "estate-" + info.name + "-exporter"; }

std::string Usage(const ExporterInfo& info) {
  std::ostringstream o;
  o << "usage: " << BinaryName(info) << " [<flags>]\n\n"
    << info.description << "\n\nFlags:\n"
    << "  -h, --[no-]help              Show this help.\n"
    << "      --web.listen-address=" << info.default_listen << " ...\n"
    << "                               Address to listen on (host:port or :port); repeatable.\n"
    << "      --web.telemetry-path=\"/metrics\"\n"
    << "                               Path under which to expose metrics.\n"
    << "      --web.config.file=\"\"     Path to a web configuration file (exporter-toolkit format) that\n"
    << "                               enables TLS and/or basic authentication.\n"
    << "      --web.max-requests=16    Requests handled at once (more wait, then get 503); also caps\n"
    << "                               concurrent /probe.\n"
    << "      --web.max-connections=512\n"
    << "                               Connections served at once, idle ones included (one thread each).\n"
    << "      --probe.max-timeout=120s Longest a /probe may run, whatever the scrape timeout header asks.\n"
    << "      --probe.max-per-target=2 Probes of one target that may run at once (more get 503).\n"
    << (info.shardable
            ? "      --shard.total=1          Instances the sources are spread over (one shard each).\n"
              "      --shard.index=0          This instance's shard: 0 to --shard.total - 1, or auto (the\n"
              "                               ordinal of POD_NAME or the host name, as in name-3).\n"
            : "")
    << "      --config.file=\"" << info.default_config << "\"\n"
    << "                               Path to the exporter's configuration file.\n"
    << "      --[no-]config.check      Validate the configuration file(s) and exit.\n"
    << "      --refresh.workers=" << info.refresh_workers << "     Background collection worker threads.\n"
    << "      --log.level=info         Only log messages with the given severity or above. One of:\n"
    << "                               [debug, info, warn, error]\n"
    << "      --log.format=logfmt      Output format of log messages. One of: [logfmt, json]\n"
    << "      --[no-]version           Show application version.\n";
  return o.str();
}

// Flags in kingpin style: --name=value, --name value, --flag / --no-flag for booleans.
Result<Flags> ParseFlags(int argc, char** argv, const ExporterInfo& info) {
  Flags f;
  f.config_file = info.default_config;
  f.refresh_workers = info.refresh_workers;
  bool listen_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h") arg = "--help";
    if (arg.rfind("--", 0) != 0) return MakeError("unexpected argument " + arg);
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto boolean = [&](bool& out) -> Result<Ok> {
      if (has_value) {
        if (value == "true")
          out = true;
        else if (value == "false")
          out = false;
        else
          return MakeError("--" + name + " takes true or false");
      } else {
        out = true;
      }
      return Ok{};
    };
    auto take = [&]() -> Result<std::string> {
      if (has_value) return value;
      if (i + 1 >= argc) return MakeError("--" + name + " needs a value");
      return std::string(argv[++i]);
    };
    Result<Ok> ok = Ok{};
    if (name == "help")
      ok = boolean(f.help);
    else if (name == "version")
      ok = boolean(f.version);
    else if (name == "config.check")
      ok = boolean(f.config_check);
    else if (name == "no-config.check")
      f.config_check = false;
    else if (name == "no-help" || name == "no-version") {
    } else if (name == "web.listen-address" || name == "web.telemetry-path" || name == "web.config.file" ||
               name == "config.file" || name == "log.level" || name == "log.format" ||
               name == "web.max-requests" || name == "web.max-connections" || name == "refresh.workers" ||
               name == "probe.max-timeout" || name == "probe.max-per-target" ||
               (info.shardable && (name == "shard.total" || name == "shard.index"))) {
      auto v = take();
      if (!v) return MakeError(v.error());
      if (name == "web.listen-address") {
        if (!listen_given) f.listen.clear();
        listen_given = true;
        f.listen.push_back(*v);
      } else if (name == "web.telemetry-path") {
        f.telemetry_path = *v;
      } else if (name == "web.config.file") {
        f.web_config_file = *v;
      } else if (name == "config.file") {
        f.config_file = *v;
      } else if (name == "log.level") {
        f.log_level = *v;
      } else if (name == "log.format") {
        f.log_format = *v;
      } else if (name == "shard.index") {
        f.shard_index = *v;
      } else if (name == "probe.max-timeout") {
        double secs = 0;
        if (!config::ParseDuration(*v, &secs) || secs <= 0 || secs > 86400) {
          return MakeError("--probe.max-timeout takes a duration from 1ms to 1d, such as 120s or 2m");
        }
        f.probe_max_timeout = secs;
      } else {
        char* end = nullptr;
        long n = std::strtol(v->c_str(), &end, 10);
        const long max = name == "web.max-connections" ? 16384 : 1024;  // --shard.total too
        if (end == v->c_str() || *end != '\0' || n < 1 || n > max) {
          return MakeError("--" + name + " takes a whole number from 1 to " + std::to_string(max));
        }
        (name == "web.max-requests"      ? f.max_requests
         : name == "web.max-connections" ? f.max_connections
         : name == "refresh.workers"     ? f.refresh_workers
         : name == "shard.total"         ? f.shard_total
                                         : f.probe_max_per_target) = static_cast<int>(n);
      }
    } else {
      return MakeError("unknown flag --" + name);
    }
    if (!ok) return MakeError(ok.error());
  }
  if (f.listen.empty()) f.listen.push_back(info.default_listen);
  if (f.telemetry_path.empty() || f.telemetry_path[0] != '/') {
    return MakeError("--web.telemetry-path must start with /");
  }
  std::string pod_name;
  if (f.shard_index == "auto") {
    if (const char* env = std::getenv("POD_NAME"); env != nullptr && *env != '\0') {
      pod_name = env;
    } else {
      char host[256] = {};
      if (gethostname(host, sizeof host - 1) == 0) pod_name = host;
    }
  }
  auto shard = shard::Resolve(f.shard_total, f.shard_index, pod_name);
  if (!shard) return MakeError(shard.error());
  f.shard = *shard;
  return f;
}

using web::HtmlEscape;

std::string IsoTime(double unix_seconds) {
  if (unix_seconds <= 0) return "never";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string Fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

class App {
 public:
  App(const ExporterInfo& info, Exporter& exporter, Flags flags)
      : info_(info),
        exporter_(exporter),
        flags_(std::move(flags)),
        http_(http::CurlLimits{}, &registry_),
        refresher_(Refresher::Options{info.ns, info.source_label, flags_.refresh_workers, 0.1, false}) {
    services_.http = &http_;
    services_.registry = &registry_;
    services_.shard_ordinal = flags_.shard.ordinal;
    services_.publish = [this](const std::string& source, const std::string& group,
                               const metrics::Families& families) {
      return refresher_.Publish(source, group, families);
    };
    services_.run_soon = [this](const std::string& source, const std::string& group) {
      return refresher_.RunSoon(source, group);
    };
    auto& refused = prometheus::BuildCounter()
                        .Name(info.ns + "_probes_refused_total")
                        .Help(
                            "Probes answered 503 without running: target_busy = --probe.max-per-target "
                            "probes of that target were running, too_many = half of --web.max-requests were.")
                        .Register(registry_);
    probes_refused_target_ = &refused.Add({{"reason", "target_busy"}});
    probes_refused_total_ = &refused.Add({{"reason", "too_many"}});
    probes_in_flight_gauge_ = &prometheus::BuildGauge()
                                   .Name(info.ns + "_probes_in_flight")
                                   .Help("Probes running now.")
                                   .Register(registry_)
                                   .Add({});
  }

  int Run();

 private:
  Result<Ok> Reload(const char* trigger);
  void AddRoutes();
  web::HttpResponse Metrics(const web::HttpRequest& req);
  web::HttpResponse Landing();
  web::HttpResponse Probe(const web::HttpRequest& req);
  // Takes a probe slot for the target; empty when the target or the exporter has too many probes running.
  std::optional<std::string> AcquireProbe(const std::string& target);
  void ReleaseProbe(const std::string& target);
  std::string SelfMetricsText();
  // The status and self metrics, rendered and gzipped. With thousands of sources this is ~10k series, so a
  // render that took over 5 ms is redone by a keeper thread every second while scrapes read it, and scrapes
  // are served the last one (ages are then at most about a second behind).
  using SelfRender = std::pair<std::shared_ptr<const std::string>, std::shared_ptr<const web::DeflatePiece>>;
  SelfRender SelfMetrics();
  // Renders (unless another thread is rendering) and stores the result; returns the current render.
  SelfRender RenderSelf();
  void SelfKeeper();

  const ExporterInfo& info_;
  Exporter& exporter_;
  Flags flags_;
  prometheus::Registry registry_;
  http::CurlHttpClient http_;
  Services services_;
  Refresher refresher_;
  web::HttpServer server_;
  CancelToken shutdown_;

  std::mutex reload_mu_;  // one reload at a time
  mutable std::mutex plan_mu_;
  std::shared_ptr<const Plan> plan_;
  std::atomic<bool> last_reload_ok_{false};
  std::atomic<double> last_reload_success_unix_{0};
  // Distinct sources in the loaded config and the ones this shard polls (estate/shard.h).
  std::atomic<std::size_t> configured_sources_{0};
  std::atomic<std::size_t> owned_sources_{0};
  std::mutex probes_mu_;
  int probes_in_flight_ = 0;
  std::unordered_map<std::string, int> probes_by_target_;
  prometheus::Counter* probes_refused_target_ = nullptr;
  prometheus::Counter* probes_refused_total_ = nullptr;
  prometheus::Gauge* probes_in_flight_gauge_ = nullptr;
  std::mutex self_mu_;
  std::shared_ptr<const std::string> self_text_;
  std::shared_ptr<const web::DeflatePiece> self_gzip_;  // the last piece of /metrics' gzip stream
  Clock::time_point self_at_{};
  double self_cost_ = 0;
  bool self_building_ = false;
  Clock::time_point self_read_{};
  bool self_stop_ = false;
  std::condition_variable self_cv_;
  std::thread self_keeper_;
};

Result<Ok> App::Reload(const char* trigger) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  // The cached self-metrics would show the previous reload's status for up to a few seconds.
  struct Expire {
    App* app;
    ~Expire() {
      std::lock_guard<std::mutex> self_lock(app->self_mu_);
      app->self_at_ = {};
    }
  } expire{this};
  auto plan = LoadPlan(exporter_, flags_.config_file, services_);
  if (!plan) {
    last_reload_ok_ = false;
    log::Error("loading configuration failed; keeping the previous one",
               {{"trigger", trigger}, {"file", flags_.config_file}, {"err", plan.error()}});
    return MakeError(plan.error());
  }
  std::size_t n = 0;
  try {
    auto shared = std::make_shared<Plan>(std::move(*plan));
    shard::Split split = shard::OwnedJobs(shared->jobs, flags_.shard);
    n = split.owned.size();
    refresher_.Apply(std::move(split.owned));
    configured_sources_ = split.configured_sources;
    owned_sources_ = split.owned_sources;
    std::lock_guard<std::mutex> plock(plan_mu_);
    shared->jobs.clear();  // the refresher owns the jobs now
    plan_ = std::move(shared);
  } catch (const std::exception& e) {
    // Last resort (out of memory): whatever the refresher took runs on, the previous plan serves /probe.
    last_reload_ok_ = false;
    log::Error("applying configuration failed",
               {{"trigger", trigger}, {"file", flags_.config_file}, {"err", e.what()}});
    return MakeError(flags_.config_file + ": applying the configuration failed: " + e.what());
  }
  last_reload_ok_ = true;
  last_reload_success_unix_ = UnixNow();
  if (flags_.shard.Sharded()) {
    log::Info("configuration loaded",
              {{"trigger", trigger},
               {"file", flags_.config_file},
               {"jobs", std::to_string(n)},
               {"shard", std::to_string(flags_.shard.ordinal) + "/" + std::to_string(flags_.shard.total)},
               {"sources_owned",
                std::to_string(owned_sources_.load()) + "/" + std::to_string(configured_sources_.load())}});
  } else {
    log::Info("configuration loaded",
              {{"trigger", trigger}, {"file", flags_.config_file}, {"jobs", std::to_string(n)}});
  }
  return Ok{};
}

std::string App::SelfMetricsText() {
  metrics::Families fams;
  auto build =
      metrics::Gauge(info_.ns + "_build_info",
                     "A metric with a constant '1' value labeled by version, revision and compiler.");
  metrics::Add(build, {{"version", Version()}, {"revision", Revision()}, {"compiler", "g++ " __VERSION__}},
               1);
  fams.push_back(std::move(build));
  auto ok = metrics::Gauge(info_.ns + "_config_last_reload_successful",
                           "1 when the last configuration (re)load succeeded, 0 when it failed.");
  metrics::Add(ok, {}, last_reload_ok_ ? 1 : 0);
  fams.push_back(std::move(ok));
  auto ts = metrics::Gauge(info_.ns + "_config_last_reload_success_timestamp_seconds",
                           "Unix time of the last successful configuration (re)load.");
  metrics::Add(ts, {}, last_reload_success_unix_.load());
  fams.push_back(std::move(ts));
  if (info_.shardable) {
    auto ordinal =
        metrics::Gauge(info_.ns + "_shard_ordinal", "This instance's shard, 0 to total - 1 (--shard.index).");
    metrics::Add(ordinal, {}, flags_.shard.ordinal);
    fams.push_back(std::move(ordinal));
    auto total =
        metrics::Gauge(info_.ns + "_shards", "Instances the sources are spread over (--shard.total).");
    metrics::Add(total, {}, flags_.shard.total);
    fams.push_back(std::move(total));
    auto owned = metrics::Gauge(info_.ns + "_shard_owned_sources",
                                "Configured sources this shard polls in the background.");
    metrics::Add(owned, {}, static_cast<double>(owned_sources_.load()));
    fams.push_back(std::move(owned));
    auto configured =
        metrics::Gauge(info_.ns + "_shard_configured_sources",
                       "Sources in the configuration, over all shards (/probe answers for all).");
    metrics::Add(configured, {}, static_cast<double>(configured_sources_.load()));
    fams.push_back(std::move(configured));
  }
  for (auto& f : refresher_.StatusFamilies()) fams.push_back(std::move(f));
  for (auto& f : registry_.Collect()) fams.push_back(std::move(f));
  for (auto& f : CollectProcessMetrics()) fams.push_back(std::move(f));
  return metrics::Render(fams);
}

App::SelfRender App::SelfMetrics() {
  {
    std::lock_guard<std::mutex> lock(self_mu_);
    self_read_ = Clock::now();
    double since = std::chrono::duration<double>(Clock::now() - self_at_).count();
    // A costly render is the keeper's job; the margin covers a late keeper (busy machine) or an idle one (no
    // reads for a long time), when the scrape renders it itself.
    if (self_text_ && self_cost_ > 0.005 && since < 3.0) return {self_text_, self_gzip_};
  }
  return RenderSelf();
}

App::SelfRender App::RenderSelf() {
  {
    std::lock_guard<std::mutex> lock(self_mu_);
    // One thread renders while the others serve the previous render: when it expired under 20 concurrent
    // scrapers, every one of them used to render it at once, and all of them took 20 times as long.
    if (self_text_ && self_building_) return {self_text_, self_gzip_};
    self_building_ = true;
  }
  auto start = Clock::now();
  std::shared_ptr<const std::string> text;
  std::shared_ptr<const web::DeflatePiece> gzip;
  try {
    text = std::make_shared<const std::string>(SelfMetricsText());
    auto piece = web::DeflateCompress({*text});
    if (!piece) throw std::bad_alloc();  // zlib fails only for memory
    gzip = std::make_shared<const web::DeflatePiece>(std::move(*piece));
  } catch (...) {
    std::lock_guard<std::mutex> lock(self_mu_);
    self_building_ = false;
    throw;
  }
  std::lock_guard<std::mutex> lock(self_mu_);
  self_text_ = text;
  self_gzip_ = gzip;
  self_at_ = Clock::now();
  self_cost_ = std::chrono::duration<double>(self_at_ - start).count();
  self_building_ = false;
  return {text, gzip};
}

// Re-renders a costly self-metrics text every second while it is read, so that a Prometheus scraping every
// 15-60 s (which always finds it more than a second old) does not wait for ~10k status series to render.
// Stops rendering after 5 minutes without reads.
void App::SelfKeeper() {
  std::unique_lock<std::mutex> lock(self_mu_);
  while (!self_stop_) {
    self_cv_.wait_until(
        lock, std::max(Clock::now() + std::chrono::milliseconds(250), self_at_ + std::chrono::seconds(1)));
    if (self_stop_) break;
    auto now = Clock::now();
    bool wanted = self_text_ && self_cost_ > 0.005 && !self_building_ &&
                  now - self_at_ >= std::chrono::seconds(1) && now - self_read_ < std::chrono::minutes(5);
    if (!wanted) continue;
    lock.unlock();
    try {
      RenderSelf();
    } catch (const std::exception& e) {
      log::Error("self-metrics render failed", {{"err", e.what()}});
    }
    lock.lock();
  }
}

web::HttpResponse App::Metrics(const web::HttpRequest& req) {
  web::HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.gzip_allowed = true;
  auto [self, self_gzip] = SelfMetrics();
  std::string accept = req.Header("accept-encoding");
  auto data = refresher_.Data();
  if (accept.find("gzip") != std::string::npos) {
    // One gzip stream (a file of several members is read whole by Prometheus, but curl, browsers and wget
    // stop after the first) made of deflate pieces: the data's are compressed once per change and reused,
    // the self-metrics piece is cached the same way.
    r.gzip_pieces = data->gzip;
    r.gzip_pieces.push_back(self_gzip);
    return r;
  }
  r.gzip_allowed = false;
  if (data->views.empty() && !data->pieces.empty()) {
    // Large families are kept only compressed: inflated as they are sent (~0.4 s of CPU for 100 MB of text).
    r.stream = [data, self = self](const web::HttpResponse::Writer& write) {
      if (data->Write(write)) write(*self);
    };
    return r;
  }
  // Sent as views into the jobs' pre-rendered text: the data is never joined or copied per scrape.
  struct SelfView {
    std::shared_ptr<const std::string> text;
    std::vector<std::string_view> views;
  };
  auto tail = std::make_shared<SelfView>(SelfView{self, {*self}});
  r.body_views = {std::shared_ptr<const std::vector<std::string_view>>(data, &data->views),
                  std::shared_ptr<const std::vector<std::string_view>>(tail, &tail->views)};
  return r;
}

web::HttpResponse App::Landing() {
  std::shared_ptr<const Plan> plan;
  {
    std::lock_guard<std::mutex> lock(plan_mu_);
    plan = plan_;
  }
  std::ostringstream h;
  std::string title = BinaryName(info_);
  h << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << HtmlEscape(title)
    << "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.up{color:#070}.down{color:#b00}"
       "</style></head><body>"
    << "<h1>" << HtmlEscape(title) << "</h1><p>" << HtmlEscape(info_.description) << "</p>"
    << "<p>Version " << HtmlEscape(Version()) << " (revision " << HtmlEscape(Revision()) << ")</p><ul>"
    << "<li><a href=\"" << HtmlEscape(flags_.telemetry_path) << "\">Metrics</a></li>"
    << "<li><a href=\"/-/healthy\">Health</a> &middot; <a href=\"/-/ready\">Readiness</a></li>";
  if (plan && plan->probe)
    h << "<li>Probe: <code>/probe?target=&lt;name&gt;&amp;module=&lt;module&gt;</code></li>";
  h << "</ul><p>Configuration: " << HtmlEscape(flags_.config_file) << " &mdash; last reload "
    << (last_reload_ok_ ? "succeeded" : "<b class=\"down\">failed</b>") << " (last success "
    << IsoTime(last_reload_success_unix_) << ")</p>";
  if (info_.shardable && flags_.shard.Sharded()) {
    h << "<p>Shard " << flags_.shard.ordinal << " of " << flags_.shard.total << " (0 to "
      << flags_.shard.total - 1 << "): polls " << owned_sources_.load() << " of "
      << configured_sources_.load() << " configured " << HtmlEscape(info_.source_label)
      << "s; /probe answers for all of them.</p>";
  }
  h << "<h2>Sources</h2><table><tr><th>" << HtmlEscape(info_.source_label)
    << "</th><th>group</th><th>status</th><th>last success</th><th>age</th><th>duration</th>"
       "<th>interval</th><th>failures</th><th>last error</th></tr>";
  for (const auto& s : refresher_.Statuses()) {
    std::string status = !s.attempted ? "pending" : (s.up ? "up" : "down");
    if (s.retry_in_seconds >= 0)
      status += ", no data yet: retrying in " + Fixed(s.retry_in_seconds, 0) + " s";
    h << "<tr><td>" << HtmlEscape(s.source) << "</td><td>" << HtmlEscape(s.group) << "</td><td class=\""
      << (s.up ? "up" : "down") << "\">" << status << "</td><td>" << IsoTime(s.last_success_unix)
      << "</td><td>" << (s.age_seconds >= 0 ? Fixed(s.age_seconds, 1) + " s" : std::string("no data"))
      << "</td><td>" << Fixed(s.last_duration_seconds, 3) << " s</td><td>" << Fixed(s.interval_seconds, 0)
      << " s</td><td>" << Fixed(s.failures, 0) << "</td><td>" << HtmlEscape(s.last_error) << "</td></tr>";
  }
  h << "</table>";
  if (plan) h << plan->landing_html;
  if (plan && plan->landing_dynamic_html) h << plan->landing_dynamic_html();
  h << "</body></html>\n";
  web::HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = h.str();
  return r;
}

std::optional<std::string> App::AcquireProbe(const std::string& target) {
  const int limit = std::max(1, flags_.max_requests / 2);
  std::lock_guard<std::mutex> lock(probes_mu_);
  int& of_target = probes_by_target_[target];
  if (of_target >= flags_.probe_max_per_target) {  // the limit is at least 1, so the entry stays
    probes_refused_target_->Increment();
    return "target busy: " + std::to_string(flags_.probe_max_per_target) +
           " probe(s) of this target are already running (--probe.max-per-target)";
  }
  if (probes_in_flight_ >= limit) {
    if (of_target == 0) probes_by_target_.erase(target);
    probes_refused_total_->Increment();
    return "too many concurrent probes: " + std::to_string(limit) +
           " are already running (half of --web.max-requests)";
  }
  ++of_target;
  ++probes_in_flight_;
  probes_in_flight_gauge_->Set(probes_in_flight_);
  return std::nullopt;
}

void App::ReleaseProbe(const std::string& target) {
  std::lock_guard<std::mutex> lock(probes_mu_);
  auto it = probes_by_target_.find(target);
  if (it != probes_by_target_.end() && --it->second <= 0) probes_by_target_.erase(it);
  --probes_in_flight_;
  probes_in_flight_gauge_->Set(probes_in_flight_);
}

web::HttpResponse App::Probe(const web::HttpRequest& req) {
  web::HttpResponse r;
  std::shared_ptr<const Plan> plan;
  {
    std::lock_guard<std::mutex> lock(plan_mu_);
    plan = plan_;
  }
  if (!plan || !plan->probe || !plan->has_target) {
    r.status = 404;
    r.body = "this exporter has no /probe endpoint\n";
    return r;
  }
  std::string target = req.Param("target"), module = req.Param("module");
  if (target.empty()) {
    r.status = 400;
    r.body = "target parameter is missing\n";
    return r;
  }
  // Only configured targets: /probe must never become a way to make us call arbitrary hosts.
  if (!plan->has_target(target, module)) {
    r.status = 400;
    r.body = "unknown target or module: only targets in the configuration can be probed\n";
    return r;
  }
  if (auto refused = AcquireProbe(target)) {
    log::Warn("probe refused", {{"target", target}, {"module", module}, {"reason", *refused}});
    r.status = 503;
    r.body = *refused + "\n";
    return r;
  }
  const double timeout =
      ProbeTimeoutSeconds(req.Header("x-prometheus-scrape-timeout-seconds"), flags_.probe_max_timeout);
  Budget budget;
  budget.deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout));
  budget.cancel = shutdown_;
  auto start = Clock::now();
  Result<metrics::Families> result = MakeError("not run");
  try {
    result = plan->probe(target, module, budget);
  } catch (const std::exception& e) {
    result = MakeError(e.what());
  } catch (...) {
    result = MakeError("probe threw a non-standard exception");
  }
  ReleaseProbe(target);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  metrics::Families fams;
  if (result.ok())
    fams = std::move(*result);
  else
    log::Warn("probe failed", {{"target", target}, {"module", module}, {"err", result.error()}});
  auto success = metrics::Gauge(info_.ns + "_probe_success", "1 when the probe succeeded, else 0.");
  metrics::Add(success, {}, result.ok() ? 1 : 0);
  auto duration = metrics::Gauge(info_.ns + "_probe_duration_seconds", "How long the probe took.");
  metrics::Add(duration, {}, secs);
  fams.push_back(std::move(duration));
  fams.push_back(std::move(success));
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics::Render(fams);
  r.gzip_allowed = true;
  return r;
}

void App::AddRoutes() {
  server_.Route(flags_.telemetry_path, {"GET"}, [this](const web::HttpRequest& req) { return Metrics(req); });
  if (flags_.telemetry_path != "/") {
    server_.Route("/", {"GET"}, [this](const web::HttpRequest&) { return Landing(); });
  }
  server_.Route("/-/healthy", {"GET"}, [](const web::HttpRequest&) {
    web::HttpResponse r;
    r.body = "Healthy\n";
    return r;
  });
  server_.Route("/-/ready", {"GET"}, [this](const web::HttpRequest&) {
    web::HttpResponse r;
    if (refresher_.Ready()) {
      r.body = "Ready\n";
    } else {
      r.status = 503;
      r.body = "Not ready: waiting for the first collection round\n";
    }
    return r;
  });
  server_.Route("/-/reload", {"POST", "PUT"}, [this](const web::HttpRequest&) {
    web::HttpResponse r;
    // On a thread of its own: civetweb's workers have small stacks, and parsing a deeply nested file
    // (yaml-cpp recurses up to its depth limit) overflowed one and killed the process.
    Result<Ok> ok = MakeError("reload did not run");
    std::thread reload([&] { ok = Reload("http"); });
    reload.join();
    if (ok) {
      r.body = "configuration reloaded\n";
    } else {
      r.status = 500;
      r.body = "failed to reload config: " + ok.error() + "\n";
    }
    return r;
  });
  server_.Route("/probe", {"GET"}, [this](const web::HttpRequest& req) { return Probe(req); });
  exporter_.AddRoutes(server_, services_);
}

int App::Run() {
  // Signals are taken synchronously by this thread; block them before any other thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Scrapes and refreshes run on many threads and allocate large, short-lived strings; glibc's default of up
  // to 8 arenas per core keeps freed memory in each. Two arenas keep peak RSS close to what is really used.
  mallopt(M_ARENA_MAX, 2);
  // glibc raises its mmap threshold to the size of any mmapped block that is freed (up to 32 MB), after which
  // multi-MB buffers (merged bodies, gzip output, large upstream answers) come from the heap and fragment it.
  // A fixed threshold keeps them in mmap, so freeing one returns its pages at once.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  auto web_config = web::LoadWebConfig(flags_.web_config_file);
  if (!web_config) {
    log::Error("invalid web configuration", {{"file", flags_.web_config_file}, {"err", web_config.error()}});
    return 1;
  }
  if (auto ok = Reload("startup"); !ok) return 1;

  AddRoutes();
  web::ServerOptions opts;
  opts.listen_addresses = flags_.listen;
  // Connection threads are decoupled from handler slots: idle and slow clients hold only the former.
  opts.worker_threads = std::max(flags_.max_connections, flags_.max_requests + 2);
  opts.max_requests = flags_.max_requests;
  opts.web_config = *web_config;
  if (auto ok = server_.Start(opts); !ok) {
    log::Error("cannot start the HTTP server", {{"err", ok.error()}});
    return 1;
  }
  refresher_.Start();
  self_keeper_ = std::thread([this] { SelfKeeper(); });
  std::string ports;
  for (int p : server_.Ports()) ports += (ports.empty() ? "" : ",") + std::to_string(p);
  log::Info("listening", {{"address",
                           [&] {
                             std::string a;
                             for (const auto& l : flags_.listen) a += (a.empty() ? "" : ",") + l;
                             return a;
                           }()},
                          {"ports", ports},
                          {"tls", server_.tls() ? "true" : "false"},
                          {"version", Version()}});

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)Reload("SIGHUP");
      continue;
    }
    log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    break;
  }
  auto start = Clock::now();
  shutdown_.Cancel();  // aborts in-flight probes
  server_.Stop();      // stops accepting; in-flight scrapes finish
  {
    std::lock_guard<std::mutex> lock(self_mu_);
    self_stop_ = true;
  }
  self_cv_.notify_all();
  self_keeper_.join();
  refresher_.Stop();  // cancels upstream calls, runs on_remove (e.g. session logout)
  log::Info("stopped", {{"seconds", Fixed(std::chrono::duration<double>(Clock::now() - start).count(), 3)}});
  return 0;
}

}  // namespace

Result<Plan> LoadPlan(Exporter& exporter, const std::string& config_path, const Services& services) {
  try {
    auto plan = exporter.Load(config_path, services);
    if (plan && plan->jobs.empty() && !plan->allow_empty) {
      return MakeError(config_path +
                       ": the configuration has nothing to collect (an empty or truncated file?); set "
                       "allow_empty: true to run with none");
    }
    return plan;
  } catch (const std::exception& e) {
    // The loaders return errors for every input they know of; this is the net under that promise.
    return MakeError(config_path + ": loading failed unexpectedly: " + e.what());
  } catch (...) {
    return MakeError(config_path + ": loading failed unexpectedly");
  }
}

double ProbeTimeoutSeconds(std::string_view header, double max_seconds) {
  constexpr double kDefault = 10;  // Prometheus' default scrape_timeout
  double asked = kDefault;
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
  // A decimal number as Prometheus writes it ("10", "9.5"; an exponent is accepted). strtod alone would also
  // take "inf", "nan", hex and trailing garbage.
  const bool numeric = !header.empty() && header.size() <= 64 &&
                       header.find_first_not_of("0123456789.eE+-") == std::string_view::npos;
  if (numeric) {
    const std::string text(header);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() + text.size() && v > 0) asked = v;  // 1e400 is +inf: capped below
  }
  // Leave room to send the answer before Prometheus gives up, but never beyond the configured maximum.
  return std::min(std::max(0.2, asked - 0.5), max_seconds);
}

int RunExporter(int argc, char** argv, const ExporterInfo& info, Exporter& exporter) {
  auto flags = ParseFlags(argc, argv, info);
  if (!flags) {
    std::fprintf(stderr, "%s: error: %s, try --help\n", BinaryName(info).c_str(), flags.error().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(Usage(info).c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("%s, version %s (revision: %s)\n  build: g++ %s, C++%ld\n", BinaryName(info).c_str(),
                Version(), Revision(), __VERSION__, __cplusplus / 100 % 100);
    return 0;
  }
  log::Level level;
  log::Format format;
  if (!log::ParseLevel(flags->log_level, &level)) {
    std::fprintf(stderr, "%s: error: --log.level must be one of debug, info, warn, error\n",
                 BinaryName(info).c_str());
    return 2;
  }
  if (!log::ParseFormat(flags->log_format, &format)) {
    std::fprintf(stderr, "%s: error: --log.format must be logfmt or json\n", BinaryName(info).c_str());
    return 2;
  }
  log::Configure(level, format);
  if (flags->config_file.empty()) {
    std::fprintf(stderr, "%s: error: --config.file is required\n", BinaryName(info).c_str());
    return 2;
  }
  if (flags->config_check) {
    int rc = 0;
    if (!flags->web_config_file.empty()) {
      auto wc = web::LoadWebConfig(flags->web_config_file);
      if (!wc) {
        std::fprintf(stderr, "%s\n", wc.error().c_str());
        rc = 1;
      } else {
        std::printf("%s: web configuration OK\n", flags->web_config_file.c_str());
      }
    }
    prometheus::Registry registry;
    http::CurlHttpClient http(http::CurlLimits{}, &registry);
    Services services;
    services.http = &http;
    services.registry = &registry;
    services.shard_ordinal = flags->shard.ordinal;
    auto plan = LoadPlan(exporter, flags->config_file, services);
    if (!plan) {
      std::fprintf(stderr, "%s\n", plan.error().c_str());
      return 1;
    }
    if (flags->shard.Sharded()) {
      const auto split = shard::OwnedJobs(plan->jobs, flags->shard);
      std::printf("%s: configuration OK (%zu jobs; shard %d of %d polls %zu of %zu %ss)\n",
                  flags->config_file.c_str(), plan->jobs.size(), flags->shard.ordinal, flags->shard.total,
                  split.owned_sources, split.configured_sources, info.source_label.c_str());
    } else {
      std::printf("%s: configuration OK (%zu jobs)\n", flags->config_file.c_str(), plan->jobs.size());
    }
    return rc;
  }
  App app(info, exporter, std::move(*flags));
  return app.Run();
}

}  // namespace estate
