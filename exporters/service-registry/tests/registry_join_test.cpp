// The join: apps folded across colours, unmatched VMs listed, records matched by app code, retired records,
// hypervisor teams by order, pipeline users by pattern, and what a missing source does.
#include "registry_join.h"

#include <gtest/gtest.h>

#include "registry_test_data.h"

namespace estate::registry {
namespace {

using test::Inputs;
using test::kNow;
using test::Options;

TEST(RegistryJoinTest, RedeployInProgressIsOneAppWithTwoColours) {
  RegistryView view = Join(Inputs(), Options(), kNow);
  const App* xyz = view.Find("xyz");
  ASSERT_NE(xyz, nullptr);
  ASSERT_EQ(xyz->colours.size(), 2u);
  EXPECT_EQ(xyz->colours.at("a").size(), 2u);
  EXPECT_EQ(xyz->colours.at("b").size(), 1u);
  EXPECT_EQ(xyz->colours.at("b")[0].name, "xyz-web-b01");
  EXPECT_FALSE(xyz->registered);
  EXPECT_EQ(xyz->not_registered_reason, "no record");
  std::vector<std::string> tlas;
  for (const auto& a : view.apps) tlas.push_back(a.tla);
  EXPECT_EQ(tlas, (std::vector<std::string>{"iex", "new", "old", "pay", "xyz"}));
  EXPECT_EQ(view.vms, 9u);
}

TEST(RegistryJoinTest, UnmatchedVmsAreListed) {
  RegistryView view = Join(Inputs(), Options(), kNow);
  ASSERT_EQ(view.unmatched.size(), 2u);
  EXPECT_EQ(view.unmatched[0].name, "monitoring01");
  EXPECT_EQ(view.unmatched[1].name, "pgdb-main01");
}

TEST(RegistryJoinTest, RecordsMatchCaseInsensitivelyAndRetiredCountsAsUnregistered) {
  RegistryView view = Join(Inputs(), Options(), kNow);
  ASSERT_TRUE(view.registry_known);
  const App* pay = view.Find("pay");
  ASSERT_NE(pay, nullptr);
  EXPECT_TRUE(pay->registered);
  ASSERT_NE(pay->record, nullptr);
  EXPECT_EQ(pay->record->sys_id, "sys-PAY");
  const App* old = view.Find("old");
  ASSERT_NE(old, nullptr);
  EXPECT_FALSE(old->registered);
  ASSERT_NE(old->record, nullptr);
  EXPECT_EQ(old->not_registered_reason, "install_status 7 (Retired)");
}

TEST(RegistryJoinTest, ARegisteredRecordWinsOverARetiredOneOfTheSameCode) {
  JoinInputs in = Inputs();
  auto cmdb = std::make_shared<CmdbSnapshot>(*in.cmdb);
  cmdb->records.push_back(test::Record("xyz", "7", false));
  cmdb->records.push_back(test::Record("XYZ", "1", true));
  in.cmdb = cmdb;
  RegistryView view = Join(in, Options(), kNow);
  EXPECT_TRUE(view.Find("xyz")->registered);
  EXPECT_EQ(view.Find("xyz")->record->install_status, "1");
}

TEST(RegistryJoinTest, WithoutCmdbDataNothingIsSaidAboutRegistration) {
  JoinInputs in = Inputs();
  in.cmdb = nullptr;
  RegistryView view = Join(in, Options(), kNow);
  EXPECT_FALSE(view.registry_known);
  EXPECT_EQ(view.Find("pay")->not_registered_reason, "registry not collected yet");
  in.registry_configured = false;
  RegistryView unconfigured = Join(in, Options(), kNow);
  EXPECT_TRUE(unconfigured.registry_known);
  EXPECT_EQ(unconfigured.Find("pay")->not_registered_reason, "no registry configured");
}

TEST(RegistryJoinTest, HypervisorTeamsFollowTheConfiguredOrder) {
  JoinInputs in = Inputs();
  in.aggregate_teams["hv-hpe-01"] = {{"Aggregate Team", "aggregate:hpe"}};
  JoinOptions o = Options();
  RegistryView view = Join(in, o, kNow);  // file first
  EXPECT_EQ(view.Find("xyz")->hypervisor_teams, (std::vector<std::string>{"Compute HPE", "Compute Dell"}));
  EXPECT_EQ(view.team_vms.at("xyz").at("Compute HPE"), 2);
  EXPECT_EQ(view.team_vms.at("xyz").at("Compute Dell"), 1);
  EXPECT_EQ(view.Find("iex")->hypervisor_teams, std::vector<std::string>{"Lenovo Ops"});  // servicenow

  o.team_order = {"aggregate", "file"};
  view = Join(in, o, kNow);
  EXPECT_EQ(view.Find("xyz")->hypervisor_teams, (std::vector<std::string>{"Aggregate Team", "Compute Dell"}));
  EXPECT_EQ(view.Find("iex")->hypervisor_teams,
            std::vector<std::string>{"unknown"});  // servicenow not in order
  EXPECT_EQ(view.team_vms.at("iex").at("unknown"), 1);
}

TEST(RegistryJoinTest, PipelineUsersByPatternInTheWindowMostRunsFirst) {
  RegistryView view = Join(Inputs(), Options(), kNow);
  const App* iex = view.Find("iex");
  ASSERT_NE(iex, nullptr);
  EXPECT_EQ(iex->pipelines, (std::vector<std::string>{"deploy-prod", "iex-build"}));  // by name and by group
  ASSERT_EQ(iex->pipeline_users.size(), 2u);
  EXPECT_EQ(iex->pipeline_users[0].user, "alice");
  EXPECT_EQ(iex->pipeline_users[0].runs, 3);
  EXPECT_EQ(iex->pipeline_users[1].user, "bob");
  EXPECT_EQ(iex->pipeline_users[1].runs, 1);
  EXPECT_TRUE(view.Find("xyz")->pipeline_users.empty());

  JoinOptions top1 = Options();
  top1.top_users = 1;
  EXPECT_EQ(Join(Inputs(), top1, kNow).Find("iex")->pipeline_users.size(), 1u);
}

TEST(RegistryJoinTest, AVmListedByTwoSourcesCountsOnce) {
  JoinInputs in = Inputs();
  auto file = std::make_shared<InventorySnapshot>();
  file->vms = {test::MakeVm("XYZ-web-A01", "hv-x", "file:inv.yml"),
               test::MakeVm("abc-web01", "", "file:inv.yml")};
  in.inventories.push_back(file);
  RegistryView view = Join(in, Options(), kNow);
  EXPECT_EQ(view.vms, 10u);
  EXPECT_EQ(view.Find("xyz")->colours.at("a").size(), 2u);
  EXPECT_EQ(view.Find("xyz")->colours.at("a")[0].source, "nova:prod");
  EXPECT_NE(view.Find("abc"), nullptr);
}

TEST(RegistryJoinTest, TeamsFile) {
  auto rules = ParseTeamsFile("teams:\n  - {hypervisor: 'HV-HPE-*', team: Compute HPE}\n", "t.yml");
  ASSERT_TRUE(rules.ok()) << rules.error();
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].pattern, "hv-hpe-*");
  JoinInputs in;
  in.team_rules = std::make_shared<const std::vector<TeamRule>>(*rules);
  EXPECT_EQ(HypervisorTeam("hv-hpe-07.example", in, {"file"}), "Compute HPE");
  EXPECT_EQ(HypervisorTeam("hv-dell-07", in, {"file"}), "");
  auto short_form =
      ParseTeamsFile("\"hv-east-*\": compute-east\n\"hv-west-*.example.net\": compute-west\n", "t.yml");
  ASSERT_TRUE(short_form.ok()) << short_form.error();
  ASSERT_EQ(short_form->size(), 2u);
  EXPECT_EQ((*short_form)[1].pattern, "hv-west-*.example.net");
  EXPECT_EQ((*short_form)[1].team, "compute-west");
  EXPECT_FALSE(ParseTeamsFile("\"hv-*\": [a, b]\n", "t.yml").ok());
  EXPECT_FALSE(ParseTeamsFile("teams:\n  - {hypervisor: x}\n", "t.yml").ok());
  EXPECT_FALSE(ParseTeamsFile("teams:\n  - {hypervisor: x, team: y, colour: z}\n", "t.yml").ok());
}

TEST(RegistryJoinTest, PipelinePatterns) {
  EXPECT_FALSE(CompilePipelinePattern("^deploy-").ok());
  EXPECT_FALSE(CompilePipelinePattern("^{app}-(").ok());
  EXPECT_EQ(PipelineFetchPattern("^{app}-"), "^[A-Za-z0-9]+-");
}

}  // namespace
}  // namespace estate::registry
