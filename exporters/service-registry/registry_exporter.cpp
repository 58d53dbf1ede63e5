#include "registry_exporter.h"

#include <malloc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <limits>
#include <utility>

#include "estate/atomic_file.h"
#include "estate/log.h"
#include "estate/openstack/nova.h"
#include "estate/openstack/session.h"
#include "inventory_file.h"
#include "registry_api.h"
#include "report_html.h"
#include "servicenow_client.h"

namespace estate::registry {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double RefreshTimeout(const RegistryConfig& config, double interval) {
  return std::max(interval, 20 * config.request_timeout_seconds);
}

std::string NovaSource(const CloudConfig& c) { return "nova:" + c.name; }
constexpr const char* kFileSource = "inventory_file";

}  // namespace

// ---- the wiring of the real clients
// ------------------------------------------------------------------------

namespace {

std::string LowerAscii(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// One cloud: the servers of all projects (with project names when Keystone lets us list them) and, when the
// teams order uses them, the aggregates' metadata. Aggregates or project names that fail keep their last good
// values and make the refresh partial; the server listing failing fails it (the job keeps its last snapshot).
Result<NovaCollector> MakeNovaCollector(const RegistryConfig& config, const CloudConfig& c,
                                        http::HttpClient& http) {
  openstack::SessionOptions o;
  o.cloud = c.name;
  o.auth_url = c.auth_url;
  o.region = c.region;
  o.interface = c.interface;
  o.auth = c.auth;
  o.services = {openstack::kCompute};
  o.http = HttpOptions(config, NovaSource(c), c.ca_file, c.insecure, UpstreamAuth{});
  auto session = std::make_shared<openstack::Session>(http, std::move(o));
  openstack::NovaOptions nova;
  nova.paging.page_size = c.page_size;
  nova.microversion = c.nova_microversion;
  const auto& order = config.teams.order;
  const bool aggregates = std::find(order.begin(), order.end(), "aggregate") != order.end();
  const std::string key = config.teams.aggregate_metadata_key;
  struct Kept {
    std::map<std::string, std::string> projects;  // id -> name
    std::map<std::string, std::vector<TeamHint>> teams;
  };
  auto kept = std::make_shared<Kept>();
  NovaCollector collector;
  collector.collect = [session, nova, aggregates, key, kept](const Budget& budget) -> Result<NovaCollect> {
    session->BeginCollect();
    auto servers = openstack::ListServers(*session, nova, budget);
    if (!servers) return MakeError(servers.error());
    NovaCollect out;
    bool forbidden = false;
    auto projects = openstack::ListProjects(*session, nova.paging, budget, &forbidden);
    if (projects) {
      kept->projects.clear();
      for (const auto& [id, name] : *projects) kept->projects[id] = name.str();
    } else if (!forbidden) {
      out.partial = true;
      log::Warn("Keystone project listing failed; last known project names kept",
                {{"err", projects.error()}});
    }
    out.inventory.vms.reserve(servers->size());
    for (const auto& s : *servers) {
      Vm vm;
      vm.id = s.id.str();
      vm.name = s.host_name.empty() ? s.name.str() : s.host_name.str();
      vm.hypervisor = s.hypervisor_hostname.empty() ? s.hypervisor.str() : s.hypervisor_hostname.str();
      vm.status = s.status.str();
      auto p = kept->projects.find(s.project_id.str());
      vm.project = p != kept->projects.end() ? p->second : s.project_id.str();
      out.inventory.vms.push_back(std::move(vm));
    }
    if (aggregates) {
      auto list = openstack::ListAggregates(*session, nova, budget);
      if (list) {
        kept->teams.clear();
        for (const auto& [host, values] : openstack::MetadataByHost(*list, key)) {
          std::vector<TeamHint> hints;
          for (const auto& v : values) hints.push_back({v.value, "aggregate:" + v.aggregate});
          const std::string lower = LowerAscii(std::string(host));
          kept->teams[lower] = hints;
          kept->teams.emplace(lower.substr(0, lower.find('.')), hints);
        }
      } else {
        out.partial = true;
        log::Warn("Nova aggregate listing failed; last known aggregate teams kept", {{"err", list.error()}});
      }
      out.aggregate_teams = kept->teams;
    }
    return out;
  };
  collector.on_remove = [session] {
    Budget budget;
    budget.deadline = Clock::now() + std::chrono::seconds(3);
    session->RevokeToken(budget);
  };
  return collector;
}

}  // namespace

SourceFactory DefaultSources() {
  SourceFactory f;
  f.servicenow = [](const RegistryConfig& config, http::HttpClient& http) -> Result<CmdbCollector> {
    const ServiceNowConfig& s = config.servicenow;
    ServiceNowOptions o;
    o.url = s.url;
    o.tables = s.tables;
    o.query = s.query;
    o.app_code_field = s.app_code_field;
    o.name_field = s.name_field;
    o.owner_field = s.owner_field;
    o.support_group_field = s.support_group_field;
    o.unregistered_install_status = s.unregistered_install_status;
    o.page_size = s.page_size;
    o.server_table = s.server_table;
    o.server_name_field = s.server_name_field;
    o.server_support_group_field = s.server_support_group_field;
    o.http = HttpOptions(config, "servicenow", s.ca_file, s.insecure, s.auth);
    auto client = std::make_shared<ServiceNowClient>(http, std::move(o));
    return CmdbCollector{[client](const Budget& budget) { return client->Collect(budget); }};
  };
  f.gocd = [](const RegistryConfig& config, http::HttpClient& http) -> Result<GocdCollector> {
    const GocdConfig& g = config.gocd;
    GocdOptions o;
    o.url = g.url;
    for (const auto& p : g.app_pipeline_patterns) o.pipeline_patterns.push_back(PipelineFetchPattern(p));
    o.window_days = g.window_days;
    o.page_size = g.page_size;
    o.http = HttpOptions(config, "gocd", g.ca_file, g.insecure, g.auth);
    auto client = std::make_shared<GocdClient>(http, std::move(o));
    return GocdCollector{[client](const Budget& budget) { return client->Collect(budget); }};
  };
  f.nova = [](const RegistryConfig& config, const CloudConfig& cloud,
              http::HttpClient& http) -> Result<NovaCollector> {
    return MakeNovaCollector(config, cloud, http);
  };
  return f;
}

// ---- CountingHttpClient
// ------------------------------------------------------------------------------------

Result<http::Response> CountingHttpClient::Do(const http::Request& request,
                                              const http::ClientOptions& options, const Budget& budget) {
  auto r = inner_.Do(request, options, budget);
  std::lock_guard<std::mutex> lock(mu_);
  by_status_[r ? std::to_string(r->status) : "error"] += 1;
  return r;
}

std::map<std::string, double> CountingHttpClient::ByStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_status_;
}

