#include "storage_exporter.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "estate/log.h"
#include "openstack_client.h"
#include "pure_client.h"
#include "storage_api.h"
#include "storage_metrics.h"

namespace estate::storage {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "host", "host:port" or a URL; a bare host means https (http:// is kept as given, e.g. for the simulator).
std::string WithScheme(const std::string& address) {
  if (address.rfind("https://", 0) == 0 || address.rfind("http://", 0) == 0) return address;
  return "https://" + address;
}

http::ClientOptions HttpOptions(const StorageConfig& config, const std::string& source, const std::string& ca_file,
                                bool insecure) {
  http::ClientOptions o;
  o.source = source;
  o.timeout_seconds = config.request_timeout_seconds;
  o.connect_timeout_seconds = std::min(10.0, config.request_timeout_seconds);
  o.ca_file = ca_file;
  o.insecure_skip_verify = insecure;
  // Listings of 1,000 volumes with attachments and metadata run to a few MB; 256 MB leaves room for huge pages.
  o.max_body_bytes = 256u << 20;
  return o;
}

// A refresh may take longer than the interval: listing a large cloud page by page takes what it takes, and the
// next refresh starts an interval after this one ends. Cut it off only when it is clearly stuck.
double RefreshTimeout(const StorageConfig& config, double interval) {
  return std::max(interval, 20 * config.request_timeout_seconds);
}

}  // namespace

// ---- SharedState -------------------------------------------------------------------------------------------

void SharedState::SetCloud(const std::string& name, std::shared_ptr<const CloudSnapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  clouds_[name] = std::move(snapshot);
  ++generation_;
}

void SharedState::SetArray(const std::string& name, std::shared_ptr<const ArraySnapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  arrays_[name] = std::move(snapshot);
  ++generation_;
}

void SharedState::Retain(const StorageConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  cloud_names_.clear();
  array_names_.clear();
  for (const auto& c : config.clouds) cloud_names_.push_back(c.name);
  for (const auto& a : config.arrays) array_names_.push_back(a.name);
  std::erase_if(clouds_, [&](const auto& kv) {
    return std::find(cloud_names_.begin(), cloud_names_.end(), kv.first) == cloud_names_.end();
  });
  std::erase_if(arrays_, [&](const auto& kv) {
    return std::find(array_names_.begin(), array_names_.end(), kv.first) == array_names_.end();
  });
  ++generation_;
}

std::shared_ptr<const Mapping> SharedState::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void SharedState::Publish(std::shared_ptr<const Mapping> mapping) {
  std::shared_ptr<const Mapping> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(current_);
    current_ = std::move(mapping);
  }
  // `old` (possibly 100k rows) is freed here, outside the lock, unless an API request still holds it.
}

SharedState::Inputs SharedState::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  Inputs in;
  in.generation = generation_;
  for (const auto& name : cloud_names_) {
    auto it = clouds_.find(name);
    if (it != clouds_.end() && it->second) {
      in.clouds.push_back(it->second);
    } else {
      in.clouds_without_data.push_back(name);
    }
  }
  for (const auto& name : array_names_) {
    auto it = arrays_.find(name);
    if (it != arrays_.end() && it->second) {
      in.arrays.push_back(it->second);
    } else {
      in.arrays_without_data.push_back(name);
    }
  }
  return in;
}

std::uint64_t SharedState::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

// ---- The join job ------------------------------------------------------------------------------------------

// Owns the history (one writer: the join job, which the refresher never runs twice at once) and the join config.
struct StorageExporter::Join {
  std::mutex mu;  // guards everything below; held for one whole join
  JoinConfig config;
  std::string history_path;
  HistoryOptions history_options;
  std::unique_ptr<History> history;
  std::uint64_t joined_generation = 0;
  double save_failures = 0;
  double last_save_unix = 0;

