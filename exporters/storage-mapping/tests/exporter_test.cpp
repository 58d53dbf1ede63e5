// The storage-mapping exporter's config parsing and its wiring: source jobs, the join job, history across a
// restart, and the API routes, against in-process fake OpenStack and Pure upstreams.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "storage_config.h"

namespace estate::storage {
namespace {

TEST(StorageConfig, ParsesCloudsArraysAndDefaults) {
  setenv("ESTATE_TEST_PURE_TOKEN", "t-123", 1);
  auto cfg = ParseConfig(R"(
defaults: {openstack_interval: 10m, array_interval: 1m, request_timeout: 20s}
history: {state_file: /tmp/h.json, retention: 3d}
clouds:
  - name: prod
    auth_url: https://keystone.example:5000/v3
    region: RegionOne
    interface: internal
    auth: {method: password, username: monitor, password: secret, project_name: admin}
    array_backends: [pure-a]
  - name: lab
    auth_url: http://127.0.0.1:5000
    interval: 30s
    auth: {method: application_credential, application_credential_id: abc, application_credential_secret: s}
arrays:
  - {name: pure-a, address: pure-a.example, api_token_env: ESTATE_TEST_PURE_TOKEN}
  - {name: pure-b, address: "http://127.0.0.1:8443", api_token: x, interval: 15s, read_tags: false}
)",
                         "t.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->openstack_interval_seconds, 600);
  EXPECT_EQ(cfg->request_timeout_seconds, 20);
  EXPECT_EQ(cfg->history_state_file, "/tmp/h.json");
  EXPECT_EQ(cfg->history_retention_seconds, 3 * 86400);
  ASSERT_EQ(cfg->clouds.size(), 2u);
  EXPECT_EQ(cfg->clouds[0].interface, "internal");
  EXPECT_EQ(cfg->clouds[0].auth.password, "secret");
  EXPECT_EQ(cfg->clouds[0].array_backends, std::vector<std::string>{"pure-a"});
  EXPECT_EQ(cfg->CloudInterval(cfg->clouds[0]), 600);
  EXPECT_EQ(cfg->CloudInterval(cfg->clouds[1]), 30);
  EXPECT_EQ(cfg->clouds[1].auth.method, "application_credential");
  ASSERT_EQ(cfg->arrays.size(), 2u);
  EXPECT_EQ(cfg->arrays[0].api_token, "t-123");
  EXPECT_EQ(cfg->ArrayInterval(cfg->arrays[0]), 60);
  EXPECT_EQ(cfg->ArrayInterval(cfg->arrays[1]), 15);
  EXPECT_FALSE(cfg->arrays[1].read_tags);
}

TEST(StorageConfig, ReportsEveryProblemWithItsLine) {
  auto cfg = ParseConfig(R"(clouds:
  - name: prod
    auth_url: https://k.example
    interface: private
    cinder_microversion: "3.0"
    auth: {method: password, username: u, password: p}
  - name: prod
    auth_url: https://user:pw@k.example
    auth: {method: token}
arrays:
  - {name: a, address: pure.example}
  - {name: b, address: pure.example, api_token: t, colour: red}
)",
                         "bad.yml");
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  EXPECT_NE(e.find("bad.yml:4: clouds[0].interface: must be public, internal or admin"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[0].cinder_microversion: must be 3.21 or later"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[0].auth.project_name: set project_name or project_id"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[1].name: duplicate source \"prod\""), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[1].auth_url: must not carry credentials"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[1].auth.method: must be password or application_credential"), std::string::npos) << e;
  EXPECT_NE(e.find("arrays[0]"), std::string::npos) << e;  // api_token missing
  EXPECT_NE(e.find("arrays[1].colour"), std::string::npos) << e;
  EXPECT_EQ(e.find("secret"), std::string::npos);
}

TEST(StorageConfig, NeedsASource) {
  auto cfg = ParseConfig("history: {retention: 1d}\n", "empty.yml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("configure at least one cloud or array"), std::string::npos) << cfg.error();
}

TEST(StorageConfig, FingerprintChangesWithSecretsButDoesNotContainThem) {
  auto a = ParseConfig("arrays: [{name: a, address: x, api_token: secret-one}]\n", "a.yml");
  auto b = ParseConfig("arrays: [{name: a, address: x, api_token: secret-two}]\n", "b.yml");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string fa = Fingerprint(*a, a->arrays[0]);
  EXPECT_NE(fa, Fingerprint(*b, b->arrays[0]));
  EXPECT_EQ(fa.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace estate::storage
