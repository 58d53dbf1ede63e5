#include "report_html.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <tuple>

#include "compliance_metrics.h"
#include "estate/log.h"
#include "estate/url.h"

namespace estate::compliance {
namespace {

// An OpenSCAP HTML report is a few MB; a larger file is not served (it is not one).
constexpr std::uintmax_t kMaxOpenscapBytes = std::uintmax_t{64} << 20;
constexpr std::string_view kOpenscapSuffix = "/openscap";

// No script-src at all: the pages have no script, so even markup that got past the escaping could not run
// one.
constexpr const char* kPageCsp =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";
// The OpenSCAP report's own inline script (its collapsible rules) runs, in a sandbox (an opaque origin) that
// may not connect anywhere: it cannot reach this exporter, /-/reload included.
constexpr const char* kOpenscapCsp =
    "sandbox allow-scripts allow-popups; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; font-src data:; connect-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

constexpr std::array<Status, kStatusCount> kStatusOrder = {Status::kFailed,        Status::kError,
                                                           Status::kNotReviewed,   Status::kWaived,
                                                           Status::kNotApplicable, Status::kPassed};
constexpr std::array<Severity, kSeverityCount> kSeverityOrder = {Severity::kCritical, Severity::kHigh,
                                                                 Severity::kMedium,   Severity::kLow,
                                                                 Severity::kNone,     Severity::kUnknown};

std::size_t Index(Status s) { return static_cast<std::size_t>(s); }
std::size_t Index(Severity s) { return static_cast<std::size_t>(s); }

const char* StatusHeading(Status s) {
  switch (s) {
    case Status::kPassed:
      return "Passed";
    case Status::kFailed:
      return "Failed";
    case Status::kError:
      return "Error (the check itself is broken)";
    case Status::kNotApplicable:
      return "Not applicable";
    case Status::kNotReviewed:
      return "Not reviewed";
    case Status::kWaived:
      return "Waived";
  }
  return "";
}

int SeverityPosition(Severity s) {
  for (std::size_t i = 0; i < kSeverityOrder.size(); ++i) {
    if (kSeverityOrder[i] == s) return static_cast<int>(i);
  }
  return static_cast<int>(kSeverityOrder.size());
}

bool IsHttpUrl(std::string_view u) {
  auto starts = [u](std::string_view prefix) {
    if (u.size() <= prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(u[i])) != prefix[i]) return false;
    }
    return true;
  };
  return starts("http://") || starts("https://");
}