  Result<RenderedData> Run(const std::shared_ptr<SharedState>& state) {
    std::lock_guard<std::mutex> lock(mu);
    SharedState::Inputs in = state->Snapshot();
    const double now = UnixNow();
    if (!history) {
      std::string warning;
      history = std::make_unique<History>(LoadOrStartEmpty(history_path, history_options, now, &warning));
      if (!warning.empty()) log::Error("history state file unusable; starting empty", {{"err", warning}});
      if (!history_path.empty() && warning.empty()) {
        log::Info("history loaded", {{"file", history_path}, {"entries", std::to_string(history->remembered())}});
      }
    }
    Mapping joined = storage::Join(in.clouds, in.arrays, config, now);
    // The history keeps this mapping too (its current rows are the history's): no copy.
    std::shared_ptr<const Mapping> published = history->Publish(std::move(joined), now);
    joined_generation = in.generation;
    if (history->dirty()) {
      auto saved = history->Save();
      if (saved) {
        last_save_unix = now;
      } else {
        save_failures += 1;
        log::Error("cannot save the history state file", {{"file", history_path}, {"err", saved.error()}});
      }
    }
    // Rendered straight to text: the mapping's ClientMetric objects would cost ~250 MB at 100k volumes.
    RenderedData data = RenderMapping(*published);
    // The API and the lookup page get this mapping only once /metrics serves it: a reader who saw it there
    // and then scrapes never gets an older mapping (issue #14).
    data.on_served = [weak = std::weak_ptr<SharedState>(state), published]() mutable {
      if (auto s = weak.lock()) s->Publish(std::move(published));
    };
    published.reset();
    if (!history_path.empty()) {
      auto failures = metrics::Counter("estate_storage_history_save_failures_total",
                                       "Failed writes of the history state file since start.");
      metrics::Add(failures, {}, save_failures);
      AppendFamily(data, failures);
      auto saved = metrics::Gauge("estate_storage_history_last_save_timestamp_seconds",
                                  "Unix time of the last successful write of the history state file (0 = none yet).");
      metrics::Add(saved, {}, last_save_unix);
      AppendFamily(data, saved);
    }
    // The join's temporaries and the previous mapping (once no request holds it) are tens of MB at 100k
    // volumes: hand the freed pages back rather than let the heap keep them until the next join.
    malloc_trim(0);
    return data;
  }
};

// ---- The exporter ------------------------------------------------------------------------------------------

StorageExporter::StorageExporter() : state_(std::make_shared<SharedState>()), join_(std::make_shared<Join>()) {}
StorageExporter::~StorageExporter() = default;

