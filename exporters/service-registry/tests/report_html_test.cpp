// The /report page and the landing fragment: offenders newest first, every upstream string escaped, the CSP
// without script-src, the unmatched host names listed.
#include "report_html.h"

#include <gtest/gtest.h>

#include "first_seen_store.h"
#include "registry_test_data.h"

namespace estate::registry {
namespace {

using test::kNow;

std::string Header(const web::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// The test estate with an app first seen later than the others and hostile strings from the upstreams.
RegistryView EvilView(std::shared_ptr<const InventorySnapshot>* keep) {
  JoinInputs in = test::Inputs();
  auto inv = std::make_shared<InventorySnapshot>(*in.inventories[0]);
  inv->vms.push_back(test::MakeVm("evl-<script>x</script>", "hv-hpe-01"));
  inv->vms.push_back(test::MakeVm("<img src=x onerror=alert(1)>", "hv-hpe-01"));
  in.inventories = {inv};
  *keep = inv;
  auto gocd = std::make_shared<GocdSnapshot>(*in.gocd);
  Pipeline p;
  p.name = "evl-build";
  p.runs = {test::Run(1, 0.1, {"<b>mallory</b> & \"co\""})};
  gocd->pipelines.push_back(p);
  in.gocd = gocd;
  FirstSeenStore store;
  JoinOptions options = test::Options();
  // A second rule that takes any characters after the TLA, so that hostile VM names belong to an app.
  std::vector<NamingRule> naming;
  naming.push_back(*NamingRule::Compile(kDefaultNamingRule));
  naming.push_back(*NamingRule::Compile("^(?P<app>[a-z]{3})-.*$"));
  options.rules = std::make_shared<const NamingRules>(std::move(naming));
  RegistryView first = Join(in, options, kNow - 86400);
  store.Update(first.apps, true, kNow - 86400);
  auto rules = std::make_shared<std::vector<TeamRule>>(*in.team_rules);
  rules->insert(rules->begin(), TeamRule{"hv-hpe-01", "Team \"<i>\""});
  in.team_rules = rules;
  auto cmdb = std::make_shared<CmdbSnapshot>(*in.cmdb);
  cmdb->records.push_back(test::Record("evl", "7", false));
  cmdb->records.back().sys_id = "<sys>";
  in.cmdb = cmdb;
  RegistryView view = Join(in, options, kNow);
  store.Update(view.apps, true, kNow);
  return view;
}

TEST(ReportHtmlTest, OffendersNewestFirstEverythingEscaped) {
  std::shared_ptr<const InventorySnapshot> keep;
  RegistryView view = EvilView(&keep);
  // "evl" appeared unregistered at kNow (the first join had no record and it was already there too, so
  // make it new: drop it from the first-seen times by hand).
  for (auto& app : view.apps) {
    if (app.tla == "evl") app.first_seen_unregistered_unix = kNow;
  }
  web::HttpResponse r = ReportPage(&view);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const std::string csp = Header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("script-src"), std::string::npos);
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  const std::string& h = r.body;
  EXPECT_EQ(h.find("<script"), std::string::npos) << h;
  EXPECT_EQ(h.find("<img"), std::string::npos) << h;
  EXPECT_EQ(h.find("<b>mallory"), std::string::npos) << h;
  EXPECT_NE(h.find("evl-&lt;script&gt;x&lt;/script&gt;"), std::string::npos) << h;
  EXPECT_NE(h.find("&lt;b&gt;mallory&lt;/b&gt; &amp; &quot;co&quot;"), std::string::npos) << h;
  EXPECT_NE(h.find("(&lt;sys&gt;)"), std::string::npos) << h;
  EXPECT_NE(h.find("Team &quot;&lt;i&gt;&quot;"), std::string::npos) << h;
  // Newest first: evl (kNow), then the others (kNow - 1 day) by TLA.
  const auto evl = h.find("data-app=\"evl\"");
  const auto iex = h.find("data-app=\"iex\"");
  const auto old = h.find("data-app=\"old\"");
  const auto xyz = h.find("data-app=\"xyz\"");
  ASSERT_NE(evl, std::string::npos);
  EXPECT_LT(evl, iex);
  EXPECT_LT(iex, old);
  EXPECT_LT(old, xyz);
  EXPECT_NE(h.find("<td data-field=\"first_seen\">2025-12-03T10:00:00Z</td>"), std::string::npos) << h;
  EXPECT_NE(h.find("<span class=\"vm\" data-colour=\"b\">xyz-web-b01"), std::string::npos) << h;
  // Registered apps with incomplete records.
  EXPECT_NE(h.find("<td data-field=\"missing\">owner</td>"), std::string::npos) << h;
  EXPECT_EQ(h.find("data-app=\"pay\""), std::string::npos) << h;
}

TEST(ReportHtmlTest, BeforeDataAndBeforeCmdb) {
  EXPECT_EQ(ReportPage(nullptr).status, 503);
  JoinInputs in = test::Inputs();
  in.cmdb = nullptr;
  RegistryView view = Join(in, test::Options(), kNow);
  web::HttpResponse r = ReportPage(&view);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("CMDB has not been collected yet"), std::string::npos);
  EXPECT_EQ(r.body.find("id=\"offenders\""), std::string::npos);
}

TEST(ReportHtmlTest, LandingListsUnmatchedHostNamesEscaped) {
  std::shared_ptr<const InventorySnapshot> keep;
  RegistryView view = EvilView(&keep);
  const std::string h = LandingHtml(&view);
  EXPECT_NE(h.find("<li class=\"host\">monitoring01"), std::string::npos) << h;
  EXPECT_NE(h.find("<li class=\"host\">pgdb-main01"), std::string::npos) << h;
  EXPECT_NE(h.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos) << h;
  EXPECT_EQ(h.find("<img"), std::string::npos) << h;
  EXPECT_NE(h.find("3 VMs match no naming rule"), std::string::npos) << h;
  EXPECT_NE(LandingHtml(nullptr).find("No data yet"), std::string::npos);
}

}  // namespace
}  // namespace estate::registry