double CountingHttpClient::Total() const {
  std::lock_guard<std::mutex> lock(mu_);
  double total = 0;
  for (const auto& [status, n] : by_status_) total += n;
  return total;
}

// ---- SharedState
// -------------------------------------------------------------------------------------------

void SharedState::SetInventory(const std::string& source, std::shared_ptr<const InventorySnapshot> snapshot,
                               std::map<std::string, std::vector<TeamHint>> aggregate_teams) {
  std::lock_guard<std::mutex> lock(mu_);
  inventories_[source] = std::move(snapshot);
  aggregate_teams_[source] = std::move(aggregate_teams);
  ++generation_;
}

void SharedState::SetCmdb(std::shared_ptr<const CmdbSnapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  cmdb_ = std::move(snapshot);
  ++generation_;
}

void SharedState::SetGocd(std::shared_ptr<const GocdSnapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  gocd_ = std::move(snapshot);
  ++generation_;
}

void SharedState::SetTeamRules(std::shared_ptr<const std::vector<TeamRule>> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  team_rules_ = std::move(rules);
  ++generation_;
}

void SharedState::Configure(std::vector<std::string> inventory_sources, bool registry_configured,
                            bool gocd_configured, bool teams_file_configured, JoinOptions options) {
  std::lock_guard<std::mutex> lock(mu_);
  inventory_sources_ = std::move(inventory_sources);
  auto configured = [&](const std::string& s) {
    return std::find(inventory_sources_.begin(), inventory_sources_.end(), s) != inventory_sources_.end();
  };
  std::erase_if(inventories_, [&](const auto& kv) { return !configured(kv.first); });
  std::erase_if(aggregate_teams_, [&](const auto& kv) { return !configured(kv.first); });
  registry_configured_ = registry_configured;
  if (!registry_configured) cmdb_.reset();
  if (!gocd_configured) gocd_.reset();
  if (!teams_file_configured) team_rules_.reset();
  options_ = std::move(options);
  ++generation_;
}

