// Both report pages as a person sees them: a real HttpServer on port 0 serves a ReportSet built here,
// headless Chromium loads /report and /report/<host>, and the test reads the DOM it ends with: the host rows,
// a failing control's title and documentation link, and that markup inside a report stayed text (no script
// from a report ran, no element from it was created). Skips when chromium or timeout is not installed.
#include <gtest/gtest.h>

#include <ctime>
#include <memory>
#include <regex>
#include <string>

#include "estate/http_server.h"
#include "estate/testing/e2e.h"
#include "report_html.h"

namespace estate::compliance {
namespace {

// A title that would run script and change the DOM if it were ever rendered as markup.
constexpr const char* kEvilTitle =
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
    "<script>document.body.setAttribute('data-pwned','script')</script>Evil title";

Control MakeControl(std::string id, Status status, Severity severity, std::string title) {
  Control c;
  c.id = std::move(id);
  c.profile = "base-linux";
  c.title = std::move(title);
  c.status = status;
  c.severity = severity;
  return c;
}

ReportSet MakeReports(double now) {
  auto web = std::make_shared<StoredReport>();
  web->host = "web-01.example";
  web->report.tool = "inspec";
  web->report.tool_version = "5.22.3";
  web->report.format = Format::kInspecJson;
  web->report.profiles.push_back(Profile{"base-linux", "1.2.0", "Base Linux", "loaded", "", 3});
  Control autofs = MakeControl("V-38437", Status::kFailed, Severity::kHigh,
                               "Automated file system mounting must be disabled");
  autofs.description = "The autofs service mounts file systems on demand.";
  autofs.messages = {"Service autofs is expected not to be enabled"};
  autofs.ids = {{"stig", "V-38437"}};
  Control evil = MakeControl("evil-1", Status::kFailed, Severity::kMedium, kEvilTitle);
  evil.messages = {"<b>bold?</b>"};
  web->report.controls = {autofs, evil,
                          MakeControl("ok-1", Status::kPassed, Severity::kLow, "Passing control")};
  web->time_unix = web->report.time_unix = now - 3600;

  auto db = std::make_shared<StoredReport>();
  db->host = "db 01";  // a space: the link must be percent-encoded
  db->report.tool = "oscap";
  db->report.format = Format::kXccdf12;
  db->report.controls = {MakeControl("r1", Status::kPassed, Severity::kHigh, "Rule one")};
  db->time_unix = db->report.time_unix = now - 60;
  return {web, db};
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::BinaryPath("chromium").empty()) GTEST_SKIP() << "chromium is not installed";
    if (testing::BinaryPath("timeout").empty()) GTEST_SKIP() << "timeout (coreutils) is not installed";
    const double now = static_cast<double>(std::time(nullptr));
    const ReportSet reports = MakeReports(now);
    LinkSettings links;
    links.doc_url_templates = {{"stig", "https://stigviewer.example/stig/{id}"}};
    AddReportRoutes(
        server_, [reports] { return reports; }, {}, [links] { return links; });
    web::ServerOptions options;
    options.listen_addresses = {"127.0.0.1:0"};
    auto started = server_.Start(options);
    ASSERT_TRUE(started.ok()) << started.error();
    base_ = "http://127.0.0.1:" + std::to_string(server_.Ports().at(0));
  }
  void TearDown() override { server_.Stop(); }

  // The DOM after load, from headless Chromium.
  std::string DumpDom(const std::string& path) {
    std::string error;
    std::string dom = testing::ChromiumDumpDom(base_ + path, dir_, &error, 2000);
    EXPECT_FALSE(dom.empty()) << error;
    return dom;
  }

  testing::TempDir dir_;
  web::HttpServer server_;
  std::string base_;
};

TEST_F(ReportBrowserTest, IndexShowsEveryHostWithLinks) {
  const std::string dom = DumpDom("/report?sort=failures");
  ASSERT_FALSE(dom.empty());
  // Worst first: web-01 (2 failing) before db 01.
  const std::size_t web = dom.find("<tr class=\"host\" data-host=\"web-01.example\">");
  const std::size_t db = dom.find("<tr class=\"host\" data-host=\"db 01\">");
  ASSERT_NE(web, std::string::npos) << dom;
  ASSERT_NE(db, std::string::npos) << dom;
  EXPECT_LT(web, db);
  EXPECT_NE(dom.find("<a href=\"report/web-01.example\">web-01.example</a>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<a href=\"report/db%2001\">db 01</a>"), std::string::npos) << dom;
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(data-field="score"[^>]*>33\.3%<)"))) << dom;
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(data-field="failing"[^>]*>2<)"))) << dom;
  EXPECT_TRUE(std::regex_search(dom, std::regex(R"(data-field="high"[^>]*>1<)"))) << dom;
  EXPECT_NE(dom.find("aria-sort=\"descending\""), std::string::npos) << dom;
}

TEST_F(ReportBrowserTest, HostPageShowsFailingControlsAndRunsNoScriptFromReports) {
  const std::string dom = DumpDom("/report/web-01.example");
  ASSERT_FALSE(dom.empty());
  EXPECT_NE(dom.find("<h1 id=\"host\">web-01.example</h1>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<span class=\"title\">Automated file system mounting must be disabled</span>"),
            std::string::npos)
      << dom;
  EXPECT_NE(
      dom.find(
          "<a class=\"doc\" rel=\"noopener noreferrer\" href=\"https://stigviewer.example/stig/V-38437\">"
          "Documentation</a>"),
      std::string::npos)
      << dom;
  EXPECT_NE(dom.find("Service autofs is expected not to be enabled"), std::string::npos);
  EXPECT_NE(dom.find("<h2>Failed (2)</h2>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<summary>Passed (1)</summary>"), std::string::npos) << dom;
  // The evil title is shown as text: the browser serialises it escaped, made no element of it, ran nothing.
  EXPECT_NE(
      dom.find("&lt;script&gt;document.body.setAttribute('data-pwned','script')&lt;/script&gt;Evil title"),
      std::string::npos)
      << dom;
  EXPECT_EQ(dom.find("data-pwned=\""), std::string::npos) << "script from a report ran: " << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<script"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<b>bold?</b>"), std::string::npos) << dom;

  // A host name with a space, reached through its percent-encoded link.
  const std::string db = DumpDom("/report/db%2001");
  EXPECT_NE(db.find("<h1 id=\"host\">db 01</h1>"), std::string::npos) << db;
}

}  // namespace
}  // namespace estate::compliance