std::string UtcTime(double unix_seconds) {
  if (unix_seconds <= 0) return "unknown";
  const auto t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string Rfc3339(double unix_seconds) {
  const auto t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
std::string Duration(double seconds) {
  const auto s = static_cast<long long>(std::floor(std::max(0.0, seconds)));
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld min", s / 60);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lld h %lld min", s / 3600, s % 3600 / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld d %lld h", s / 86400, s % 86400 / 3600);
  }
  return buf;
}

// Floored to 0.1 %, so that 100.0 % means every control passed.
std::string Percent(double ratio) {
  if (ratio < 0) return "n/a";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", std::floor(ratio * 1000 + 1e-9) / 10);
  return buf;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string FileName(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// The host's reports, in a stable order (the set's order may change between snapshots).
std::vector<const StoredReport*> ReportsOf(const ReportSet& reports, std::string_view host) {
  std::vector<const StoredReport*> out;
  for (const auto& r : reports) {
    if (r && r->host == host) out.push_back(r.get());
  }
  std::sort(out.begin(), out.end(), [](const StoredReport* a, const StoredReport* b) {
    return std::tie(a->source_file, a->time_unix) < std::tie(b->source_file, b->time_unix);
  });
  return out;
}

using CountMatrix = std::array<std::array<int, kSeverityCount>, kStatusCount>;  // [Status][Severity]

// The store's counts (made before it slimmed the report), else the controls'.
CountMatrix CountsOf(const StoredReport& sr) {
  CountMatrix n{};
  if (!sr.counts.empty()) {
    for (const auto& per_profile : sr.counts) {
      for (std::size_t st = 0; st < kStatusCount; ++st) {
        for (std::size_t sev = 0; sev < kSeverityCount; ++sev) n[st][sev] += per_profile.n[st][sev];
      }
    }
    return n;
  }
  for (const Control& c : sr.report.controls) ++n[Index(c.status)][Index(c.severity)];
  return n;
}

int StatusTotal(const CountMatrix& n, Status s) {
  int total = 0;
  for (int v : n[Index(s)]) total += v;
  return total;
}

class Html {
 public:
  Html& Raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  Html& Text(std::string_view s) {
    web::AppendHtmlEscaped(out_, s);
    return *this;
  }
  Html& Int(long long v) {
    out_.append(std::to_string(v));
    return *this;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

constexpr std::string_view kStyle = R"CSS(
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d0d4d9; --bad: #b3261e; --warn: #8a5a00; --ok: #1e7b34; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto;
  padding: 1em; max-width: 72em; line-height: 1.4; }
h1 { font-size: 1.5em; margin: .2em 0; overflow-wrap: anywhere; }
h2 { font-size: 1.2em; margin: 1.2em 0 .4em; }
h3 { font-size: 1em; margin: .8em 0 .3em; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
a { color: #0b57d0; }
.meta, .muted { color: var(--muted); font-size: .9em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { border-bottom: 1px solid var(--line); padding: .35em .5em; text-align: left; vertical-align: top; }
th { background: #f3f4f6; white-space: nowrap; }
th a.sort { color: inherit; text-decoration: none; }
th[aria-sort] a.sort { text-decoration: underline; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td[data-field="host"] { overflow-wrap: anywhere; font-weight: 600; }
td.zero { color: #aaa; }
td.bad, .bad { color: var(--bad); font-weight: 600; }
td.warn { color: var(--warn); }
.score-low { color: var(--bad); font-weight: 600; }
.score-mid { color: var(--warn); font-weight: 600; }
.score-high { color: var(--ok); font-weight: 600; }
.reports { display: grid; gap: .6em; grid-template-columns: repeat(auto-fill, minmax(18em, 1fr)); }
.report { border: 1px solid var(--line); border-radius: 6px; padding: .5em .8em; }
.report dl { display: grid; grid-template-columns: max-content 1fr; gap: .1em .8em; margin: .3em 0; }
.report dt { color: var(--muted); }
.report dd { margin: 0; overflow-wrap: anywhere; }
.counts { display: flex; flex-wrap: wrap; gap: .4em; padding: 0; list-style: none; }
.counts li { border: 1px solid var(--line); border-radius: 4px; padding: .15em .5em; }
article.control { border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 4px;
  padding: .5em .8em; margin: .5em 0; overflow-wrap: anywhere; break-inside: avoid; }
article.control[data-severity="critical"] { border-left-color: #7b1fa2; }
article.control[data-severity="high"] { border-left-color: var(--bad); }
article.control[data-severity="medium"] { border-left-color: #e37400; }
article.control[data-severity="low"] { border-left-color: #f9ab00; }
article.control h4 { margin: 0 0 .3em; font-size: 1em; }
.cid { font-family: ui-monospace, monospace; font-size: .9em; background: #f3f4f6; padding: 0 .3em; }
.tag { font-size: .75em; border: 1px solid currentColor; border-radius: 3px; padding: 0 .3em; margin-left: .3em;
  text-transform: uppercase; white-space: nowrap; }
.desc { white-space: pre-wrap; margin: .3em 0; }
ul.messages { margin: .3em 0; padding-left: 1.2em; }
ul.messages pre { white-space: pre-wrap; margin: 0; font-size: .85em; }
.waiver { background: #fdf6e3; padding: .2em .5em; }
.docs { font-size: .9em; }
details > summary { cursor: pointer; font-weight: 600; margin: 1em 0 .4em; }
@media (max-width: 40em) {
  body { padding: .6em; }
  th, td { padding: .3em; }
  .wide { display: none; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; }
  .scroll { overflow: visible; }
  nav, .noprint { display: none; }
  article.control { border-left-width: 3px; }
}
)CSS";

void Head(Html& h, std::string_view title) {
  h.Raw(
       "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<meta name=\"referrer\" content=\"no-referrer\">\n<title>")
      .Text(title)
      .Raw("</title>\n<style>")
      .Raw(kStyle)
      .Raw("</style>\n</head>\n<body>\n");
}

web::HttpResponse Page(int status, std::string body) {
  web::HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Content-Security-Policy", kPageCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.gzip_allowed = true;
  r.body = std::move(body);
  return r;
}

std::string ScoreClass(double score) {
  if (score < 0) return "";
  if (score < 0.8) return "score-low";
  if (score < 0.95) return "score-mid";
  return "score-high";
}

// ---- /report ---------------------------------------------------------------------------------------------

bool DefaultDescending(SortKey k) { return k == SortKey::kFailures || k == SortKey::kAge; }

const char* SortName(SortKey k) {
  switch (k) {
    case SortKey::kHost:
      return "host";
    case SortKey::kScore:
      return "score";
    case SortKey::kFailures:
      return "failures";
    case SortKey::kAge:
      return "age";
  }
  return "host";
}

// Failing controls, worst first: critical, then high, medium, low, then the rest.
std::array<int, 5> FailureWeight(const HostSummary& h) {
  const auto& f = h.failing_by_severity;
  return {f[Index(Severity::kCritical)], f[Index(Severity::kHigh)], f[Index(Severity::kMedium)],
          f[Index(Severity::kLow)], f[Index(Severity::kNone)] + f[Index(Severity::kUnknown)]};
}

// True when a sorts before b in the key's default direction (ties: by host).
bool Before(const HostSummary& a, const HostSummary& b, SortKey key) {
  switch (key) {
    case SortKey::kHost:
      break;
    case SortKey::kScore:
      // Worst first; n/a (-1) after every score.
      if (a.score != b.score) {
        if (a.score < 0) return false;
        if (b.score < 0) return true;
        return a.score < b.score;
      }
      break;
    case SortKey::kFailures:
      if (FailureWeight(a) != FailureWeight(b)) return FailureWeight(a) > FailureWeight(b);
      break;
    case SortKey::kAge:
      if (a.oldest_unix != b.oldest_unix) return a.oldest_unix < b.oldest_unix;
      break;
  }
  return a.host < b.host;
}

void SortHeader(Html& h, const SortOrder& current, SortKey key, std::string_view label, bool numeric) {
  const bool active = current.key == key;
  // A click on the current column reverses it; another column starts in its default direction.
  const bool next_reversed = active && !current.descending;
  const bool next_desc = DefaultDescending(key) != next_reversed;
  h.Raw("<th");
  if (numeric) h.Raw(" class=\"num\"");
  if (active) {
    const bool shown_desc = DefaultDescending(key) != current.descending;
    h.Raw(" aria-sort=\"").Raw(shown_desc ? "descending" : "ascending").Raw("\"");
  }
  h.Raw("><a class=\"sort\" data-sort=\"").Raw(SortName(key)).Raw("\" href=\"?sort=").Raw(SortName(key));
  if (next_reversed) h.Raw("&amp;order=").Raw(next_desc ? "desc" : "asc");
  h.Raw("\">").Text(label);
  if (active) h.Raw(DefaultDescending(key) != current.descending ? " &#9660;" : " &#9650;");
  h.Raw("</a></th>");
}

void CountCell(Html& h, const char* field, int n, const char* bad_class, const char* extra_class = nullptr) {
  h.Raw("<td data-field=\"").Raw(field).Raw("\" class=\"num");
  if (extra_class != nullptr) h.Raw(" ").Raw(extra_class);
  h.Raw(n == 0 ? " zero" : bad_class).Raw("\">").Int(n).Raw("</td>");
}

// ---- /report/<host>
// ----------------------------------------------------------------------------------------

void WaiverLine(Html& h, const Control& c, double now_unix) {
  if (!c.waived && c.waiver_expires_unix <= 0 && c.waiver_justification.empty()) return;
  const bool expired = c.waiver_expires_unix > 0 && c.waiver_expires_unix <= now_unix;
  h.Raw("<p class=\"waiver\" data-expires=\"");
  if (c.waiver_expires_unix > 0) h.Raw(Rfc3339(c.waiver_expires_unix));
  h.Raw("\"><strong>");
  if (expired) {
    h.Raw("Waiver expired");
  } else if (c.waived && c.status == Status::kFailed) {
    h.Raw("Waived, but still failing");
  } else {
    h.Raw("Waiver");
  }
  h.Raw("</strong>");
  if (!c.waiver_justification.empty()) h.Raw(": ").Text(c.waiver_justification);
  h.Raw(". ");
  if (c.waiver_expires_unix <= 0) {
    h.Raw("No expiry date.");
  } else if (expired) {
    h.Raw("Expired on <time datetime=\"")
        .Raw(Rfc3339(c.waiver_expires_unix))
        .Raw("\">")
        .Raw(UtcTime(c.waiver_expires_unix))
        .Raw("</time> (")
        .Raw(Duration(now_unix - c.waiver_expires_unix))
        .Raw(" ago); the control is evaluated normally.");
  } else {
    const bool soon = c.waiver_expires_unix - now_unix < 7 * 86400;
    h.Raw(soon ? "<span class=\"bad\">" : "<span>")
        .Raw("Expires on <time datetime=\"")
        .Raw(Rfc3339(c.waiver_expires_unix))
        .Raw("\">")
        .Raw(UtcTime(c.waiver_expires_unix))
        .Raw("</time> (in ")
        .Raw(Duration(c.waiver_expires_unix - now_unix))
        .Raw(")</span>.");
  }
  h.Raw("</p>\n");
}

void DocsLine(Html& h, const Control& c, const LinkSettings& links) {
  std::string doc = DocUrl(c, links.doc_url_templates);
  if (!IsHttpUrl(doc)) doc.clear();  // javascript: and the like never become a link
  if (doc.empty() && c.ids.empty()) return;
  h.Raw("<p class=\"docs\">");
  bool first = true;
  if (!doc.empty()) {
    h.Raw("<a class=\"doc\" rel=\"noopener noreferrer\" href=\"").Text(doc).Raw("\">Documentation</a>");
    first = false;
  }
  for (const auto& [kind, value] : c.ids) {
    h.Raw(first ? "" : " &middot; ")
        .Raw("<span class=\"ref\">")
        .Text(kind)
        .Raw(" ")
        .Text(value)
        .Raw("</span>");
    first = false;
  }
  h.Raw("</p>\n");
}

void ControlCard(Html& h, const Control& c, bool show_profile, const LinkSettings& links, double now_unix) {
  h.Raw("<article class=\"control\" data-control=\"")
      .Text(c.id)
      .Raw("\" data-status=\"")
      .Raw(StatusName(c.status))
      .Raw("\" data-severity=\"")
      .Raw(SeverityName(c.severity))
      .Raw("\">\n<h4><code class=\"cid\">")
      .Text(c.id)
      .Raw("</code> <span class=\"title\">")
      .Text(c.title.empty() ? std::string_view("(no title)") : std::string_view(c.title))
      .Raw("</span><span class=\"tag\">")
      .Raw(SeverityName(c.severity))
      .Raw("</span>");
  if (c.waived) h.Raw("<span class=\"tag\">waived</span>");
  h.Raw("</h4>\n");
  if (show_profile || c.impact >= 0) {
    h.Raw("<p class=\"muted\">");
    if (show_profile) h.Raw("Profile ").Text(c.profile);
    if (show_profile && c.impact >= 0) h.Raw(" &middot; ");
    if (c.impact >= 0) h.Raw("impact ").Raw(Number(c.impact));
    h.Raw("</p>\n");
  }
  if (!c.description.empty()) h.Raw("<p class=\"desc\">").Text(c.description).Raw("</p>\n");
  if (!c.messages.empty()) {
    h.Raw("<ul class=\"messages\">");
    for (const auto& m : c.messages) h.Raw("<li><pre>").Text(m).Raw("</pre></li>");
    h.Raw("</ul>\n");
  }
  WaiverLine(h, c, now_unix);
  DocsLine(h, c, links);
  h.Raw("</article>\n");
}

void ReportCard(Html& h, const StoredReport& sr, int openscap_index, std::string_view unavailable,
                double now_unix) {
  const Report& r = sr.report;
  h.Raw("<div class=\"report\"><dl>");
  for (const auto& p : r.profiles) {
    h.Raw("<dt>Profile</dt><dd>").Text(p.title.empty() ? p.name : p.title);
    if (!p.title.empty() && p.title != p.name) h.Raw(" <span class=\"muted\">(").Text(p.name).Raw(")</span>");
    if (!p.version.empty()) h.Raw(" ").Text(p.version);
    if (!p.status.empty() && p.status != "loaded") {
      h.Raw(" <span class=\"bad\">").Text(p.status);
      if (!p.status_message.empty()) h.Raw(": ").Text(p.status_message);
      h.Raw("</span>");
    }
    h.Raw("</dd>");
  }
  h.Raw("<dt>Tool</dt><dd>").Text(r.tool.empty() ? "unknown" : r.tool);
  if (!r.tool_version.empty()) h.Raw(" ").Text(r.tool_version);
  h.Raw(" <span class=\"muted\">(").Raw(FormatName(r.format)).Raw(")</span></dd>");
  if (!r.platform_name.empty()) {
    h.Raw("<dt>Platform</dt><dd>").Text(r.platform_name);
    if (!r.platform_release.empty()) h.Raw(" ").Text(r.platform_release);
    h.Raw("</dd>");
  }
  h.Raw("<dt>Time</dt><dd>");
  if (sr.time_unix > 0) {
    h.Raw("<time datetime=\"")
        .Raw(Rfc3339(sr.time_unix))
        .Raw("\">")
        .Raw(UtcTime(sr.time_unix))
        .Raw("</time>");
    h.Raw(" (").Raw(Duration(now_unix - sr.time_unix)).Raw(" ago)");
    if (r.time_unix <= 0) h.Raw(" <span class=\"muted\">file time</span>");
  } else {
    h.Raw("unknown");
  }
  h.Raw("</dd>");
  if (r.duration_seconds >= 0) h.Raw("<dt>Duration</dt><dd>").Raw(Duration(r.duration_seconds)).Raw("</dd>");
  h.Raw("<dt>Source</dt><dd>");
  if (sr.pushed) {
    h.Raw("pushed to /data-collector/v0/");
  } else {
    h.Text(FileName(sr.source_file));
  }
  h.Raw("</dd></dl>");
  if (r.degraded) h.Raw("<p class=\"warn\">Degraded format: fewer details than a full report.</p>");
  for (const auto& n : r.notes) h.Raw("<p class=\"muted\">").Text(n).Raw("</p>");
  if (!unavailable.empty()) {
    h.Raw("<p class=\"warn unavailable\">Details unavailable (")
        .Text(unavailable)
        .Raw("): only the controls that are not passing are listed, without descriptions and messages.</p>");
  }
  if (openscap_index >= 0) {
    h.Raw("<p><a id=\"openscap-")
        .Int(openscap_index)
        .Raw("\" href=\"")
        .Raw(url::EncodeComponent(sr.host))
        .Raw("/openscap?file=")
        .Raw(url::EncodeComponent(FileName(sr.html_report_file)))
        .Raw("\">OpenSCAP HTML report</a></p>");
  }
  h.Raw("</div>\n");
}

web::HttpResponse ServeOpenscap(const std::vector<const StoredReport*>& reports, std::string_view host,
                                std::string_view file) {
  const StoredReport* chosen = nullptr;
  for (const StoredReport* r : reports) {
    if (r->html_report_file.empty()) continue;
    if (file.empty() || FileName(r->html_report_file) == file) {
      chosen = r;
      break;
    }
  }
  const std::string what = "an OpenSCAP HTML report of host \"" + std::string(host) + "\"";
  if (chosen == nullptr) return Page(404, RenderNotFoundPage(what));
  std::error_code ec;
  const std::filesystem::path path(chosen->html_report_file);
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  std::string body;
  if (!ec && size <= kMaxOpenscapBytes) {
    std::ifstream in(path, std::ios::binary);
    body.resize(static_cast<std::size_t>(size));
    if (!in.read(body.data(), static_cast<std::streamsize>(size)))
      ec = std::make_error_code(std::errc::io_error);
  }
  if (ec || size > kMaxOpenscapBytes) {
    log::Warn("OpenSCAP HTML report not served",
              {{"file", chosen->html_report_file},
               {"reason", ec ? ec.message() : std::string_view("larger than 64 MiB")}});
    return Page(404, RenderNotFoundPage(what + " (the file cannot be read)"));
  }
  web::HttpResponse r = Page(200, std::move(body));
  r.headers.clear();
  r.headers.emplace_back("Content-Security-Policy", kOpenscapCsp);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

SortOrder ParseSortOrder(std::string_view sort, std::string_view order) {
  SortOrder o;
  if (sort == "score") {
    o.key = SortKey::kScore;
  } else if (sort == "failures") {
    o.key = SortKey::kFailures;
  } else if (sort == "age") {
    o.key = SortKey::kAge;
  } else {
    o.key = SortKey::kHost;
  }
  if (order == "asc" || order == "desc") o.descending = (order == "desc") != DefaultDescending(o.key);
  return o;
}

std::vector<HostSummary> SummarizeHosts(const ReportSet& reports, const SortOrder& order) {
  std::map<std::string_view, HostSummary> by_host;
  for (const auto& sr : reports) {
    if (!sr || sr->host.empty()) continue;
    HostSummary& h = by_host[sr->host];
    if (h.reports == 0) {
      h.host = sr->host;
      h.oldest_unix = sr->time_unix;
      h.newest_unix = sr->time_unix;
    }
    ++h.reports;
    h.oldest_unix = std::min(h.oldest_unix, sr->time_unix);
    h.newest_unix = std::max(h.newest_unix, sr->time_unix);
    std::string tool = sr->report.tool.empty() ? std::string("unknown") : sr->report.tool;
    if (!sr->report.tool_version.empty()) tool += " " + sr->report.tool_version;
    if (std::find(h.tools.begin(), h.tools.end(), tool) == h.tools.end()) h.tools.push_back(std::move(tool));
    const CountMatrix n = CountsOf(*sr);
    for (Status st : kAllStatuses) {
      for (Severity sev : kAllSeverities) {
        const int k = n[Index(st)][Index(sev)];
        h.by_status[Index(st)] += k;
        if (st == Status::kFailed || st == Status::kError) {
          h.failing += k;
          h.failing_by_severity[Index(sev)] += k;
        }
      }
    }
  }
  std::vector<HostSummary> out;
  out.reserve(by_host.size());
  for (auto& [name, h] : by_host) {
    const int passed = h.by_status[Index(Status::kPassed)];
    const int denominator = passed + h.failing + h.by_status[Index(Status::kNotReviewed)];
    h.score = denominator > 0 ? static_cast<double>(passed) / denominator : -1;
    out.push_back(std::move(h));
  }
  std::stable_sort(out.begin(), out.end(), [&order](const HostSummary& a, const HostSummary& b) {
    return order.descending ? Before(b, a, order.key) : Before(a, b, order.key);
  });
  return out;
}

std::string RenderIndexPage(const ReportSet& reports, const SortOrder& order, double now_unix) {
  const std::vector<HostSummary> hosts = SummarizeHosts(reports, order);
  Html h;
  Head(h, "Compliance report");
  int passed = 0, denominator = 0, failing = 0;
  for (const auto& s : hosts) {
    passed += s.by_status[Index(Status::kPassed)];
    denominator += s.by_status[Index(Status::kPassed)] + s.failing + s.by_status[Index(Status::kNotReviewed)];
    failing += s.failing;
  }
  h.Raw("<header><h1>Compliance report</h1><p class=\"meta\">")
      .Int(static_cast<long long>(hosts.size()))
      .Raw(hosts.size() == 1 ? " host" : " hosts")
      .Raw(" &middot; estate score ")
      .Raw(Percent(denominator > 0 ? static_cast<double>(passed) / denominator : -1))
      .Raw(" &middot; ")
      .Int(failing)
      .Raw(" failing controls &middot; as of <time datetime=\"")
      .Raw(Rfc3339(now_unix))
      .Raw("\">")
      .Raw(UtcTime(now_unix))
      .Raw("</time></p></header>\n");
  if (hosts.empty()) {
    h.Raw("<p id=\"empty\">No reports yet.</p>\n</body>\n</html>\n");
    return h.Take();
  }
  h.Raw(
      "<p class=\"muted noprint\">Score: passed / (passed + failed + error + not reviewed). Failing: failed "
      "or "
      "error, by severity. Age: of the host's oldest report.</p>\n"
      "<div class=\"scroll\"><table id=\"hosts\">\n<thead><tr>");
  SortHeader(h, order, SortKey::kHost, "Host", false);
  SortHeader(h, order, SortKey::kScore, "Score", true);
  SortHeader(h, order, SortKey::kFailures, "Failing", true);
  h.Raw(
      "<th class=\"num\">Critical</th><th class=\"num\">High</th><th class=\"num\">Medium</th>"
      "<th class=\"num\">Low</th><th class=\"num wide\">Other</th><th class=\"num wide\">Not reviewed</th>"
      "<th class=\"num wide\">Waived</th><th class=\"wide\">Report time</th>");
  SortHeader(h, order, SortKey::kAge, "Age", false);
  h.Raw("<th class=\"wide\">Tool</th></tr></thead>\n<tbody>\n");
  for (const auto& s : hosts) {
    const auto& f = s.failing_by_severity;
    h.Raw("<tr class=\"host\" data-host=\"")
        .Text(s.host)
        .Raw("\"><td data-field=\"host\"><a href=\"report/")
        .Raw(url::EncodeComponent(s.host))
        .Raw("\">")
        .Text(s.host)
        .Raw("</a></td><td data-field=\"score\" class=\"num ")
        .Raw(ScoreClass(s.score))
        .Raw("\" data-value=\"");
    if (s.score >= 0) h.Raw(Number(s.score));
    h.Raw("\">").Raw(Percent(s.score)).Raw("</td>");
    CountCell(h, "failing", s.failing, " bad");
    CountCell(h, "critical", f[Index(Severity::kCritical)], " bad");
    CountCell(h, "high", f[Index(Severity::kHigh)], " bad");
    CountCell(h, "medium", f[Index(Severity::kMedium)], " warn");
    CountCell(h, "low", f[Index(Severity::kLow)], " warn");
    CountCell(h, "other", f[Index(Severity::kNone)] + f[Index(Severity::kUnknown)], "", "wide");
    CountCell(h, "not_reviewed", s.by_status[Index(Status::kNotReviewed)], "", "wide");
    CountCell(h, "waived", s.by_status[Index(Status::kWaived)], "", "wide");
    h.Raw("<td data-field=\"time\" class=\"wide\">");
    if (s.oldest_unix > 0) {
      h.Raw("<time datetime=\"")
          .Raw(Rfc3339(s.oldest_unix))
          .Raw("\">")
          .Raw(UtcTime(s.oldest_unix))
          .Raw("</time>");
    } else {
      h.Raw("unknown");
    }
    h.Raw("</td><td data-field=\"age\" data-seconds=\"");
    if (s.oldest_unix > 0) h.Raw(Number(std::floor(now_unix - s.oldest_unix)));
    h.Raw("\">").Raw(s.oldest_unix > 0 ? Duration(now_unix - s.oldest_unix) : "unknown").Raw("</td>");
    h.Raw("<td data-field=\"tool\" class=\"wide\">");
    for (std::size_t i = 0; i < s.tools.size(); ++i) h.Raw(i == 0 ? "" : ", ").Text(s.tools[i]);
    h.Raw("</td></tr>\n");
  }
  h.Raw("</tbody></table></div>\n</body>\n</html>\n");
  return h.Take();
}

std::optional<std::string> RenderHostPage(const ReportSet& reports, std::string_view host,
                                          const LinkSettings& links, double now_unix,
                                          const FullReportReader& read_full) {
  const std::vector<const StoredReport*> mine = ReportsOf(reports, host);
  if (mine.empty()) return std::nullopt;

  Html h;
  Head(h, "Compliance: " + std::string(host));
  h.Raw("<nav class=\"meta\"><a href=\"../report\">&larr; All hosts</a></nav>\n<h1 id=\"host\">")
      .Text(host)
      .Raw("</h1>\n");

  // A slim report kept only its non-passing controls, without descriptions and messages: the page reads the
  // whole report again. Counts stay the store's, so the page agrees with /report and the metrics.
  std::array<int, kStatusCount> by_status{};
  std::vector<Report> full(mine.size());
  std::vector<std::string> unavailable(mine.size());  // why a slim report's details are not shown
  std::vector<const Control*> controls;
  std::vector<std::string_view> profiles;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const StoredReport& sr = *mine[i];
    const CountMatrix n = CountsOf(sr);
    for (Status st : kAllStatuses) by_status[Index(st)] += StatusTotal(n, st);
    const std::vector<Control>* list = &sr.report.controls;
    if (sr.slim) {
      if (!read_full) {
        unavailable[i] = "the full report is not available";
      } else if (Result<Report> r = read_full(sr.source_file); r) {
        full[i] = std::move(*r);
        list = &full[i].controls;
      } else {
        unavailable[i] = r.error();
      }
    }
    for (const Control& c : *list) {
      controls.push_back(&c);
      if (std::find(profiles.begin(), profiles.end(), c.profile) == profiles.end())
        profiles.push_back(c.profile);
    }
  }
  const int passed = by_status[Index(Status::kPassed)];
  const int denominator = passed + by_status[Index(Status::kFailed)] + by_status[Index(Status::kError)] +
                          by_status[Index(Status::kNotReviewed)];
  const double score = denominator > 0 ? static_cast<double>(passed) / denominator : -1;
  h.Raw("<p>Score <strong id=\"score\" class=\"")
      .Raw(ScoreClass(score))
      .Raw("\">")
      .Raw(Percent(score))
      .Raw(
          "</strong> <span class=\"muted\">(passed / (passed + failed + error + not reviewed))</span> "
          "&middot; as of ")
      .Raw(UtcTime(now_unix))
      .Raw("</p>\n<ul class=\"counts\">");
  for (Status s : kStatusOrder) {
    h.Raw("<li data-status=\"").Raw(StatusName(s)).Raw("\">").Raw(StatusHeading(s)).Raw(": <strong>");
    h.Int(by_status[Index(s)]).Raw("</strong></li>");
  }
  h.Raw("</ul>\n<h2>Reports</h2>\n<div class=\"reports\">\n");
  int openscap = 0;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    const StoredReport& sr = *mine[i];
    ReportCard(h, sr, sr.html_report_file.empty() ? -1 : openscap++, unavailable[i], now_unix);
  }
  h.Raw("</div>\n");

  std::stable_sort(controls.begin(), controls.end(), [](const Control* a, const Control* b) {
    return std::make_tuple(SeverityPosition(a->severity), std::string_view(a->id),
                           std::string_view(a->profile)) < std::make_tuple(SeverityPosition(b->severity),
                                                                           std::string_view(b->id),
                                                                           std::string_view(b->profile));
  });
  const bool show_profile = profiles.size() > 1;
  for (Status s : kStatusOrder) {
    const int count = by_status[Index(s)];
    if (count == 0) continue;
    const bool collapsed = s == Status::kPassed || s == Status::kNotApplicable;
    h.Raw("<section class=\"status\" data-status=\"").Raw(StatusName(s)).Raw("\">\n");
    if (collapsed) {
      h.Raw("<details><summary>");
    } else {
      h.Raw("<h2>");
    }
    h.Raw(StatusHeading(s)).Raw(" (").Int(count).Raw(")");
    h.Raw(collapsed ? "</summary>\n" : "</h2>\n");
    int shown = 0;
    for (Severity sev : kSeverityOrder) {
      bool opened = false;
      for (const Control* c : controls) {
        if (c->status != s || c->severity != sev) continue;
        if (!opened) {
          h.Raw("<div class=\"severity\" data-severity=\"").Raw(SeverityName(sev)).Raw("\"><h3>");
          h.Raw(SeverityName(sev)).Raw("</h3>\n");
          opened = true;
        }
        ControlCard(h, *c, show_profile, links, now_unix);
        ++shown;
      }
      if (opened) h.Raw("</div>\n");
    }
    if (shown < count)
      h.Raw("<p class=\"muted\">").Int(count - shown).Raw(" not listed: details unavailable.</p>\n");
    if (collapsed) h.Raw("</details>\n");
    h.Raw("</section>\n");
  }
  int total = 0;
  for (int n : by_status) total += n;
  if (total == 0) h.Raw("<p>The reports of this host have no controls with results.</p>\n");
  h.Raw("</body>\n</html>\n");
  return h.Take();
}

std::string RenderNotFoundPage(std::string_view what) {
  Html h;
  Head(h, "Not found");
  h.Raw("<h1>Not found</h1>\n<p id=\"not-found\">No report for ")
      .Text(what)
      .Raw(".</p>\n<p><a href=\"/report\">All hosts</a></p>\n</body>\n</html>\n");
  return h.Take();
}

web::HttpResponse HandleReportRequest(const web::HttpRequest& req, const ReportSet& reports,
                                      const LinkSettings& links, double now_unix,
                                      const FullReportReader& read_full) {
  if (req.path == "/report") {
    return Page(200,
                RenderIndexPage(reports, ParseSortOrder(req.Param("sort"), req.Param("order")), now_unix));
  }
  constexpr std::string_view kPrefix = "/report/";
  if (req.path.size() <= kPrefix.size() || req.path.compare(0, kPrefix.size(), kPrefix) != 0) {
    return Page(404, RenderNotFoundPage("this page"));
  }
  const std::string_view rest = std::string_view(req.path).substr(kPrefix.size());
  // A host of that exact name wins over "<host>/openscap" (host names may hold a '/', sent as %2F).
  if (auto page = RenderHostPage(reports, rest, links, now_unix, read_full))
    return Page(200, std::move(*page));
  if (rest.size() > kOpenscapSuffix.size() &&
      rest.substr(rest.size() - kOpenscapSuffix.size()) == kOpenscapSuffix) {
    const std::string_view host = rest.substr(0, rest.size() - kOpenscapSuffix.size());
    const std::vector<const StoredReport*> mine = ReportsOf(reports, host);
    if (!mine.empty()) return ServeOpenscap(mine, host, req.Param("file"));
  }
  return Page(404, RenderNotFoundPage("host \"" + std::string(rest) + "\""));
}

void AddReportRoutes(web::HttpServer& server, ReportSnapshot snapshot, FullReportReader read_full,
                     LinkSource links) {
  auto handler = [snapshot = std::move(snapshot), read_full = std::move(read_full),
                  links = std::move(links)](const web::HttpRequest& req) {
    const ReportSet reports = snapshot();
    return HandleReportRequest(req, reports, links ? links() : LinkSettings{}, UnixNow(), read_full);
  };
  server.Route("/report", {"GET"}, handler);
  server.Route("/report/*", {"GET"}, handler);
}

}  // namespace estate::compliance