JoinInputs SharedState::Inputs(JoinOptions* options, std::uint64_t* generation) const {
  std::lock_guard<std::mutex> lock(mu_);
  JoinInputs in;
  for (const auto& source : inventory_sources_) {
    if (auto it = inventories_.find(source); it != inventories_.end()) in.inventories.push_back(it->second);
    if (auto it = aggregate_teams_.find(source); it != aggregate_teams_.end()) {
      for (const auto& [hv, hints] : it->second) {
        auto& out = in.aggregate_teams[hv];
        out.insert(out.end(), hints.begin(), hints.end());
      }
    }
  }
  in.registry_configured = registry_configured_;
  in.cmdb = cmdb_;
  in.gocd = gocd_;
  in.team_rules = team_rules_;
  if (options != nullptr) *options = options_;
  if (generation != nullptr) *generation = generation_;
  return in;
}

std::uint64_t SharedState::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

std::shared_ptr<const RegistryView> SharedState::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void SharedState::Publish(std::shared_ptr<const RegistryView> view) {
  std::shared_ptr<const RegistryView> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(current_);
    current_ = std::move(view);
  }
}

// ---- the join job
// ------------------------------------------------------------------------------------------

// Owns the first-seen store (one writer: the join job, which the refresher never runs twice at once).
struct RegistryExporter::Join {
  std::mutex mu;  // guards everything below; held for one whole join
  std::string state_file;
  double forget_after = 30 * 86400.0;
  std::unique_ptr<FirstSeenStore> store;
  std::uint64_t joined_generation = 0;
  double save_failures = 0;

  Result<metrics::Families> Run(SharedState& state) {
    std::lock_guard<std::mutex> lock(mu);
    const double now = UnixNow();
    if (!store) {
      store = std::make_unique<FirstSeenStore>(state_file, forget_after);
      auto loaded = store->Load();
      if (!loaded) {
        auto aside = SetAsideCorruptFile(state_file, now);
        const std::string kept = aside ? *aside : aside.error();
        log::Error("first-seen state file unusable; starting empty",
                   {{"err", loaded.error()}, {"kept_as", kept}});
      } else if (!state_file.empty()) {
        log::Info("first-seen state loaded",
                  {{"file", state_file}, {"apps", std::to_string(store->entries().size())}});
      }
    }
    JoinOptions options;
    std::uint64_t generation = 0;
    JoinInputs in = state.Inputs(&options, &generation);
    auto view = std::make_shared<RegistryView>(registry::Join(in, options, now));
    store->Update(view->apps, view->registry_known, now);
    if (store->dirty()) {
      if (auto saved = store->Save(); !saved) {
        save_failures += 1;
        log::Error("cannot save the first-seen state file", {{"file", state_file}, {"err", saved.error()}});
      }
    }
    state.Publish(view);
    joined_generation = generation;
    metrics::Families families = RenderView(*view);
    auto failures = metrics::Counter("estate_registry_state_save_failures_total",
                                     "Failed writes of the first-seen state file since start.");
    metrics::Add(failures, {}, save_failures);
    families.push_back(std::move(failures));
    malloc_trim(0);
    return families;
  }
};

