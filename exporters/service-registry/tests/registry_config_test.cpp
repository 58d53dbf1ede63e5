// The config: the full example of docs/service-registry.md parses to the documented values; defaults; every
// problem reported with its path; secrets from files; unknown keys refused.
#include "registry_config.h"

#include <gtest/gtest.h>

#include "estate/testing/e2e.h"

namespace estate::registry {
namespace {

TEST(RegistryConfigTest, FullExample) {
  testing::TempDir dir;
  const std::string os_pass = dir.Write("os.pass", "s3cret\n");
  const std::string snow_pass = dir.Write("snow.pass", "snowpw\n");
  const std::string gocd_token = dir.Write("gocd.token", "tok\n");
  const std::string yaml = R"(
naming:
  rules: ['^(?P<app>[a-z]{3})-(?P<colour>[ab])-[a-z0-9-]+$', '^legacy-(?<app>[a-z]+)\d+$']
inventory:
  clouds:
    - name: prod
      auth_url: https://keystone.example:5000/v3
      region: RegionOne
      interface: internal
      auth: {method: password, username: monitor, password_file: )" +
                           os_pass + R"(, project_name: admin}
      interval: 10m
  files: [/etc/estate/inventory.yml, /etc/estate/more.csv]
  file_interval: 2m
servicenow:
  url: https://example.service-now.com
  auth: {basic: {username: monitor, password_file: )" +
                           snow_pass + R"(}}
  tables: [cmdb_ci_business_app, cmdb_ci_service_auto]
  query: operational_status=1
  app_code_field: u_tla
  owner_field: owned_by.email
  unregistered_install_status: ['7', '22', '100']
  page_size: 500
  server_table: cmdb_ci_server
  interval: 15m
gocd:
  url: https://gocd.example.com
  auth: {bearer_token_file: )" +
                           gocd_token + R"(}
  app_pipeline_patterns: ['^{app}-', '^deploy-{app}$']
  window_days: 14
  page_size: 50
teams:
  order: [aggregate, file]
  file: /etc/estate/teams.yml
  aggregate_metadata_key: owner_team
report: {top_users: 3, state_file: /var/lib/estate/first-seen.json, forget_after: 7d}
request_timeout: 20s
)";
  auto cfg = ParseConfig(yaml, "registry.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->naming_rules.size(), 2u);
  ASSERT_TRUE(cfg->rules);
  EXPECT_EQ(cfg->rules->Match("legacy-pay01")->app, "pay");
  ASSERT_EQ(cfg->clouds.size(), 1u);
  EXPECT_EQ(cfg->clouds[0].auth.password, "s3cret");
  EXPECT_EQ(cfg->clouds[0].interval_seconds, 600);
  EXPECT_EQ(cfg->clouds[0].interface, "internal");
  EXPECT_EQ(cfg->inventory_files.size(), 2u);
  EXPECT_EQ(cfg->file_interval_seconds, 120);
  EXPECT_TRUE(cfg->servicenow.enabled);
  EXPECT_EQ(cfg->servicenow.auth.username, "monitor");
  EXPECT_EQ(cfg->servicenow.auth.password, "snowpw");
  EXPECT_EQ(cfg->servicenow.tables.size(), 2u);
  EXPECT_EQ(cfg->servicenow.app_code_field, "u_tla");
  EXPECT_EQ(cfg->servicenow.support_group_field, "support_group.name");  // default kept
  EXPECT_EQ(cfg->servicenow.unregistered_install_status.size(), 3u);
  EXPECT_EQ(cfg->servicenow.interval_seconds, 900);
  EXPECT_TRUE(cfg->gocd.enabled);
  EXPECT_EQ(cfg->gocd.auth.bearer_token, "tok");
  EXPECT_EQ(cfg->gocd.window_days, 14);
  EXPECT_EQ(cfg->teams.order, (std::vector<std::string>{"aggregate", "file"}));
  EXPECT_EQ(cfg->teams.aggregate_metadata_key, "owner_team");
  EXPECT_EQ(cfg->top_users, 3);
  EXPECT_EQ(cfg->forget_after_seconds, 7 * 86400);
  EXPECT_EQ(cfg->request_timeout_seconds, 20);
  EXPECT_FALSE(cfg->inline_secrets);

  const http::ClientOptions snow = HttpOptions(*cfg, "servicenow", "", false, cfg->servicenow.auth);
  EXPECT_EQ(snow.auth.kind, http::Auth::Kind::kBasic);
  const http::ClientOptions gocd = HttpOptions(*cfg, "gocd", "", false, cfg->gocd.auth);
  EXPECT_EQ(gocd.auth.kind, http::Auth::Kind::kBearer);
  EXPECT_EQ(gocd.auth.token, "tok");
  EXPECT_EQ(gocd.timeout_seconds, 20);
}

TEST(RegistryConfigTest, MinimalFileDefaultsAndWarnsWithoutServiceNow) {
  auto cfg = ParseConfig("inventory: {files: [/tmp/inv.yml]}\n", "r.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->naming_rules, std::vector<std::string>{kDefaultNamingRule});
  EXPECT_EQ(cfg->rules->Match("xyz-db-b02")->colour, "b");
  EXPECT_FALSE(cfg->servicenow.enabled);
  EXPECT_FALSE(cfg->gocd.enabled);
  EXPECT_EQ(cfg->top_users, 5);
  EXPECT_EQ(cfg->teams.order, (std::vector<std::string>{"file", "aggregate", "servicenow"}));
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_NE(cfg->warnings[0].find("servicenow"), std::string::npos);
}

TEST(RegistryConfigTest, EmptyFileIsRefusedUnlessAllowed) {
  auto empty = ParseConfig("", "r.yml");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("at least one cloud or inventory file"), std::string::npos) << empty.error();
  EXPECT_TRUE(ParseConfig("allow_empty: true\n", "r.yml").ok());
}

TEST(RegistryConfigTest, EveryProblemIsReportedWithItsPath) {
  const std::string yaml = R"(
naming: {rules: ['^[a-z]{3}-', '(?P<app>[a-z']}
inventory:
  files: [a.yml, a.yml]
  clouds:
    - {name: "bad name", auth_url: "ftp://x", interface: private, auth: {method: password, username: u, password: p}}
  colour: a
servicenow:
  url: https://user:pw@example.service-now.com
  auth: {basic: {username: u, password: p}, bearer_token: t}
  tables: []
  owner_field: "owned_by user"
  page_size: 1
gocd:
  url: https://gocd.example
  auth: {bearer_token: t}
  app_pipeline_patterns: ['^deploy-', '^{app}-(']
  window_days: 0
teams: {order: [file, ldap, file]}
report: {top_users: 0, state_dir: /tmp}
)";
  auto cfg = ParseConfig(yaml, "r.yml", config::ParseOptions{false});
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  for (const char* expected : {"naming.rules[0]: the pattern has no (?P<app>...) group",
                               "naming.rules[1]",
                               "\"a.yml\" is listed twice",
                               "inventory.clouds[0].name",
                               "inventory.clouds[0].auth_url",
                               "inventory.clouds[0].interface",
                               "project_name",
                               "inventory.colour",
                               "servicenow.url: must not carry credentials",
                               "servicenow.auth.basic: set exactly one",
                               "servicenow.tables",
                               "servicenow.owner_field",
                               "servicenow.page_size",
                               "gocd.app_pipeline_patterns: \"^deploy-\": has no {app}",
                               "gocd.app_pipeline_patterns: \"^{app}-(\"",
                               "gocd.window_days",
                               "\"ldap\" is not file",
                               "\"file\" appears twice",
                               "report.top_users",
                               "report.state_dir"}) {
    EXPECT_NE(e.find(expected), std::string::npos) << "missing: " << expected << "\n" << e;
  }
  EXPECT_NE(e.find("r.yml:"), std::string::npos) << e;
}

TEST(RegistryConfigTest, InlineSecretsAreWarnedAbout) {
  auto cfg = ParseConfig(
      "inventory: {files: [i.yml]}\nservicenow: {url: 'https://x.service-now.com', auth: {bearer_token: "
      "abc}}\n",
      "r.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_TRUE(cfg->inline_secrets);
  EXPECT_EQ(cfg->servicenow.auth.bearer_token, "abc");
}

TEST(RegistryConfigTest, MissingSecretFileIsAnError) {
  auto cfg = ParseConfig(
      "inventory: {files: [i.yml]}\ngocd: {url: 'https://g', auth: {bearer_token_file: /nonexistent/t}}\n",
      "r.yml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("/nonexistent/t"), std::string::npos) << cfg.error();
}

TEST(RegistryConfigTest, FingerprintsFollowSettingsAndSecrets) {
  auto a = ParseConfig(
      "inventory: {files: [i.yml]}\nservicenow: {url: 'https://x', auth: {bearer_token: a}}\n"
      "gocd: {url: 'https://g', auth: {bearer_token: a}}\n",
      "r.yml");
  auto b = ParseConfig(
      "inventory: {files: [i.yml]}\nservicenow: {url: 'https://x', auth: {bearer_token: b}}\n"
      "gocd: {url: 'https://g', auth: {bearer_token: a}}\n",
      "r.yml");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(Fingerprint(*a, a->servicenow), Fingerprint(*b, b->servicenow));
  EXPECT_EQ(Fingerprint(*a, a->gocd), Fingerprint(*b, b->gocd));
  EXPECT_EQ(Fingerprint(*a, a->servicenow).find('a'), std::string::npos);  // a hash, not the secret
}

}  // namespace
}  // namespace estate::registry
