#include "compliance_exporter.h"

#include <malloc.h>

#include <algorithm>
#include <limits>
#include <sstream>
#include <utility>

#include "estate/http_server.h"
#include "estate/log.h"
#include "report_html.h"

namespace estate::compliance {

std::shared_ptr<const ComplianceConfig> SharedState::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

void SharedState::SetConfig(std::shared_ptr<const ComplianceConfig> config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = std::move(config);
  ++config_version_;
}

std::uint64_t SharedState::config_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_version_;
}

StoreOptions StoreOptionsFrom(const ComplianceConfig& c) {
  StoreOptions o;
  o.paths = c.scan_paths;
  if (c.push_enabled) o.spool_dir = c.push_spool_dir;
  o.interval_seconds = c.scan_interval_seconds;
  o.settle_seconds = c.settle_seconds;
  o.host_from_path = c.host_from_path;
  o.retention_seconds = c.retention_seconds;
  o.parse_threads = 2;
  return o;
}

// The report families' render: redone only when the store's generation or the config changed.
struct ComplianceExporter::Render {
  std::mutex mu;
  std::uint64_t generation = 0;
  std::uint64_t config_version = 0;

  bool Unchanged(const SharedState& state) {
    std::lock_guard<std::mutex> lock(mu);
    return generation == state.store_ptr()->generation() && config_version == state.config_version();
  }

  Result<RenderedData> Run(SharedState& state) {
    std::lock_guard<std::mutex> lock(mu);
    const std::uint64_t version = state.config_version();
    auto config = state.config();
    auto snap = state.store().Snapshot();
    RenderedData data = RenderReports(*snap, MetricsOptionsFrom(*config));
    generation = snap->generation;
    config_version = version;
    snap.reset();
    malloc_trim(0);
    return data;
  }
};

ComplianceExporter::ComplianceExporter()
    : ComplianceExporter(std::make_shared<ReportStore>(StoreOptions{})) {}

ComplianceExporter::ComplianceExporter(std::shared_ptr<ReportStore> store)
    : state_(std::make_shared<SharedState>(std::move(store))), render_(std::make_shared<Render>()) {}

ComplianceExporter::~ComplianceExporter() = default;

namespace {

// The landing page's summary of result files that do not parse (computed when the page is served).
std::string FileErrorsHtml(const ReportStore& store) {
  auto snap = store.Snapshot();
  std::size_t down = 0;
  for (const auto& f : snap->files) down += f.up ? 0 : 1;
  std::ostringstream h;
  h << "<h2>Reports</h2><p>" << snap->reports.size() << " reports from " << snap->files.size()
    << " result files; <a href=\"/report\">the HTML report</a>";
  if (snap->pending > 0) h << "; " << snap->pending << " files waiting to be read (settling or changing)";
  h << ".</p>";
  if (down == 0) return h.str();
  h << "<p class=\"down\">" << down << " result files do not parse (their last good report is kept):</p>"
    << "<table><tr><th>file</th><th>last error</th><th>failed reads</th><th>last good report</th></tr>";
  std::size_t shown = 0;
  for (const auto& f : snap->files) {
    if (f.up) continue;
    if (++shown > 100) {
      h << "<tr><td colspan=\"4\">… and " << (down - 100)
        << " more (estate_compliance_file_up == 0)</td></tr>";
      break;
    }
    h << "<tr><td>" << web::HtmlEscape(f.path) << "</td><td>" << web::HtmlEscape(f.last_error) << "</td><td>"
      << f.parse_errors << "</td><td>" << (f.report ? "kept" : "none") << "</td></tr>";
  }
  h << "</table>";
  return h.str();
}

}  // namespace

