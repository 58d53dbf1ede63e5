// The storage-mapping exporter: one background job per OpenStack cloud (group "openstack") and per Pure
// FlashArray (group "pure"), each on its own interval, that keep the last good snapshot of their source; and a
// join job (source "mapping", group "join") that joins the latest snapshots whenever one of them changed, folds
// in the history of past mappings (persisted to a state file), publishes the Mapping for the JSON API and the
// lookup page, and renders the mapping's metric families.
//
// Thread-safety: Load() and AddRoutes() run on the control thread. SharedState is thread-safe: source jobs, the
// join job and HTTP handlers use it concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "estate/app.h"
#include "storage_config.h"
#include "storage_history.h"
#include "storage_join.h"
#include "storage_model.h"

namespace estate::storage {

class SharedState {
 public:
  void SetCloud(const std::string& name, std::shared_ptr<const CloudSnapshot> snapshot);
  void SetArray(const std::string& name, std::shared_ptr<const ArraySnapshot> snapshot);
  // Keeps only the named sources (after a reload), so removed clouds and arrays leave the join.
  void Retain(const StorageConfig& config);

  std::shared_ptr<const Mapping> Current() const;
  void Publish(std::shared_ptr<const Mapping> mapping);

  struct Inputs {
    std::uint64_t generation = 0;
    std::vector<std::shared_ptr<const CloudSnapshot>> clouds;
    std::vector<std::shared_ptr<const ArraySnapshot>> arrays;
    std::vector<std::string> clouds_without_data;  // configured, never collected
    std::vector<std::string> arrays_without_data;
  };
  Inputs Snapshot() const;
  std::uint64_t generation() const;

 private:
  mutable std::mutex mu_;
  std::uint64_t generation_ = 1;
  std::vector<std::string> cloud_names_;
  std::vector<std::string> array_names_;
  std::map<std::string, std::shared_ptr<const CloudSnapshot>> clouds_;
  std::map<std::string, std::shared_ptr<const ArraySnapshot>> arrays_;
  std::shared_ptr<const Mapping> current_;
};

class StorageExporter final : public Exporter {
 public:
  StorageExporter();
  ~StorageExporter() override;
  Result<Plan> Load(const std::string& config_path, const Services& services) override;
  void AddRoutes(web::HttpServer& server, const Services& services) override;

  // Everything Load() does after reading the file (tests build configs in memory).
  Result<Plan> BuildPlan(const StorageConfig& config, http::HttpClient& http);
  const std::shared_ptr<SharedState>& state() const { return state_; }

 private:
  struct Join;
  std::shared_ptr<SharedState> state_;
  std::shared_ptr<Join> join_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<void>>> clients_;  // name -> (fingerprint, client)
};

ExporterInfo StorageExporterInfo();

}  // namespace estate::storage
