// The HTML report pages rendered from a ReportSet: escaping of everything from a report, grouping and order
// of controls, the sort links of /report, waivers and their expiry, 404s, the OpenSCAP report link and route,
// and the security headers.
#include "report_html.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "estate/json_util.h"
#include "estate/testing/e2e.h"

namespace estate::compliance {
namespace {

constexpr double kNow = 1796000000;  // 2026-11-30T00:53:20Z
constexpr double kDay = 86400;

Control MakeControl(std::string id, Status status, Severity severity, std::string title = "") {
  Control c;
  c.id = std::move(id);
  c.profile = "base-linux";
  c.title = title.empty() ? "Title of " + c.id : std::move(title);
  c.status = status;
  c.severity = severity;
  return c;
}

std::shared_ptr<const StoredReport> MakeReport(std::string host, std::vector<Control> controls,
                                               double time_unix = kNow - 3600) {
  auto sr = std::make_shared<StoredReport>();
  sr->host = std::move(host);
  sr->report.host = sr->host;
  sr->report.format = Format::kInspecJson;
  sr->report.tool = "inspec";
  sr->report.tool_version = "5.22.3";
  sr->report.time_unix = time_unix;
  sr->report.profiles.push_back(Profile{"base-linux", "1.2.0", "Base Linux", "loaded", "", 0});
  sr->report.controls = std::move(controls);
  sr->source_file = "/var/lib/estate-compliance/reports/" + sr->host + ".json";
  sr->time_unix = time_unix;
  return sr;
}

web::HttpRequest Get(std::string path, std::string query = "") {
  web::HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

std::string Header(const web::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

bool ValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::size_t Pos(const std::string& page, const std::string& needle) {
  const std::size_t p = page.find(needle);
  EXPECT_NE(p, std::string::npos) << "missing: " << needle;
  return p;
}

// Hosts in the order of the rows of /report.
std::vector<std::string> RowHosts(const std::string& page) {
  std::vector<std::string> out;
  static const std::regex row(R"re(<tr class="host" data-host="([^"]*)")re");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), row); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

TEST(ReportHtml, EverythingFromAReportIsEscaped) {
  Control evil = MakeControl("C-1\"><script>alert(1)</script>", Status::kFailed, Severity::kHigh,
                             "<script>alert('title')</script> \"quoted\" & 'single'");
  evil.description = "desc <img src=x onerror=alert(2)>\nsecond line \xFF\xFE bytes";
  evil.messages = {"expected \"<b>\" got '</pre><script>alert(3)</script>'", std::string("nul\0byte", 8)};
  evil.waived = true;
  evil.waiver_justification = "<i>because</i>";
  evil.waiver_expires_unix = kNow + 10 * kDay;
  evil.doc_url = "javascript:alert(4)";  // not http(s): never a link
  evil.ids = {{"stig<", "V-1\"><x>"}};
  auto sr = std::make_shared<StoredReport>(*MakeReport("web<01>\"x", {evil}));
  sr->report.tool = "<tool>";
  sr->report.notes = {"note <u>x</u>"};
  sr->report.platform_name = "debian\xC0";
  ReportSet set = {sr};

  const auto page = RenderHostPage(set, "web<01>\"x", {}, kNow);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->find("<script"), std::string::npos) << *page;
  EXPECT_EQ(page->find("<img"), std::string::npos);
  EXPECT_EQ(page->find("<b>"), std::string::npos);
  EXPECT_EQ(page->find("<i>"), std::string::npos);
  EXPECT_EQ(page->find("<u>"), std::string::npos);
  EXPECT_EQ(page->find("<x>"), std::string::npos);
  EXPECT_EQ(page->find("<tool>"), std::string::npos);
  EXPECT_EQ(page->find("javascript:"), std::string::npos) << "a non-http doc_url became a link";
  EXPECT_TRUE(ValidUtf8(*page)) << "invalid UTF-8 from the report reached the page";
  Pos(*page, "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &quot;quoted&quot; &amp; &#39;single&#39;");
  Pos(*page, "data-control=\"C-1&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"");
  Pos(*page, "second line \xEF\xBF\xBD\xEF\xBF\xBD bytes");
  Pos(*page,
      "nul\xEF\xBF\xBD"
      "byte");
  Pos(*page, "<h1 id=\"host\">web&lt;01&gt;&quot;x</h1>");
  Pos(*page, "&lt;/pre&gt;&lt;script&gt;");
  Pos(*page, "debian\xEF\xBF\xBD");

  const std::string index = RenderIndexPage(set, {}, kNow);
  EXPECT_EQ(index.find("<script"), std::string::npos);
  EXPECT_TRUE(ValidUtf8(index));
  Pos(index, "data-host=\"web&lt;01&gt;&quot;x\"");
  Pos(index, "href=\"report/web%3C01%3E%22x\"");
  Pos(index, ">&lt;tool&gt; 5.22.3<");
}

TEST(ReportHtml, PagesAreResponsivePrintableAndScriptFree) {
  ReportSet set = {MakeReport("web-01", {MakeControl("a", Status::kFailed, Severity::kHigh)})};
  for (const std::string& page :
       {RenderIndexPage(set, {}, kNow), *RenderHostPage(set, "web-01", {}, kNow), RenderNotFoundPage("x")}) {
    Pos(page, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    Pos(page, "@media print");
    Pos(page, "<meta charset=\"utf-8\">");
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_EQ(page.find("http://"), std::string::npos) << "no external resources";
  }
  web::HttpResponse r = HandleReportRequest(Get("/report"), set, {}, kNow);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const std::string csp = Header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("script-src"), std::string::npos) << "the pages run no script: " << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(HandleReportRequest(Get("/report/web-01"), set, {}, kNow), "Content-Security-Policy"),
            csp);
}

TEST(ReportHtml, ControlsAreGroupedByStatusThenSeverityThenId) {
  std::vector<Control> controls = {
      MakeControl("p-1", Status::kPassed, Severity::kHigh),
      MakeControl("na-1", Status::kNotApplicable, Severity::kNone),
      MakeControl("w-1", Status::kWaived, Severity::kMedium),
      MakeControl("nr-1", Status::kNotReviewed, Severity::kLow),
      MakeControl("f-low", Status::kFailed, Severity::kLow),
      MakeControl("f-high-b", Status::kFailed, Severity::kHigh),
      MakeControl("e-1", Status::kError, Severity::kUnknown),
      MakeControl("f-crit", Status::kFailed, Severity::kCritical),
      MakeControl("f-high-a", Status::kFailed, Severity::kHigh),
  };
  ReportSet set = {MakeReport("h", controls)};
  const std::string page = *RenderHostPage(set, "h", {}, kNow);

  // Statuses: failed, error, not_reviewed, waived, not_applicable, passed.
  const std::size_t failed = Pos(page, "<section class=\"status\" data-status=\"failed\">");
  const std::size_t error = Pos(page, "<section class=\"status\" data-status=\"error\">");
  const std::size_t not_reviewed = Pos(page, "<section class=\"status\" data-status=\"not_reviewed\">");
  const std::size_t waived = Pos(page, "<section class=\"status\" data-status=\"waived\">");
  const std::size_t not_applicable = Pos(page, "<section class=\"status\" data-status=\"not_applicable\">");
  const std::size_t passed = Pos(page, "<section class=\"status\" data-status=\"passed\">");
  EXPECT_LT(failed, error);
  EXPECT_LT(error, not_reviewed);
  EXPECT_LT(not_reviewed, waived);
  EXPECT_LT(waived, not_applicable);
  EXPECT_LT(not_applicable, passed);
  // Within failed: critical, then high (by id), then low.
  const std::size_t crit = Pos(page, "data-control=\"f-crit\"");
  const std::size_t high_a = Pos(page, "data-control=\"f-high-a\"");
  const std::size_t high_b = Pos(page, "data-control=\"f-high-b\"");
  const std::size_t low = Pos(page, "data-control=\"f-low\"");
  EXPECT_LT(failed, crit);
  EXPECT_LT(crit, high_a);
  EXPECT_LT(high_a, high_b);
  EXPECT_LT(high_b, low);
  EXPECT_LT(low, error);
  EXPECT_LT(Pos(page, "<div class=\"severity\" data-severity=\"critical\">"), high_a);
  // Failing groups are open; passed and not applicable are collapsed.
  EXPECT_LT(page.find("<details><summary>Passed (1)</summary>"), page.find("data-control=\"p-1\""));
  EXPECT_NE(page.find("<details><summary>Not applicable (1)</summary>"), std::string::npos);
  EXPECT_NE(page.find("<h2>Failed (4)</h2>"), std::string::npos);
  EXPECT_EQ(page.find("<details open"), std::string::npos);
  // The score: 1 passed / (1 + 4 failed + 1 error + 1 not reviewed).
  Pos(page, "<strong id=\"score\" class=\"score-low\">14.2%</strong>");
}

TEST(ReportHtml, AControlShowsItsDetailsAndDocLinks) {
  Control c = MakeControl("V-38437", Status::kFailed, Severity::kHigh, "Automated file system mounting");
  c.description = "The autofs service must be disabled.";
  c.messages = {"Service autofs is expected not to be enabled", "second failure"};
  c.impact = 0.7;
  c.ids = {{"stig", "V-38437"}, {"cis", "1.1.22"}, {"nist", "AC-3"}};
  Control templated = MakeControl("xccdf_org.ssgproject.content_rule_a", Status::kFailed, Severity::kMedium);
  templated.ids = {{"xccdf", "xccdf_org.ssgproject.content_rule_a"}};
  Control with_own = MakeControl("own", Status::kFailed, Severity::kLow);
  with_own.doc_url = "https://docs.example/own";
  with_own.ids = {{"stig", "V-1"}};
  LinkSettings links;
  links.doc_url_templates = {{"stig", "https://stig.example/{id}"},
                             {"xccdf", "https://rules.example/r?id={id}"},
                             {"cis", "ftp://no.example/{id}"}};
  ReportSet set = {MakeReport("h", {c, templated, with_own})};
  const std::string page = *RenderHostPage(set, "h", links, kNow);
  Pos(page, "<code class=\"cid\">V-38437</code> <span class=\"title\">Automated file system mounting</span>");
  Pos(page, "<p class=\"desc\">The autofs service must be disabled.</p>");
  Pos(page,
      "<li><pre>Service autofs is expected not to be enabled</pre></li><li><pre>second failure</pre></li>");
  Pos(page, "impact 0.7");
  Pos(page,
      "<a class=\"doc\" rel=\"noopener noreferrer\" href=\"https://stig.example/V-38437\">Documentation</a>");
  Pos(page, "href=\"https://rules.example/r?id=xccdf_org.ssgproject.content_rule_a\"");
  Pos(page, "<span class=\"ref\">stig V-38437</span> &middot; <span class=\"ref\">cis 1.1.22</span>");
  Pos(page, "<span class=\"ref\">nist AC-3</span>");
  Pos(page, "href=\"https://docs.example/own\">Documentation</a>");  // its own link wins over the template

  // A template that does not make an http(s) link: the id is shown, nothing is linked.
  Control ftp_only = MakeControl("ftp", Status::kFailed, Severity::kLow);
  ftp_only.ids = {{"cis", "9.9"}};
  const std::string other = *RenderHostPage({MakeReport("h", {ftp_only})}, "h", links, kNow);
  Pos(other, "<p class=\"docs\"><span class=\"ref\">cis 9.9</span></p>");
  EXPECT_EQ(other.find("ftp://"), std::string::npos);
}

// The store keeps 10,000 reports by slimming them (only non-passing controls, no descriptions or messages)
// and counting before it does: /report uses the counts, the host page reads the whole report again.
TEST(ReportHtml, SlimReportsUseTheStoreCountsAndTheFullReport) {
  Control failing = MakeControl("f-1", Status::kFailed, Severity::kHigh);
  Control passing = MakeControl("p-1", Status::kPassed, Severity::kLow);
  auto slim = std::make_shared<StoredReport>(*MakeReport("h", {failing}));
  slim->slim = true;
  StoredReport::Counts counts;
  counts.profile = "base-linux";
  counts.n[static_cast<std::size_t>(Status::kFailed)][static_cast<std::size_t>(Severity::kHigh)] = 1;
  counts.n[static_cast<std::size_t>(Status::kPassed)][static_cast<std::size_t>(Severity::kLow)] = 3;
  slim->counts = {counts};
  ReportSet set = {slim};

  const std::string index = RenderIndexPage(set, {}, kNow);
  Pos(index, "data-value=\"0.75\">75.0%</td>");  // 3 / (3 + 1), from the counts, not the one stored control

  std::vector<std::string> asked;
  FullReportReader read_full = [&](const std::string& file) -> Result<Report> {
    asked.push_back(file);
    Report full = slim->report;
    failing.description = "full description";
    failing.messages = {"full message"};
    full.controls = {failing, passing};
    return full;
  };
  const std::string page = *RenderHostPage(set, "h", {}, kNow, read_full);
  EXPECT_EQ(asked, std::vector<std::string>{slim->source_file});
  Pos(page, "<strong id=\"score\" class=\"score-low\">75.0%</strong>");
  Pos(page, "full description");
  Pos(page, "<li><pre>full message</pre></li>");
  Pos(page, "data-control=\"p-1\"");
  EXPECT_EQ(page.find("Details unavailable"), std::string::npos);

  // The file cannot be read again: the stored controls, and why the rest is missing.
  FullReportReader failing_reader = [](const std::string&) -> Result<Report> {
    return MakeError("open: No such file or directory");
  };
  for (const std::string& degraded :
       {*RenderHostPage(set, "h", {}, kNow, failing_reader), *RenderHostPage(set, "h", {}, kNow)}) {
    Pos(degraded, "Details unavailable (");
    Pos(degraded, "data-control=\"f-1\"");
    Pos(degraded, "<summary>Passed (3)</summary>");
    Pos(degraded, "3 not listed: details unavailable.");
  }
  Pos(*RenderHostPage(set, "h", {}, kNow, failing_reader), "(open: No such file or directory)");
}

TEST(ReportHtml, WaiversShowTheirJustificationAndExpiry) {
  Control waived = MakeControl("w", Status::kWaived, Severity::kHigh);
  waived.waived = true;
  waived.waiver_justification = "Replaced by the central firewall";
  waived.waiver_expires_unix = kNow + 3 * kDay;
  Control still_failing = MakeControl("wf", Status::kFailed, Severity::kHigh);
  still_failing.waived = true;
  still_failing.waiver_justification = "ticket SEC-12";
  still_failing.waiver_expires_unix = kNow + 30 * kDay;
  Control expired = MakeControl("we", Status::kFailed, Severity::kMedium);
  expired.waiver_justification = "old exception";
  expired.waiver_expires_unix = kNow - 2 * kDay;
  Control forever = MakeControl("wn", Status::kWaived, Severity::kLow);
  forever.waived = true;
  Control none = MakeControl("n", Status::kFailed, Severity::kLow);
  ReportSet set = {MakeReport("h", {waived, still_failing, expired, forever, none})};
  const std::string page = *RenderHostPage(set, "h", {}, kNow);

  auto card = [&page](const std::string& id) {
    const std::size_t at = Pos(page, "data-control=\"" + id + "\"");
    return page.substr(at, page.find("</article>", at) - at);
  };
  EXPECT_NE(card("w").find("<strong>Waiver</strong>: Replaced by the central firewall. <span class=\"bad\">"
                           "Expires on <time datetime=\"2026-12-03T00:53:20Z"),
            std::string::npos)
      << card("w");
  EXPECT_NE(card("w").find("(in 3 d 0 h)"), std::string::npos) << card("w");
  EXPECT_NE(card("wf").find("<strong>Waived, but still failing</strong>: ticket SEC-12. <span>Expires on"),
            std::string::npos)
      << card("wf");
  EXPECT_NE(card("wf").find("<span class=\"tag\">waived</span>"), std::string::npos);
  EXPECT_NE(card("we").find("<strong>Waiver expired</strong>: old exception. Expired on"), std::string::npos)
      << card("we");
  EXPECT_NE(card("we").find("(2 d 0 h ago); the control is evaluated normally."), std::string::npos);
  EXPECT_NE(card("wn").find("No expiry date."), std::string::npos) << card("wn");
  EXPECT_EQ(card("n").find("waiver"), std::string::npos) << card("n");
}

TEST(ReportHtml, IndexRowsHaveScoresFailuresByseverityAndAge) {
  ReportSet set = {
      MakeReport("db-01",
                 {MakeControl("a", Status::kPassed, Severity::kHigh),
                  MakeControl("b", Status::kFailed, Severity::kCritical),
                  MakeControl("c", Status::kError, Severity::kHigh),
                  MakeControl("d", Status::kNotApplicable, Severity::kNone),
                  MakeControl("e", Status::kWaived, Severity::kLow),
                  MakeControl("f", Status::kNotReviewed, Severity::kLow)},
                 kNow - 2 * kDay),
      MakeReport("web-01", {MakeControl("a", Status::kPassed, Severity::kHigh)}, kNow - 600),
      MakeReport("empty", {MakeControl("x", Status::kNotApplicable, Severity::kNone)}, 0),
  };
  // A second report of db-01 (another profile) counts in the same row; its age is the oldest.
  auto second = std::make_shared<StoredReport>(
      *MakeReport("db-01", {MakeControl("o", Status::kPassed, Severity::kLow)}, kNow - 60));
  second->report.tool = "oscap";
  second->report.tool_version = "1.3.7";
  set.push_back(second);
  set.push_back(nullptr);  // tolerated

  const std::string page = RenderIndexPage(set, {}, kNow);
  auto row = [&page](const std::string& host) {
    const std::size_t at = Pos(page, "<tr class=\"host\" data-host=\"" + host + "\"");
    return page.substr(at, page.find("</tr>", at) - at);
  };
  const std::string db = row("db-01");
  EXPECT_NE(db.find("data-value=\"0.4\">40.0%</td>"), std::string::npos) << db;  // 2 / (2 + 1 + 1 + 1)
  EXPECT_NE(db.find("<td data-field=\"failing\" class=\"num bad\">2</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("<td data-field=\"critical\" class=\"num bad\">1</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("<td data-field=\"high\" class=\"num bad\">1</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("<td data-field=\"medium\" class=\"num zero\">0</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("<td data-field=\"not_reviewed\" class=\"num wide\">1</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("<td data-field=\"waived\" class=\"num wide\">1</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("data-seconds=\"172800\">2 d 0 h</td>"), std::string::npos) << db;
  EXPECT_NE(db.find("<td data-field=\"tool\" class=\"wide\">inspec 5.22.3, oscap 1.3.7</td>"),
            std::string::npos)
      << db;
  EXPECT_NE(db.find("<a href=\"report/db-01\">db-01</a>"), std::string::npos) << db;
  EXPECT_NE(row("web-01").find(">100.0%<"), std::string::npos);
  EXPECT_NE(row("web-01").find(">10 min<"), std::string::npos);
  EXPECT_NE(row("empty").find("data-value=\"\">n/a</td>"), std::string::npos) << row("empty");
  EXPECT_NE(row("empty").find(">unknown</td>"), std::string::npos);
  Pos(page, "3 hosts &middot; estate score 50.0% &middot; 2 failing controls");

  const std::string none = RenderIndexPage({}, {}, kNow);
  Pos(none, "<p id=\"empty\">No reports yet.</p>");
  EXPECT_EQ(none.find("<table"), std::string::npos);
}

TEST(ReportHtml, SortLinksWorkWithoutScript) {
  ReportSet set = {
      MakeReport("b-mid",
                 {MakeControl("1", Status::kPassed, Severity::kLow),
                  MakeControl("2", Status::kFailed, Severity::kHigh)},
                 kNow - 100),
      MakeReport("a-bad",
                 {MakeControl("1", Status::kFailed, Severity::kCritical),
                  MakeControl("2", Status::kFailed, Severity::kLow)},
                 kNow - 10),
      MakeReport("c-good", {MakeControl("1", Status::kPassed, Severity::kLow)}, kNow - 1000),
      MakeReport("d-na", {MakeControl("1", Status::kNotApplicable, Severity::kLow)}, kNow - 50),
      MakeReport("e-many",
                 {MakeControl("1", Status::kFailed, Severity::kHigh),
                  MakeControl("2", Status::kFailed, Severity::kHigh),
                  MakeControl("3", Status::kFailed, Severity::kHigh),
                  MakeControl("4", Status::kPassed, Severity::kHigh)},
                 kNow - 500),
  };
  auto order = [&set](const std::string& query) {
    web::HttpRequest req = Get("/report", query);
    return RowHosts(HandleReportRequest(req, set, {}, kNow).body);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(order(""), (V{"a-bad", "b-mid", "c-good", "d-na", "e-many"}));
  EXPECT_EQ(order("sort=host&order=desc"), (V{"e-many", "d-na", "c-good", "b-mid", "a-bad"}));
  EXPECT_EQ(order("sort=score"), (V{"a-bad", "e-many", "b-mid", "c-good", "d-na"}));  // worst first, n/a last
  EXPECT_EQ(order("sort=score&order=desc"), (V{"d-na", "c-good", "b-mid", "e-many", "a-bad"}));
  // One critical outweighs three highs.
  EXPECT_EQ(order("sort=failures"), (V{"a-bad", "e-many", "b-mid", "c-good", "d-na"}));
  EXPECT_EQ(order("sort=age"), (V{"c-good", "e-many", "b-mid", "d-na", "a-bad"}));  // oldest first
  EXPECT_EQ(order("sort=age&order=asc"), (V{"a-bad", "d-na", "b-mid", "e-many", "c-good"}));
  EXPECT_EQ(order("sort=bogus&order=sideways"), order(""));

  // The current column's link reverses it; the others start in their own direction.
  const std::string by_score = HandleReportRequest(Get("/report", "sort=score"), set, {}, kNow).body;
  Pos(by_score,
      "<th class=\"num\" aria-sort=\"ascending\"><a class=\"sort\" data-sort=\"score\" "
      "href=\"?sort=score&amp;order=desc\">Score &#9650;</a></th>");
  Pos(by_score, "<th><a class=\"sort\" data-sort=\"host\" href=\"?sort=host\">Host</a></th>");
  Pos(by_score, "<a class=\"sort\" data-sort=\"failures\" href=\"?sort=failures\">Failing</a>");
  Pos(by_score, "<a class=\"sort\" data-sort=\"age\" href=\"?sort=age\">Age</a>");
  const std::string reversed =
      HandleReportRequest(Get("/report", "sort=score&order=desc"), set, {}, kNow).body;
  Pos(reversed,
      "aria-sort=\"descending\"><a class=\"sort\" data-sort=\"score\" href=\"?sort=score\">Score &#9660;");
  const std::string by_age = HandleReportRequest(Get("/report", "sort=age"), set, {}, kNow).body;
  Pos(by_age,
      "aria-sort=\"descending\"><a class=\"sort\" data-sort=\"age\" href=\"?sort=age&amp;order=asc\">");

  EXPECT_EQ(ParseSortOrder("failures", "").key, SortKey::kFailures);
  EXPECT_FALSE(ParseSortOrder("failures", "desc").descending);
  EXPECT_TRUE(ParseSortOrder("failures", "asc").descending);
}

TEST(ReportHtml, UnknownHostIsA404Page) {
  ReportSet set = {MakeReport("web-01", {MakeControl("a", Status::kFailed, Severity::kHigh)})};
  EXPECT_FALSE(RenderHostPage(set, "web-02", {}, kNow).has_value());
  for (const std::string path : {"/report/web-02", "/report/web-01/", "/report/web-0", "/report/<b>nope</b>",
                                 "/report/web-01/other"}) {
    web::HttpResponse r = HandleReportRequest(Get(path), set, {}, kNow);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_FALSE(Header(r, "Content-Security-Policy").empty());
    EXPECT_NE(r.body.find("<p id=\"not-found\">No report for host"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("<b>"), std::string::npos) << r.body;
  }
  EXPECT_EQ(HandleReportRequest(Get("/report/web-01"), set, {}, kNow).status, 200);
}

TEST(ReportHtml, HostNamesArePercentEncodedInLinks) {
  const std::string host = "web 01/a?b#c&d";
  ReportSet set = {MakeReport(host, {MakeControl("a", Status::kFailed, Severity::kHigh)})};
  Pos(RenderIndexPage(set, {}, kNow), "<a href=\"report/web%2001%2Fa%3Fb%23c%26d\">web 01/a?b#c&amp;d</a>");
  // The server hands the handler the decoded path.
  web::HttpResponse r = HandleReportRequest(Get("/report/" + host), set, {}, kNow);
  EXPECT_EQ(r.status, 200);
  Pos(r.body, "<h1 id=\"host\">web 01/a?b#c&amp;d</h1>");
}

TEST(ReportHtml, OpenscapReportIsLinkedAndServedOnlyWhenPresent) {
  testing::TempDir dir;
  const std::string html = dir.Write("web-01.html", "<html><body>OpenSCAP Evaluation Report</body></html>");
  dir.Write("secret.html", "not to be served");
  auto with = std::make_shared<StoredReport>(
      *MakeReport("web 01", {MakeControl("a", Status::kFailed, Severity::kHigh)}));
  with->report.format = Format::kXccdf12;
  with->report.tool = "oscap";
  with->source_file = dir.path() + "/web-01.xml";
  with->html_report_file = html;
  auto without = MakeReport("db-01", {MakeControl("a", Status::kFailed, Severity::kHigh)});
  ReportSet set = {with, without};

  const std::string page = *RenderHostPage(set, "web 01", {}, kNow);
  Pos(page, "<a id=\"openscap-0\" href=\"web%2001/openscap?file=web-01.html\">OpenSCAP HTML report</a>");
  EXPECT_EQ(RenderHostPage(set, "db-01", {}, kNow)->find("openscap"), std::string::npos);

  web::HttpResponse r =
      HandleReportRequest(Get("/report/web 01/openscap", "file=web-01.html"), set, {}, kNow);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html><body>OpenSCAP Evaluation Report</body></html>");
  const std::string csp = Header(r, "Content-Security-Policy");
  EXPECT_EQ(csp.rfind("sandbox allow-scripts", 0), 0u) << csp;
  EXPECT_NE(csp.find("connect-src 'none'"), std::string::npos) << csp;
  EXPECT_EQ(HandleReportRequest(Get("/report/web 01/openscap"), set, {}, kNow).status, 200);  // the first one

  // Only the file the report names: not another name, not a path, not for another host.
  for (const std::string& query : {std::string("file=secret.html"), std::string("file=..%2Fsecret.html"),
                                   "file=" + dir.path() + "/secret.html"}) {
    EXPECT_EQ(HandleReportRequest(Get("/report/web 01/openscap", query), set, {}, kNow).status, 404) << query;
  }
  EXPECT_EQ(HandleReportRequest(Get("/report/db-01/openscap"), set, {}, kNow).status, 404);
  EXPECT_EQ(HandleReportRequest(Get("/report/nohost/openscap"), set, {}, kNow).status, 404);

  // A file that went away: 404, not a crash.
  std::filesystem::remove(html);
  EXPECT_EQ(HandleReportRequest(Get("/report/web 01/openscap"), set, {}, kNow).status, 404);
}

}  // namespace
}  // namespace estate::compliance
