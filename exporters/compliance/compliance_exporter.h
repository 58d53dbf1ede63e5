// The compliance exporter: one ReportStore (result folders, globs and the push spool) scanned by the job
// "scan" (group "files": it ticks every second and scans when one is due: the interval passed, a settling
// file is ready, or the push handler asked), which also renders the per-file families and report ages; and
// the job "reports" (group "metrics") that renders the report families whenever the store's data or the
// metric settings changed. /report and /report/<host> (report_html.h) and POST /data-collector/v0/
// (data_collector.h) read the same store.
//
// Thread-safety: Load() and AddRoutes() run on the control thread; the jobs and HTTP handlers read the shared
// state concurrently (SharedState is thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "compliance_config.h"
#include "compliance_metrics.h"
#include "data_collector.h"
#include "estate/app.h"
#include "report_store.h"

namespace estate::compliance {

// What the jobs and handlers share: the store and the current config. Thread-safe.
class SharedState {
 public:
  explicit SharedState(std::shared_ptr<ReportStore> store) : store_(std::move(store)) {}
  ReportStore& store() { return *store_; }
  const std::shared_ptr<ReportStore>& store_ptr() const { return store_; }
  std::shared_ptr<const ComplianceConfig> config() const;
  void SetConfig(std::shared_ptr<const ComplianceConfig> config);
  // Bumped with every new config: the report families are rendered again.
  std::uint64_t config_version() const;

 private:
  std::shared_ptr<ReportStore> store_;
  mutable std::mutex mu_;
  std::shared_ptr<const ComplianceConfig> config_;
  std::uint64_t config_version_ = 0;
};

// The store's options from the config (spool included when push is enabled).
StoreOptions StoreOptionsFrom(const ComplianceConfig& config);

class ComplianceExporter final : public Exporter {
 public:
  ComplianceExporter();
  // Tests: a store with its own parser or clock.
  explicit ComplianceExporter(std::shared_ptr<ReportStore> store);
  ~ComplianceExporter() override;

  Result<Plan> Load(const std::string& config_path, const Services& services) override;
  void AddRoutes(web::HttpServer& server, const Services& services) override;

  // Everything Load() does after reading the file (tests build configs in memory); an error when the push
  // endpoint cannot use its tokens file or spool directory.
  Result<Plan> BuildPlan(const ComplianceConfig& config, const Services& services = {});
  const std::shared_ptr<SharedState>& state() const { return state_; }

 private:
  struct Render;
  std::shared_ptr<SharedState> state_;
  std::shared_ptr<Render> render_;
  std::unique_ptr<DataCollector> push_;  // made by the first Load (it registers its counters there)
};

ExporterInfo ComplianceExporterInfo();

}  // namespace estate::compliance