// ---- the exporter
// ------------------------------------------------------------------------------------------

RegistryExporter::RegistryExporter(SourceFactory sources)
    : sources_(std::move(sources)),
      state_(std::make_shared<SharedState>()),
      join_(std::make_shared<Join>()) {}
RegistryExporter::~RegistryExporter() = default;

Result<Plan> RegistryExporter::BuildPlan(const RegistryConfig& config, http::HttpClient& http) {
  if (http_ != &http || !servicenow_http_) {
    http_ = &http;
    servicenow_http_ = std::make_shared<CountingHttpClient>(http);
    gocd_http_ = std::make_shared<CountingHttpClient>(http);
    collectors_.clear();
  }
  Plan plan;
  plan.allow_empty = config.allow_empty;
  std::map<std::string, std::pair<std::string, std::shared_ptr<void>>> next;
  auto state = state_;
  // A collector made anew only when its settings changed, so that its state survives a reload.
  auto reuse = [&](const std::string& key, const std::string& fp) -> std::shared_ptr<void> {
    auto it = collectors_.find(key);
    return it != collectors_.end() && it->second.first == fp ? it->second.second : nullptr;
  };

  std::vector<std::string> inventory_sources;
  for (const auto& c : config.clouds) {
    const std::string source = NovaSource(c);
    const std::string fp = Fingerprint(config, c);
    auto collector = std::static_pointer_cast<NovaCollector>(reuse(source, fp));
    if (!collector) {
      if (!sources_.nova) return MakeError("inventory.clouds: no OpenStack client");
      auto made = sources_.nova(config, c, http);
      if (!made) return MakeError(made.error());
      collector = std::make_shared<NovaCollector>(std::move(*made));
    }
    next[source] = {fp, collector};
    inventory_sources.push_back(source);
    JobSpec job;
    job.source = source;
    job.group = "inventory";
    job.interval_seconds = c.interval_seconds;
    job.timeout_seconds = RefreshTimeout(config, c.interval_seconds);
    job.fingerprint = fp;
    job.collect = [collector, state, source](const Budget& budget) -> Result<metrics::Families> {
      auto got = collector->collect(budget);
      if (!got) return MakeError(got.error());
      got->inventory.collected_unix = UnixNow();
      for (auto& vm : got->inventory.vms) vm.source = source;
      state->SetInventory(source, std::make_shared<const InventorySnapshot>(std::move(got->inventory)),
                          std::move(got->aggregate_teams));
      malloc_trim(0);
      return metrics::Families{SourcePartialFamily(source, got->partial)};
    };
    if (collector->on_remove) job.on_remove = collector->on_remove;
    plan.jobs.push_back(std::move(job));
  }

  if (!config.inventory_files.empty()) {
    inventory_sources.push_back(kFileSource);
    JobSpec job;
    job.source = kFileSource;
    job.group = "inventory";
    job.interval_seconds = config.file_interval_seconds;
    std::string fp;
    for (const auto& f : config.inventory_files) fp += f + '\n';
    job.fingerprint = fp + std::to_string(config.file_interval_seconds);
    // Per file, its last good VMs: a file that fails (being rewritten, a typo) keeps them.
    auto last_good = std::make_shared<std::map<std::string, std::vector<Vm>>>();
    const std::vector<std::string> files = config.inventory_files;
    job.collect = [files, last_good, state](const Budget&) -> Result<metrics::Families> {
      auto snapshot = std::make_shared<InventorySnapshot>();
      std::string errors;
      std::size_t failed = 0;
      for (const auto& f : files) {
        auto vms = LoadInventoryFile(f);
        if (vms) {
          (*last_good)[f] = std::move(*vms);
        } else {
          ++failed;
          errors += (errors.empty() ? "" : "; ") + vms.error();
        }
        if (auto it = last_good->find(f); it != last_good->end()) {
          snapshot->vms.insert(snapshot->vms.end(), it->second.begin(), it->second.end());
        }
      }
      if (failed == files.size()) return MakeError(errors);
      if (failed > 0) log::Warn("inventory files failed; their last good VMs are kept", {{"err", errors}});
      snapshot->collected_unix = UnixNow();
      state->SetInventory(kFileSource, std::move(snapshot));
      return metrics::Families{SourcePartialFamily(kFileSource, failed > 0)};
    };
    plan.jobs.push_back(std::move(job));
  }

  if (config.servicenow.enabled) {
    const std::string fp = Fingerprint(config, config.servicenow);
    auto collector = std::static_pointer_cast<CmdbCollector>(reuse("servicenow", fp));
    if (!collector) {
      if (!sources_.servicenow) return MakeError("servicenow: no ServiceNow client");
      auto made = sources_.servicenow(config, *servicenow_http_);
      if (!made) return MakeError(made.error());
      collector = std::make_shared<CmdbCollector>(std::move(*made));
    }
    next["servicenow"] = {fp, collector};
    JobSpec job;
    job.source = "servicenow";
    job.group = "cmdb";
    job.interval_seconds = config.servicenow.interval_seconds;
    job.timeout_seconds = RefreshTimeout(config, job.interval_seconds);
    job.fingerprint = fp;
    auto counting = servicenow_http_;
    job.collect = [collector, state, counting](const Budget& budget) -> Result<metrics::Families> {
      auto got = collector->collect(budget);
      if (!got) return MakeError(got.error());
      got->collected_unix = UnixNow();
      state->SetCmdb(std::make_shared<const CmdbSnapshot>(std::move(*got)));
      RequestCounters counters;
      counters.servicenow_requests = counting->ByStatus();
      if (auto it = counters.servicenow_requests.find("429"); it != counters.servicenow_requests.end()) {
        counters.servicenow_rate_limited = it->second;
      }
      metrics::Families families = ServiceNowCounterFamilies(counters);
      families.push_back(SourcePartialFamily("servicenow", false));
      return families;
    };
    plan.jobs.push_back(std::move(job));
  }

  if (config.gocd.enabled) {
    const std::string fp = Fingerprint(config, config.gocd);
    auto collector = std::static_pointer_cast<GocdCollector>(reuse("gocd", fp));
    if (!collector) {
      if (!sources_.gocd) return MakeError("gocd: no GoCD client");
      auto made = sources_.gocd(config, *gocd_http_);
      if (!made) return MakeError(made.error());
      collector = std::make_shared<GocdCollector>(std::move(*made));
    }
    next["gocd"] = {fp, collector};
    JobSpec job;
    job.source = "gocd";
    job.group = "gocd";
    job.interval_seconds = config.gocd.interval_seconds;
    job.timeout_seconds = RefreshTimeout(config, job.interval_seconds);
    job.fingerprint = fp;
    auto counting = gocd_http_;
    job.collect = [collector, state, counting](const Budget& budget) -> Result<metrics::Families> {
      auto got = collector->collect(budget);
      if (!got) return MakeError(got.error());
      for (const auto& e : got->errors) log::Warn("GoCD request failed; previous runs kept", {{"err", e}});
      got->snapshot.collected_unix = UnixNow();
      state->SetGocd(std::make_shared<const GocdSnapshot>(std::move(got->snapshot)));
      RequestCounters counters;
      counters.gocd_requests = counting->Total();
      metrics::Families families = GocdCounterFamilies(counters);
      families.push_back(SourcePartialFamily("gocd", got->partial));
      return families;
    };
    plan.jobs.push_back(std::move(job));
  }

  const bool teams_file =
      !config.teams.file.empty() &&
      std::find(config.teams.order.begin(), config.teams.order.end(), "file") != config.teams.order.end();
  if (teams_file) {
    JobSpec job;
    job.source = "teams_file";
    job.group = "teams";
    job.interval_seconds = config.teams.file_interval_seconds;
    job.fingerprint = config.teams.file + "|" + std::to_string(config.teams.file_interval_seconds);
    const std::string file = config.teams.file;
    job.collect = [file, state](const Budget&) -> Result<metrics::Families> {
      auto rules = LoadTeamsFile(file);
      if (!rules) return MakeError(rules.error());
      state->SetTeamRules(std::make_shared<const std::vector<TeamRule>>(std::move(*rules)));
      return metrics::Families{SourcePartialFamily("teams_file", false)};
    };
    plan.jobs.push_back(std::move(job));
  }
  collectors_ = std::move(next);

  JoinOptions options;
  options.rules = config.rules;
  options.team_order = config.teams.order;
  for (const auto& p : config.gocd.app_pipeline_patterns) {
    auto re = CompilePipelinePattern(p);
    if (re) options.pipeline_patterns.push_back(std::move(*re));
  }
  options.top_users = config.top_users;
  options.window_seconds = config.gocd.window_days * 86400.0;
  state_->Configure(std::move(inventory_sources), config.servicenow.enabled, config.gocd.enabled, teams_file,
                    std::move(options));
  {
    std::lock_guard<std::mutex> lock(join_->mu);
    if (join_->state_file != config.state_file || join_->forget_after != config.forget_after_seconds) {
      join_->store.reset();  // loaded from the (new) file on the next join
    }
    join_->state_file = config.state_file;
    join_->forget_after = config.forget_after_seconds;
    join_->joined_generation = 0;
  }
  if (config.state_file.empty()) {
    log::Warn(
        "no report.state_file configured: first-seen times are kept in memory only and lost on restart");
  }

  JobSpec join;
  join.source = "registry";
  join.group = "join";
  join.interval_seconds = config.join_interval_seconds;
  join.max_age_seconds = std::numeric_limits<double>::infinity();  // as old as its inputs, which say so
  join.fingerprint = "join";
  auto join_state = join_;
  join.unchanged = [join_state, state] {
    std::lock_guard<std::mutex> lock(join_state->mu);
    return join_state->joined_generation == state->generation();
  };
  join.collect = [join_state, state](const Budget&) { return join_state->Run(*state); };
  plan.jobs.push_back(std::move(join));

  plan.landing_dynamic_html = [state] {
    auto view = state->Current();
    return LandingHtml(view.get());
  };
  return plan;
}