Result<Plan> StorageExporter::BuildPlan(const StorageConfig& config, http::HttpClient& http) {
  Plan plan;
  std::map<std::string, std::pair<std::string, std::shared_ptr<void>>> next;
  auto state = state_;

  for (const auto& c : config.clouds) {
    const std::string fp = Fingerprint(config, c);
    std::shared_ptr<OpenStackClient> client;
    if (auto it = clients_.find("cloud/" + c.name); it != clients_.end() && it->second.first == fp) {
      client = std::static_pointer_cast<OpenStackClient>(it->second.second);
    } else {
      OpenStackOptions o;
      o.cloud = c.name;
      o.auth_url = c.auth_url;
      o.region = c.region;
      o.interface = c.interface;
      o.auth = c.auth;
      o.page_size = c.page_size;
      o.cinder_microversion = c.cinder_microversion;
      o.nova_microversion = c.nova_microversion;
      o.http = HttpOptions(config, c.name, c.ca_file, c.insecure);
      client = std::make_shared<OpenStackClient>(http, std::move(o));
    }
    next["cloud/" + c.name] = {fp, client};
    JobSpec job;
    job.source = c.name;
    job.group = "openstack";
    job.interval_seconds = config.CloudInterval(c);
    job.timeout_seconds = RefreshTimeout(config, job.interval_seconds);
    job.fingerprint = fp;
    const std::string name = c.name;
    job.collect = [client, state, name](const Budget& budget) -> Result<metrics::Families> {
      auto snapshot = client->Collect(budget);
      if (!snapshot) return MakeError(snapshot.error());
      auto shared = std::make_shared<const CloudSnapshot>(std::move(*snapshot));
      if (!shared->admin.complete()) {
        std::string fields;
        for (const auto& f : shared->admin.missing_fields) fields += (fields.empty() ? "" : ",") + f;
        log::Warn("OpenStack listing lacks admin-only fields: the mapping is incomplete (does the account have "
                  "the admin or reader role with all_tenants?)",
                  {{"source", name}, {"missing", fields}});
      }
      state->SetCloud(name, shared);
      // The replaced snapshot and the parse's buffers are freed now: hand their pages back.
      malloc_trim(0);
      return CloudFamilies(*shared);
    };
    job.on_remove = [client] {
      Budget budget;
      budget.deadline = Clock::now() + std::chrono::seconds(3);
      client->RevokeToken(budget);
    };
    plan.jobs.push_back(std::move(job));
  }

  for (const auto& a : config.arrays) {
    const std::string fp = Fingerprint(config, a);
    std::shared_ptr<PureClient> client;
    if (auto it = clients_.find("array/" + a.name); it != clients_.end() && it->second.first == fp) {
      client = std::static_pointer_cast<PureClient>(it->second.second);
    } else {
      PureOptions o;
      o.array = a.name;
      o.address = WithScheme(a.address);
      o.api_token = a.api_token;
      o.api_version = a.api_version;
      o.page_size = a.page_size;
      o.read_tags = a.read_tags;
      o.http = HttpOptions(config, a.name, a.ca_file, a.insecure);
      client = std::make_shared<PureClient>(http, std::move(o));
    }
    next["array/" + a.name] = {fp, client};
    JobSpec job;
    job.source = a.name;
    job.group = "pure";
    job.interval_seconds = config.ArrayInterval(a);
    job.timeout_seconds = RefreshTimeout(config, job.interval_seconds);
    job.fingerprint = fp;
    const std::string name = a.name;
    job.collect = [client, state, name](const Budget& budget) -> Result<metrics::Families> {
      auto snapshot = client->Collect(budget);
      if (!snapshot) return MakeError(snapshot.error());
      auto shared = std::make_shared<const ArraySnapshot>(std::move(*snapshot));
      state->SetArray(name, shared);
      malloc_trim(0);  // as for a cloud snapshot
      return ArrayFamilies(*shared);
    };
    job.on_remove = [client] {
      Budget budget;
      budget.deadline = Clock::now() + std::chrono::seconds(3);
      client->Logout(budget);
    };
    plan.jobs.push_back(std::move(job));
  }
  clients_ = std::move(next);
  state_->Retain(config);

  {
    std::lock_guard<std::mutex> lock(join_->mu);
    JoinConfig jc;
    for (const auto& c : config.clouds) jc.clouds.push_back({c.name, c.array_backends});
    for (const auto& a : config.arrays) jc.arrays.push_back(a.name);
    join_->config = std::move(jc);
    HistoryOptions ho;
    ho.retention_seconds = config.history_retention_seconds;
    // A new state file (or retention) takes effect by loading that file on the next join.
    if (join_->history_path != config.history_state_file ||
        join_->history_options.retention_seconds != ho.retention_seconds) {
      join_->history.reset();
    }
    join_->history_path = config.history_state_file;
    join_->history_options = ho;
    join_->joined_generation = 0;  // the config changed: join again
  }
  if (config.history_state_file.empty()) {
    log::Warn("no history.state_file configured: past mappings are kept in memory only and lost on restart");
  }

  JobSpec join;
  join.source = "mapping";
  join.group = "join";
  join.interval_seconds = config.join_interval_seconds;
  // The join's data is only as old as its inputs, and the sources' own staleness is on their series: it never
  // ages out. (The default, 3 intervals + timeout = 20 s, dropped the whole mapping from /metrics while a long
  // join ran on a busy machine.)
  join.max_age_seconds = std::numeric_limits<double>::infinity();
  join.fingerprint = "join";
  auto join_state = join_;
  join.unchanged = [join_state, state] {
    std::lock_guard<std::mutex> lock(join_state->mu);
    return join_state->joined_generation == state->generation();
  };
  join.collect_rendered = [join_state, state](const Budget&) { return join_state->Run(state); };
  plan.jobs.push_back(std::move(join));

  plan.landing_html =
      "<p>Look up a volume: <a href=\"/lookup\">/lookup</a> &middot; JSON API: "
      "<a href=\"/api/cvm/v1.0/volumes\">/api/cvm/v1.0/volumes</a>, "
      "<code>/api/cvm/v1.0/volumes/&lt;cinder id | array volume | serial | WWID&gt;</code></p>";
  return plan;
}

Result<Plan> StorageExporter::Load(const std::string& config_path, const Services& services) {
  auto config = LoadConfig(config_path);
  if (!config) return MakeError(config.error());
  if (services.http == nullptr) return MakeError("no HTTP client");
  for (const auto& c : config->clouds) {
    if (c.insecure) log::Warn("OpenStack TLS verification disabled by config", {{"source", c.name}});
  }
  for (const auto& a : config->arrays) {
    if (a.insecure) log::Warn("array TLS verification disabled by config", {{"source", a.name}});
  }
  return BuildPlan(*config, *services.http);
}

void StorageExporter::AddRoutes(web::HttpServer& server, const Services&) {
  auto state = state_;
  AddApiRoutes(server, [state] { return state->Current(); });
}

ExporterInfo StorageExporterInfo() {
  ExporterInfo info;
  info.name = "storage-mapping";
  info.ns = "estate_storage";
  info.description =
      "Pure FlashArray volumes mapped to OpenStack Cinder volumes, Nova servers and hypervisors (metrics, JSON API, "
      "lookup page)";
  info.default_listen = ":9841";
  info.default_config = "/etc/estate/storage-mapping.yml";
  info.source_label = "source";
  info.refresh_workers = 4;
  return info;
}

}  // namespace estate::storage
