// /report as a person sees it: a real HttpServer on port 0 serves the test estate with hostile strings from
// the upstreams, headless Chromium loads it, and the test reads the DOM it ends with: the offenders newest
// first, and that markup from upstreams stayed text (no script ran, no element from it was created).
// Skips when chromium or timeout is not installed.
#include <gtest/gtest.h>

#include <regex>

#include "estate/http_server.h"
#include "estate/testing/e2e.h"
#include "first_seen_store.h"
#include "registry_test_data.h"
#include "report_html.h"

namespace estate::registry {
namespace {

using test::kNow;

constexpr const char* kEvilUser =
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
    "<script>document.body.setAttribute('data-pwned','script')</script>eve";

std::shared_ptr<const RegistryView> MakeView() {
  JoinInputs in = test::Inputs();
  auto gocd = std::make_shared<GocdSnapshot>(*in.gocd);
  Pipeline p;
  p.name = "xyz-deploy";
  p.runs = {test::Run(1, 0.1, {kEvilUser})};
  gocd->pipelines.push_back(p);
  in.gocd = gocd;
  FirstSeenStore store;
  // iex and old first seen two days ago; xyz yesterday (newest).
  JoinInputs earlier = in;
  auto inv = std::make_shared<InventorySnapshot>();
  for (const auto& vm : in.inventories[0]->vms) {
    if (vm.name.rfind("xyz", 0) != 0) inv->vms.push_back(vm);
  }
  earlier.inventories = {inv};
  RegistryView before = Join(earlier, test::Options(), kNow - 2 * 86400);
  store.Update(before.apps, true, kNow - 2 * 86400);
  auto view = std::make_shared<RegistryView>(Join(in, test::Options(), kNow));
  store.Update(view->apps, true, kNow - 86400);
  return view;
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::BinaryPath("chromium").empty()) GTEST_SKIP() << "chromium is not installed";
    if (testing::BinaryPath("timeout").empty()) GTEST_SKIP() << "timeout (coreutils) is not installed";
    auto view = MakeView();
    server_.Route("/report", {"GET"}, [view](const web::HttpRequest&) { return ReportPage(view.get()); });
    web::ServerOptions options;
    options.listen_addresses = {"127.0.0.1:0"};
    auto started = server_.Start(options);
    ASSERT_TRUE(started.ok()) << started.error();
    base_ = "http://127.0.0.1:" + std::to_string(server_.Ports().at(0));
  }
  void TearDown() override { server_.Stop(); }

  testing::TempDir dir_;
  web::HttpServer server_;
  std::string base_;
};

TEST_F(ReportBrowserTest, OffendersNewestFirstAndNoScriptFromUpstreams) {
  std::string error;
  const std::string dom = testing::ChromiumDumpDom(base_ + "/report", dir_, &error, 2000);
  ASSERT_FALSE(dom.empty()) << error;
  EXPECT_FALSE(std::regex_search(dom, std::regex("<body[^>]*data-pwned"))) << dom;
  const std::size_t xyz = dom.find("<tr class=\"app\" data-app=\"xyz\"");
  const std::size_t iex = dom.find("<tr class=\"app\" data-app=\"iex\"");
  const std::size_t old = dom.find("<tr class=\"app\" data-app=\"old\"");
  ASSERT_NE(xyz, std::string::npos) << dom;
  ASSERT_NE(iex, std::string::npos) << dom;
  ASSERT_NE(old, std::string::npos) << dom;
  EXPECT_LT(xyz, iex);
  EXPECT_LT(iex, old);
  EXPECT_NE(dom.find("<td data-field=\"first_seen\">2025-12-03T10:00:00Z</td>"), std::string::npos) << dom;
  EXPECT_NE(dom.find("&lt;script&gt;document.body.setAttribute"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<span class=\"vm\" data-colour=\"b\">xyz-web-b01"), std::string::npos) << dom;
  EXPECT_TRUE(
      std::regex_search(dom, std::regex(R"(data-field="hypervisor_teams">Compute HPE,Compute Dell<)")))
      << dom;
  EXPECT_NE(dom.find("<span class=\"user\">alice <span class=\"muted\">(3)</span></span>"), std::string::npos)
      << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
}

}  // namespace
}  // namespace estate::registry
