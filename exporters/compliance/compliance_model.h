// The compliance exporter's model: one shape for every report format (InSpec exec JSON 1.x-6.x, the Automate
// envelope, HDF, json-min, OpenSCAP XCCDF 1.1/1.2 results, ARF). Parsers (inspec_parse, xccdf_parse) produce
// a Report; the store keeps the newest Report per (host, profile set); metrics and the HTML report read it.
// Plain values: copy freely; no locking inside.
//
// The status model (docs/compliance.md has the table per format):
//   passed          every result passed
//   failed          a result failed (RSpec::Core::MultipleExceptionError without a backtrace included)
//   error           a result carries an exception AND a backtrace: the check itself is broken
//   not_applicable  impact 0 (InSpec), notapplicable (XCCDF)
//   not_reviewed    skipped / no results / notchecked (manual review needed)
//   waived          skipped because of a waiver (run: false, not expired)
// A waived control that ran and still fails is `failed` with waived = true. An expired waiver evaluates
// normally (waived = false, the expiry is still reported).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estate/text.h"

namespace estate::compliance {

enum class Status { kPassed, kFailed, kError, kNotApplicable, kNotReviewed, kWaived };
inline constexpr std::size_t kStatusCount = 6;
inline constexpr std::array<Status, kStatusCount> kAllStatuses = {
    Status::kPassed,        Status::kFailed,      Status::kError,
    Status::kNotApplicable, Status::kNotReviewed, Status::kWaived};

// InSpec/Heimdall impact bands: < 0.1 none, < 0.4 low, < 0.7 medium, < 0.9 high, else critical. XCCDF's
// severity attribute: unknown, info (-> none), low, medium, high; absent -> unknown.
enum class Severity { kNone, kLow, kMedium, kHigh, kCritical, kUnknown };
inline constexpr std::size_t kSeverityCount = 6;
inline constexpr std::array<Severity, kSeverityCount> kAllSeverities = {
    Severity::kNone, Severity::kLow,      Severity::kMedium,
    Severity::kHigh, Severity::kCritical, Severity::kUnknown};

// Label values: "passed", "failed", "error", "not_applicable", "not_reviewed", "waived".
const char* StatusName(Status s);
// Label values: "none", "low", "medium", "high", "critical", "unknown".
const char* SeverityName(Severity s);
Severity SeverityFromImpact(double impact);
Severity SeverityFromXccdf(std::string_view severity_attribute);
// Higher is worse: critical > high > medium > low > none > unknown is NOT implied; this orders for floors:
// none 0, unknown 0, low 1, medium 2, high 3, critical 4.
int SeverityRank(Severity s);

enum class Format {
  kUnknown,
  kInspecJson,  // inspec exec --reporter json (1.x-6.x)
  kAutomate,    // the automate reporter's envelope (report_uuid, node_name, ...)
  kHdf,         // MITRE HDF, also converted from other tools (passthrough, different generator)
  kJsonMin,     // inspec json-min: one row per result, no profiles: degraded (documented)
  kXccdf11,     // XCCDF 1.1 Benchmark/TestResult
  kXccdf12,     // XCCDF 1.2
  kArf,         // ARF 1.1 (asset report collection) holding XCCDF 1.2 results; also when bzip2-compressed
};
const char* FormatName(
    Format f);  // "inspec_json", "automate", "hdf", "json_min", "xccdf_1.1", "xccdf_1.2", "arf"

struct Control {
  std::string id;           // control id or XCCDF rule idref
  std::string profile;      // name of the (leaf) profile the control's results come from
  Text title;               // shared: the store interns titles and doc links, which every host repeats
  std::string description;  // desc (InSpec) / rule description (XCCDF), plain text, may be long
  double impact = -1;       // InSpec impact 0..1; -1 when the format has none
  Severity severity = Severity::kUnknown;
  Status status = Status::kNotReviewed;
  bool waived = false;             // a waiver applies: status waived, or failed while waived
  double waiver_expires_unix = 0;  // 0 = none or no expiry date
  std::string waiver_justification;
  // Messages of non-passing results (failure message, skip message, exception), each at most 1 KiB, at
  // most 8.
  std::vector<std::string> messages;
  // Identifiers for documentation links: {"stig", "V-38437"}, {"cis", "1.1.1"}, {"xccdf", "xccdf_org..."},
  // {"nist", "AC-3"}, {"cci", "CCI-000366"}, ... as found in tags, refs and XCCDF idents.
  std::vector<std::pair<std::string, std::string>> ids;
  Text doc_url;  // from refs (url) or tags; empty when none (the config's template may fill it)
  double duration_seconds = 0;  // sum of result run_time, when present
};

struct Profile {
  std::string name;
  std::string version;
  std::string title;
  std::string status;          // "loaded", "skipped", "failed" (InSpec); "loaded" for XCCDF benchmarks
  std::string status_message;  // status_message / skip_message
  int controls = 0;            // leaf controls counted for this profile after de-duplication
};

struct Report {
  Format format = Format::kUnknown;
  // Identity, in the default order: the Automate node_name, platform.target_id, the XCCDF target. Empty when
  // the report names no host (the store then uses the configured path pattern or the file name).
  std::string host;
  std::string host_source;  // "node_name", "target_id", "xccdf_target", "" (none)
  std::string platform_name, platform_release;
  std::string tool, tool_version;  // "inspec" "4.18.5", "oscap" "1.3.7", HDF generator name and version
  double time_unix = 0;  // the report's own end time (end_time, latest start_time, end-time); 0 = none
  double duration_seconds = -1;    // statistics.duration or end - start; -1 = unknown
  std::vector<Profile> profiles;   // every profile listed, wrappers included (de-duplicated by name+version)
  std::vector<Control> controls;   // leaf controls with results, de-duplicated (overlays, repeated profiles)
  bool degraded = false;           // json-min and similar: no profile versions, impacts or descriptions
  std::vector<std::string> notes;  // why degraded, what was dropped (for the log and the landing page)
};

// A report as the store keeps it: the parsed report and where it came from. Shared immutable once stored.
struct StoredReport {
  Report report;
  std::string host;         // resolved identity: report.host, else the path pattern, else the file stem
  std::string source_file;  // the result file (a scanned folder's or the push spool's)
  bool pushed = false;      // arrived through /data-collector/v0/
  double file_mtime_unix = 0;
  double time_unix = 0;          // report.time_unix, else the file's mtime
  std::string html_report_file;  // an OpenSCAP HTML report next to the results file (same stem, .html)
  // Leaf controls per (leaf) profile by status and severity, counted before the store slims the report (so
  // metrics and the /report index never need report.controls in full). Filled by the store.
  struct Counts {
    std::string profile;
    std::array<std::array<int, kSeverityCount>, kStatusCount> n{};  // [Status][Severity]
  };
  std::vector<Counts> counts;
  // true: report.controls keeps only the controls that need a per-control view (not passed and not
  // not_applicable, or with a waiver expiry), without description and messages (and without ids when doc_url
  // is set), so that 10,000 reports fit in memory; ReportStore::ReadFull(source_file) parses the file again
  // for the whole report (the host page).
  bool slim = false;
};
using ReportSet = std::vector<std::shared_ptr<const StoredReport>>;

}  // namespace estate::compliance