Result<Plan> ComplianceExporter::BuildPlan(const ComplianceConfig& config, const Services& services) {
  // The push endpoint first: a tokens file or spool it cannot use fails the load (the previous config stays).
  if (!push_) {
    // The parser's own cap is above any push.max_body_bytes; the endpoint enforces that one.
    push_ = std::make_unique<DataCollector>(ReportParser(std::size_t{1} << 30), services.registry);
    std::weak_ptr<SharedState> weak = state_;
    push_->SetOnStored([weak](const std::string&, const Report&) {
      if (auto state = weak.lock()) state->store().RequestRescan();
    });
  }
  DataCollectorOptions push;
  push.enabled = config.push_enabled;
  push.tokens_file = config.push_tokens_file;
  push.spool_dir = config.push_spool_dir;
  push.max_body_bytes = config.push_max_body_bytes;
  push.retention_seconds = config.retention_seconds;
  if (auto ok = push_->Configure(push); !ok) return MakeError("push: " + ok.error());

  auto shared = std::make_shared<const ComplianceConfig>(config);
  state_->SetConfig(shared);
  state_->store().Configure(StoreOptionsFrom(config));
  auto state = state_;
  Plan plan;
  plan.allow_empty = config.allow_empty;

  // The scan job ticks every second (at most the interval) and scans when one is due; a first scan of
  // thousands of reports may take minutes: what was read before the deadline is kept.
  JobSpec scan;
  scan.source = "scan";
  scan.group = "files";
  scan.interval_seconds = std::min(1.0, config.scan_interval_seconds);
  scan.timeout_seconds = 600;
  scan.max_age_seconds = std::numeric_limits<double>::infinity();
  scan.fingerprint = "scan";
  scan.unchanged = [state] { return !state->store().ScanDue(); };
  scan.collect_rendered = [state](const Budget& budget) -> Result<RenderedData> {
    ScanStats stats = state->store().Scan(budget);
    // Every scan at debug (compliance_bench reads its figures from these lines); one that read at info.
    log::Write(stats.read > 0 || stats.removed > 0 ? log::Level::kInfo : log::Level::kDebug, "scanned",
               {{"files", std::to_string(stats.files)},
                {"read", std::to_string(stats.read)},
                {"failed", std::to_string(stats.failed)},
                {"deferred", std::to_string(stats.deferred)},
                {"removed", std::to_string(stats.removed)},
                {"seconds", std::to_string(stats.seconds)}});
    return RenderFiles(*state->store().Snapshot());
  };
  plan.jobs.push_back(std::move(scan));

  JobSpec reports;
  reports.source = "reports";
  reports.group = "metrics";
  reports.interval_seconds = 1;
  reports.timeout_seconds = 300;
  reports.max_age_seconds = std::numeric_limits<double>::infinity();
  reports.fingerprint = "reports";
  auto render = render_;
  reports.unchanged = [render, state] { return render->Unchanged(*state); };
  reports.collect_rendered = [render, state](const Budget&) { return render->Run(*state); };
  plan.jobs.push_back(std::move(reports));

  plan.landing_dynamic_html = [state] { return FileErrorsHtml(state->store()); };
  return plan;
}

Result<Plan> ComplianceExporter::Load(const std::string& config_path, const Services& services) {
  auto config = LoadConfig(config_path);
  if (!config) return MakeError(config.error());
  return BuildPlan(*config, services);
}

void ComplianceExporter::AddRoutes(web::HttpServer& server, const Services&) {
  // POST /data-collector/v0/ (and without the slash): spooled before the 200, then a rescan is requested.
  if (push_) push_->AddRoutes(server);
  // GET /report and /report/<host>: the host page reads each slim report of the host whole again.
  auto state = state_;
  AddReportRoutes(
      server, [state] { return state->store().Snapshot()->reports; },
      [state](const std::string& file) { return state->store().ReadFull(file); },
      [state] {
        LinkSettings links;
        if (auto config = state->config()) links.doc_url_templates = config->doc_url_templates;
        return links;
      });
}

ExporterInfo ComplianceExporterInfo() {
  ExporterInfo info;
  info.name = "compliance";
  info.ns = "estate_compliance";
  info.description =
      "Compliance results (InSpec, HDF, OpenSCAP XCCDF/ARF) from result folders and InSpec's data-collector "
      "push, as metrics with links to control docs and an HTML report";
  info.default_listen = ":9842";
  info.default_config = "/etc/estate/compliance.yml";
  info.source_label = "source";
  info.refresh_workers = 2;
  return info;
}

}  // namespace estate::compliance
