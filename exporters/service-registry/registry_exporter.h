// The service-registry exporter: background jobs per source, each keeping its last good snapshot —
//   "nova:<cloud>" (group inventory): the cloud's servers (and, for teams, its aggregates' metadata);
//   "inventory_file" (group inventory): the static inventory files (a file that fails keeps its last good VMs
//       and makes the source partial);
//   "servicenow" (group cmdb), "gocd" (group gocd), "teams_file" (group teams);
// and a join job (source "registry", group "join") that joins the latest snapshots whenever one changed,
// updates and persists the first-seen store, publishes the RegistryView for /report and the JSON API, and
// renders the view's metric families.
//
// The upstream clients are reached through SourceFactory, so that tests use fakes: DefaultSources() in
// registry_exporter.cpp builds the real ServiceNow, GoCD and Nova collectors (the wiring point).
//
// Thread-safety: Load() and AddRoutes() run on the control thread; SharedState is thread-safe and shared by
// the jobs and the HTTP handlers.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "estate/app.h"
#include "first_seen_store.h"
#include "gocd_client.h"
#include "registry_config.h"
#include "registry_join.h"
#include "registry_metrics.h"

namespace estate::registry {

// What a Nova cloud's refresh delivers.
struct NovaCollect {
  InventorySnapshot inventory;
  // Lower-cased hypervisor (short and full) -> teams named by its aggregates' metadata
  // (teams.aggregate_metadata_key).
  std::map<std::string, std::vector<TeamHint>> aggregate_teams;
  bool partial = false;  // e.g. the aggregates failed and the last good ones were kept
};

struct CmdbCollector {
  std::function<Result<CmdbSnapshot>(const Budget&)> collect;
};
struct GocdCollector {
  std::function<Result<GocdCollect>(const Budget&)> collect;
};
struct NovaCollector {
  std::function<Result<NovaCollect>(const Budget&)> collect;
  std::function<void()> on_remove;  // optional (e.g. revoke the token)
};

// Makes a source's collector. Called on a (re)load only when that source's settings changed (its
// fingerprint), so a client keeps its state (GoCD's last counters, a Keystone token) across reloads. An error
// fails the load.
struct SourceFactory {
  std::function<Result<CmdbCollector>(const RegistryConfig&, http::HttpClient&)> servicenow;
  std::function<Result<GocdCollector>(const RegistryConfig&, http::HttpClient&)> gocd;
  std::function<Result<NovaCollector>(const RegistryConfig&, const CloudConfig&, http::HttpClient&)> nova;
};

// The real clients (those compiled into this build); see registry_exporter.cpp.
SourceFactory DefaultSources();

// Counts each answer of the wrapped client by HTTP status ("error" when none arrived). Thread-safe.
class CountingHttpClient final : public http::HttpClient {
 public:
  explicit CountingHttpClient(http::HttpClient& inner) : inner_(inner) {}
  Result<http::Response> Do(const http::Request& request, const http::ClientOptions& options,
                            const Budget& budget) override;
  std::map<std::string, double> ByStatus() const;
  double Total() const;

 private:
  http::HttpClient& inner_;
  mutable std::mutex mu_;
  std::map<std::string, double> by_status_;
};

class SharedState {
 public:
  void SetInventory(const std::string& source, std::shared_ptr<const InventorySnapshot> snapshot,
                    std::map<std::string, std::vector<TeamHint>> aggregate_teams = {});
  void SetCmdb(std::shared_ptr<const CmdbSnapshot> snapshot);
  void SetGocd(std::shared_ptr<const GocdSnapshot> snapshot);
  void SetTeamRules(std::shared_ptr<const std::vector<TeamRule>> rules);
  // After a (re)load: the inventory sources in order, whether a registry is configured, and the join
  // settings. Sources no longer configured leave the join; a source turned off (servicenow, gocd, teams file)
  // is dropped.
  void Configure(std::vector<std::string> inventory_sources, bool registry_configured, bool gocd_configured,
                 bool teams_file_configured, JoinOptions options);

  JoinInputs Inputs(JoinOptions* options, std::uint64_t* generation) const;
  std::uint64_t generation() const;

  std::shared_ptr<const RegistryView> Current() const;
  void Publish(std::shared_ptr<const RegistryView> view);

 private:
  mutable std::mutex mu_;
  std::uint64_t generation_ = 1;
  std::vector<std::string> inventory_sources_;
  std::map<std::string, std::shared_ptr<const InventorySnapshot>> inventories_;
  std::map<std::string, std::map<std::string, std::vector<TeamHint>>> aggregate_teams_;
  bool registry_configured_ = false;
  std::shared_ptr<const CmdbSnapshot> cmdb_;
  std::shared_ptr<const GocdSnapshot> gocd_;
  std::shared_ptr<const std::vector<TeamRule>> team_rules_;
  JoinOptions options_;
  std::shared_ptr<const RegistryView> current_;
};

class RegistryExporter final : public Exporter {
 public:
  explicit RegistryExporter(SourceFactory sources = DefaultSources());
  ~RegistryExporter() override;
  Result<Plan> Load(const std::string& config_path, const Services& services) override;
  void AddRoutes(web::HttpServer& server, const Services& services) override;

  // Everything Load() does after reading the file (tests build configs in memory).
  Result<Plan> BuildPlan(const RegistryConfig& config, http::HttpClient& http);
  const std::shared_ptr<SharedState>& state() const { return state_; }

 private:
  struct Join;
  SourceFactory sources_;
  std::shared_ptr<SharedState> state_;
  std::shared_ptr<Join> join_;
  // source name -> (fingerprint, collector), kept across reloads while the fingerprint stays.
  std::map<std::string, std::pair<std::string, std::shared_ptr<void>>> collectors_;
  std::shared_ptr<CountingHttpClient> servicenow_http_, gocd_http_;
  http::HttpClient* http_ = nullptr;
};

ExporterInfo RegistryExporterInfo();

}  // namespace estate::registry