Result<Plan> RegistryExporter::Load(const std::string& config_path, const Services& services) {
  auto config = LoadConfig(config_path);
  if (!config) return MakeError(config.error());
  if (services.http == nullptr) return MakeError("no HTTP client");
  for (const auto& c : config->clouds) {
    if (c.insecure) log::Warn("OpenStack TLS verification disabled by config", {{"source", NovaSource(c)}});
  }
  if (config->servicenow.insecure) log::Warn("ServiceNow TLS verification disabled by config");
  if (config->gocd.insecure) log::Warn("GoCD TLS verification disabled by config");
  return BuildPlan(*config, *services.http);
}

void RegistryExporter::AddRoutes(web::HttpServer& server, const Services&) {
  auto state = state_;
  AddApiRoutes(server, [state] { return state->Current(); });
  server.Route("/report", {"GET"}, [state](const web::HttpRequest&) {
    auto view = state->Current();
    return ReportPage(view.get());
  });
}

ExporterInfo RegistryExporterInfo() {
  ExporterInfo info;
  info.name = "service-registry";
  info.ns = "estate_registry";
  info.description =
      "Apps (by the TLA in their VMs' host names) that run VMs without a registered ServiceNow CMDB record, "
      "with "
      "the hypervisor teams and GoCD pipeline users to ask (metrics, JSON API, /report)";
  info.default_listen = ":9843";
  info.default_config = "/etc/estate/service-registry.yml";
  info.source_label = "source";
  info.refresh_workers = 4;
  return info;
}

}  // namespace estate::registry
