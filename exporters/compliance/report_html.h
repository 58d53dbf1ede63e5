// The compliance exporter's HTML report: the pages a person opens from an alert's report link.
//
// GET /report[?sort=host|score|failures|age[&order=asc|desc]]
//   Every host in the current ReportSet, one row each: its score (passed / (passed + failed + error +
//   not_reviewed) over the leaf controls of all its reports, as estate_compliance_ratio; "n/a" when that
//   denominator is 0), its failing controls (failed + error) by severity, not reviewed and waived counts, the
//   time and age of its oldest report (a host with one stale report looks stale), and the tools. Sorted on
//   the server, so the column links work without JavaScript: host A-Z, score worst first (n/a last), failures
//   worst first (critical, then high, medium, low, other), age oldest first; order= reverses; an unknown
//   value is the default (host).
// GET /report/<host>   (<host> percent-encoded, as ReportUrl gives it)
//   One host: each report (profiles and versions, tool, format, time, age, duration, source, notes, the
//   OpenSCAP HTML report link), the score, then its controls grouped by status — failed, error, not_reviewed,
//   waived open; not_applicable and passed collapsed in <details> — and within a status by severity
//   (critical, high, medium, low, none, unknown), then by id. Each control: id, title, severity, profile,
//   description, failure messages, waiver (justification, expiry, or expired), documentation links.
//   404 (an HTML page) for a host with no report.
// GET /report/<host>/openscap[?file=<name>]
//   The OpenSCAP HTML report named by a StoredReport's html_report_file for that host (the first, or the one
//   whose file name is <name>); nothing else is ever served from disk. 404 when the host has none or the file
//   cannot be read. Served in a CSP sandbox without network access (its own inline script runs, it cannot
//   reach this exporter's origin).
//
// Everything taken from a report is HTML-escaped (invalid UTF-8 shown as U+FFFD), links from reports are
// used only when they are http(s), and the pages carry a Content-Security-Policy without any script-src: the
// pages have no script, so none from a report could run. Plain HTML and CSS, readable on a phone (viewport,
// one column of cards) and printable (@media print).
//
// DOM contract (for browser tests):
//   /report: table#hosts > tbody > tr.host[data-host]; td[data-field=X] for X in host (an <a> to the host
//     page), score (data-value = ratio, "" when n/a), failing, critical, high, medium, low, other,
//     not_reviewed, waived, time, age, tool; th a.sort[data-sort=host|score|failures|age]; the current sort's
//     th has aria-sort.
//   /report/<host>: h1#host; section.status[data-status] > h2 (status and count), div.severity[data-severity]
//     > article.control[data-control][data-status][data-severity] with .cid, .title, .desc, ul.messages,
//     p.waiver, p.docs a.doc; a#openscap-<n> links to the OpenSCAP report(s).
//
// Pure functions over a ReportSet and `now`; thread-safe. AddReportRoutes reads the snapshot per request.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compliance_model.h"
#include "estate/http_server.h"
#include "estate/result.h"

namespace estate::compliance {

// What the pages take from the config's links: section. Doc links come from compliance_metrics.h's DocUrl, as
// on the metrics, and are shown only when they are http(s). The pages link relatively (they work behind a
// path prefix), so report_base_url plays no part here.
struct LinkSettings {
  std::map<std::string, std::string> doc_url_templates;  // id kind -> URL with {id}
};

// The whole report behind a slim StoredReport (ReportStore::ReadFull(source_file)): the host page shows every
// control with its description and messages. Empty, or an error: the stored controls are shown, with a note.
using FullReportReader = std::function<Result<Report>(const std::string& source_file)>;

enum class SortKey { kHost, kScore, kFailures, kAge };
struct SortOrder {
  SortKey key = SortKey::kHost;
  bool descending = false;  // reversed from the key's default direction ("order=" given against it)
};
// From the query parameters sort= and order= (see above); unknown values give the default.
SortOrder ParseSortOrder(std::string_view sort, std::string_view order);

// One host's row of /report.
struct HostSummary {
  std::string host;
  int reports = 0;
  std::array<int, kStatusCount> by_status{};              // indexed by static_cast<size_t>(Status)
  std::array<int, kSeverityCount> failing_by_severity{};  // failed + error, indexed by Severity
  int failing = 0;                                        // failed + error
  double score = -1;       // -1: n/a (no passed, failed, error or not_reviewed)
  double oldest_unix = 0;  // the oldest report time (time_unix)
  double newest_unix = 0;
  std::vector<std::string> tools;  // "inspec 5.22.3", distinct, in report order
};
// Hosts of the set, sorted by `order`; reports with an empty host are left out. Counts come from
// StoredReport::counts when the store filled them (a slim report keeps only some controls), else from the
// controls.
std::vector<HostSummary> SummarizeHosts(const ReportSet& reports, const SortOrder& order);

// The pages' HTML. RenderHostPage: nullopt when no report names that host.
std::string RenderIndexPage(const ReportSet& reports, const SortOrder& order, double now_unix);
std::optional<std::string> RenderHostPage(const ReportSet& reports, std::string_view host,
                                          const LinkSettings& links, double now_unix,
                                          const FullReportReader& read_full = {});
std::string RenderNotFoundPage(std::string_view what);

// Answers a GET of /report or of a path under /report/ (req.path as the server gives it: decoded) with the
// headers above: 200, 404 (unknown host, no OpenSCAP report) as HTML pages.
web::HttpResponse HandleReportRequest(const web::HttpRequest& req, const ReportSet& reports,
                                      const LinkSettings& links, double now_unix,
                                      const FullReportReader& read_full = {});

using ReportSnapshot = std::function<ReportSet()>;
using LinkSource = std::function<LinkSettings()>;
// Registers GET /report and GET /report/*; each request reads snapshot() and links() once, and the host page
// read_full() for each slim report of its host.
void AddReportRoutes(web::HttpServer& server, ReportSnapshot snapshot, FullReportReader read_full,
                     LinkSource links);

}  // namespace estate::compliance
