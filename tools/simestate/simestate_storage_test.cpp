// The storage kinds of the simulated estate (openstack, pure) and their model: started in-process on port 0
// and driven with plain HTTP, as the storage exporter will.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "estate/testing/e2e.h"
#include "sim_storage_model.h"
#include "simestate.h"
#include "simestate_config.h"

namespace estate::simestate {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kDemoConfig = std::string(SIMESTATE_SOURCE_DIR) + "/estate.demo.yml";
const std::string kDemoModel = std::string(SIMESTATE_SOURCE_DIR) + "/data/storage-demo/model.yml";
const std::set<std::string> kBmcHosts = {"hv-hpe-01", "hv-dell-01", "hv-lenovo-01", "hv-ilo4-01",
                                         "hv-smc-01"};

struct Reply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::size_t AppendBody(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t AppendHeader(char* data, std::size_t size, std::size_t n, void* user) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(value.begin());
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

Reply Call(const std::string& method, const std::string& url, const std::vector<std::string>& headers = {},
           const std::string& body = "") {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (list != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

std::string PasswordAuth(const std::string& user, const std::string& password) {
  return json{{"auth",
               {{"identity",
                 {{"methods", {"password"}},
                  {"password",
                   {{"user", {{"name", user}, {"domain", {{"name", "Default"}}}, {"password", password}}}}}}},
                {"scope", {{"project", {{"name", "admin"}, {"domain", {{"name", "Default"}}}}}}}}}}
      .dump();
}

// The demo's storage upstreams (cloud-demo, pure-a, pure-b) on free ports, plus any extra YAML upstreams.
class StorageSimTest : public ::testing::Test {
 protected:
  void StartDemo(const std::string& extra_yaml = "") {
    auto demo = LoadConfig(kDemoConfig);
    ASSERT_TRUE(demo) << demo.error();
    Config cfg;
    for (auto up : demo->upstreams) {
      if (up.kind != "openstack" && up.kind != "pure") continue;
      up.port = 0;
      cfg.upstreams.push_back(up);
    }
    if (!extra_yaml.empty()) {
      auto extra = ParseConfig(extra_yaml, "extra.yml", SIMESTATE_SOURCE_DIR);
      ASSERT_TRUE(extra) << extra.error();
      for (auto& up : extra->upstreams) cfg.upstreams.push_back(up);
    }
    sim_ = std::make_unique<SimEstate>(std::move(cfg));
    auto started = sim_->Start("127.0.0.1", 0);
    ASSERT_TRUE(started) << started.error();
    ports_ = sim_->Ports();
  }
  std::string Url(const std::string& upstream, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(ports_.at(upstream)) + path;
  }
  // An admin (or reader) token for cloud-demo.
  std::string Token(const std::string& user = "monitor",
                    const std::string& password = "demo-openstack-password") {
    Reply r = Call("POST", Url("cloud-demo", "/identity/v3/auth/tokens"), {"Content-Type: application/json"},
                   PasswordAuth(user, password));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Header("x-subject-token");
  }
  std::string PureSession(const std::string& array) {
    Reply r = Call("POST", Url(array, "/api/2.26/login"), {"api-token: demo-" + array + "-api-token"});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Header("x-auth-token");
  }
  // Every item of a Nova or Cinder listing, following the next links.
  json ListAll(const std::string& url, const std::string& key, const std::string& token, int* pages,
               const std::vector<std::string>& extra_headers = {}) {
    json all = json::array();
    std::string next = url;
    *pages = 0;
    while (!next.empty() && *pages < 1000) {
      std::vector<std::string> headers = {"X-Auth-Token: " + token};
      headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
      Reply r = Call("GET", next, headers);
      EXPECT_EQ(r.status, 200) << next << ": " << r.body;
      if (r.status != 200) break;
      json body = r.Json();
      ++*pages;
      for (auto& item : body[key]) all.push_back(item);
      next.clear();
      for (const auto& link : body.value(key + "_links", json::array())) {
        if (link.value("rel", "") == "next") next = link.value("href", "");
      }
    }
    return all;
  }
  // Every item of a Pure listing, following continuation_token.
  json PureAll(const std::string& array, const std::string& path, const std::string& session, int limit,
               int* pages) {
    json all = json::array();
    std::string token;
    *pages = 0;
    do {
      std::string url = Url(array, path) + (path.find('?') == std::string::npos ? "?" : "&") +
                        "limit=" + std::to_string(limit);
      if (!token.empty()) url += "&continuation_token=" + token;
      Reply r = Call("GET", url, {"x-auth-token: " + session});
      EXPECT_EQ(r.status, 200) << url << ": " << r.body;
      if (r.status != 200) break;
      json body = r.Json();
      ++*pages;
      for (auto& item : body["items"]) all.push_back(item);
      token = body["continuation_token"].is_string() ? body["continuation_token"].get<std::string>() : "";
      EXPECT_EQ(r.Header("x-next-token"), token);
      EXPECT_EQ(body["more_items_remaining"].get<bool>(), !token.empty());
    } while (!token.empty() && *pages < 1000);
    return all;
  }
  std::string Control(const std::string& method, const std::string& path, long want = 200) {
    Reply r = Call(method, "http://127.0.0.1:" + std::to_string(ports_.at("_control")) + path);
    EXPECT_EQ(r.status, want) << path << ": " << r.body;
    return r.body;
  }

  std::unique_ptr<SimEstate> sim_;
  std::map<std::string, int> ports_;
};

TEST_F(StorageSimTest, KeystoneIssuesTokensWithACatalogPointingBackAtTheUpstream) {
  StartDemo();
  Reply r = Call("POST", Url("cloud-demo", "/identity/v3/auth/tokens"), {"Content-Type: application/json"},
                 PasswordAuth("monitor", "demo-openstack-password"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_FALSE(r.Header("x-subject-token").empty());
  json token = r.Json()["token"];
  EXPECT_EQ(token["project"]["name"], "admin");
  EXPECT_EQ(token["expires_at"].get<std::string>().back(), 'Z');
  std::map<std::string, std::string> urls;  // type -> public url
  for (const auto& service : token["catalog"]) {
    for (const auto& ep : service["endpoints"]) {
      if (ep["interface"] == "public") urls[service["type"]] = ep["url"];
      EXPECT_EQ(ep["region_id"], "RegionOne");
    }
  }
  const std::string base = Url("cloud-demo", "");
  EXPECT_EQ(urls["identity"], base + "/identity");
  EXPECT_EQ(urls["compute"], base + "/compute/v2.1");
  EXPECT_EQ(urls["volumev3"], base + "/volume/v3/" + token["project"]["id"].get<std::string>());

  // Application credential.
  json appcred = {{"auth",
                   {{"identity",
                     {{"methods", {"application_credential"}},
                      {"application_credential",
                       {{"id", "estate-monitor-appcred"}, {"secret", "demo-appcred-secret"}}}}}}}};
  r = Call("POST", Url("cloud-demo", "/identity/v3/auth/tokens"), {"Content-Type: application/json"},
           appcred.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["token"]["methods"][0], "application_credential");
  std::string appcred_token = r.Header("x-subject-token");
  EXPECT_EQ(
      Call("GET", Url("cloud-demo", "/identity/v3/projects"), {"X-Auth-Token: " + appcred_token}).status,
      200);

  // Wrong secrets.
  appcred["auth"]["identity"]["application_credential"]["secret"] = "wrong";
  EXPECT_EQ(Call("POST", Url("cloud-demo", "/identity/v3/auth/tokens"), {}, appcred.dump()).status, 401);
  EXPECT_EQ(
      Call("POST", Url("cloud-demo", "/identity/v3/auth/tokens"), {}, PasswordAuth("monitor", "nope")).status,
      401);
}

// Over https the catalog says https: a client that follows it must reach the same TLS listener.
TEST_F(StorageSimTest, AnHttpsCloudPutsHttpsInItsCatalog) {
  estate::testing::TempDir dir;
  auto pki = estate::testing::MakeTestPki(dir);
  ASSERT_TRUE(pki) << pki.error();
  StartDemo(
      "upstreams:\n  - name: cloud-tls\n    kind: openstack\n    model: data/storage-demo/model.yml\n"
      "    tls_cert_file: " +
      pki->good_pem +
      "\n    openstack:\n      users:\n"
      "        - {name: monitor, password: demo-openstack-password, project: admin, admin: true}\n");
  const std::string base = "https://127.0.0.1:" + std::to_string(ports_.at("cloud-tls"));
  const std::string body = PasswordAuth("monitor", "demo-openstack-password");
  std::string answer;
  CURL* curl = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, (base + "/identity/v3/auth/tokens").c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, pki->ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  ASSERT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
  ASSERT_EQ(status, 201) << answer;
  const json token = json::parse(answer)["token"];
  int endpoints = 0;
  for (const auto& service : token["catalog"]) {
    for (const auto& ep : service["endpoints"]) {
      EXPECT_EQ(ep["url"].get<std::string>().rfind(base + "/", 0), 0u) << ep.dump();
      ++endpoints;
    }
  }
  EXPECT_GT(endpoints, 0);
}

TEST_F(StorageSimTest, EverythingButTokenIssueNeedsALiveToken) {
  StartDemo();
  for (const std::string path :
       {"/compute/v2.1/servers/detail", "/volume/v3/volumes/detail", "/identity/v3/projects"}) {
    EXPECT_EQ(Call("GET", Url("cloud-demo", path)).status, 401) << path;
    EXPECT_EQ(Call("GET", Url("cloud-demo", path), {"X-Auth-Token: made-up"}).status, 401) << path;
  }
  std::string token = Token();
  json projects = Call("GET", Url("cloud-demo", "/identity/v3/projects"), {"X-Auth-Token: " + token}).Json();
  EXPECT_EQ(projects["projects"].size(), 4u);

  // Revoking every token (the "token expires mid-refresh" case).
  EXPECT_EQ(Call("GET", Url("cloud-demo", "/compute/v2.1/servers/detail"), {"X-Auth-Token: " + token}).status,
            200);
  json revoked = json::parse(Control("POST", "/tokens/expire?upstream=cloud-demo"));
  EXPECT_GE(revoked["revoked"].get<long>(), 1);
  EXPECT_EQ(Call("GET", Url("cloud-demo", "/compute/v2.1/servers/detail"), {"X-Auth-Token: " + token}).status,
            401);
  EXPECT_EQ(
      Call("GET", Url("cloud-demo", "/compute/v2.1/servers/detail"), {"X-Auth-Token: " + Token()}).status,
      200);
}

TEST_F(StorageSimTest, TokensExpireAfterTheirTtl) {
  StartDemo(R"(upstreams:
  - name: short-lived
    kind: openstack
    model: data/storage-demo/model.yml
    openstack:
      token_ttl: 300ms
      users: [{name: monitor, password: pw}]
)");
  Reply r = Call("POST", Url("short-lived", "/identity/v3/auth/tokens"), {}, PasswordAuth("monitor", "pw"));
  ASSERT_EQ(r.status, 201);
  const std::string token = r.Header("x-subject-token");
  long status = 0;
  for (auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
    status = Call("GET", Url("short-lived", "/identity/v3/projects"), {"X-Auth-Token: " + token}).status;
    if (status == 401) break;
  }
  EXPECT_EQ(status, 401);
}

TEST_F(StorageSimTest, NovaAndCinderPageWithMarkersAndNextLinks) {
  StartDemo();
  const std::string token = Token();
  // 16 servers in pages of 5: 5, 5, 5, 1; every full page has a next link, the last has none.
  int pages = 0;
  json servers = ListAll(Url("cloud-demo", "/compute/v2.1/servers/detail?all_tenants=1&limit=5"), "servers",
                         token, &pages, {"OpenStack-API-Version: compute 2.47"});
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(servers.size(), 16u);
  std::set<std::string> ids;
  for (const auto& s : servers) ids.insert(s["id"].get<std::string>());
  EXPECT_EQ(ids.size(), 16u);
  // An exactly full last page still has a next link, and the page after it is empty without one.
  json four = ListAll(Url("cloud-demo", "/compute/v2.1/servers/detail?all_tenants=1&limit=4"), "servers",
                      token, &pages);
  EXPECT_EQ(four.size(), 16u);
  EXPECT_EQ(pages, 5);
  // limit is capped at 1000 and defaults to it.
  json one = Call("GET", Url("cloud-demo", "/compute/v2.1/servers/detail?all_tenants=1&limit=5000"),
                  {"X-Auth-Token: " + token})
                 .Json();
  EXPECT_EQ(one["servers"].size(), 16u);
  EXPECT_FALSE(one.contains("servers_links"));
  // Without all_tenants only the token's project (admin: monitoring01).
  json own =
      Call("GET", Url("cloud-demo", "/compute/v2.1/servers/detail"), {"X-Auth-Token: " + token}).Json();
  EXPECT_EQ(own["servers"].size(), 1u);
  // An unknown marker is a 400, as in Nova.
  EXPECT_EQ(
      Call("GET", Url("cloud-demo", "/compute/v2.1/servers/detail?marker=nope"), {"X-Auth-Token: " + token})
          .status,
      400);

  // Cinder under the catalog URL (with the project id): 32 volumes in pages of 10.
  json projects = Call("GET", Url("cloud-demo", "/identity/v3/projects"), {"X-Auth-Token: " + token}).Json();
  std::string admin_project;
  for (const auto& p : projects["projects"]) {
    if (p["name"] == "admin") admin_project = p["id"];
  }
  json volumes =
      ListAll(Url("cloud-demo", "/volume/v3/" + admin_project + "/volumes/detail?all_tenants=1&limit=10"),
              "volumes", token, &pages, {"OpenStack-API-Version: volume 3.69"});
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(volumes.size(), 32u);
  for (const auto& v : volumes) {
    EXPECT_TRUE(v.contains("provider_id")) << v["id"];
    EXPECT_TRUE(v.contains("os-vol-host-attr:host"));
  }
}

TEST_F(StorageSimTest, NovaAggregatesSplitTheHypervisorsBetweenTwoTeams) {
  StartDemo();
  Reply r = Call("GET", Url("cloud-demo", "/compute/v2.1/os-aggregates"), {"X-Auth-Token: " + Token()});
  ASSERT_EQ(r.status, 200) << r.body;
  json aggregates = r.Json()["aggregates"];
  ASSERT_EQ(aggregates.size(), 2u);
  auto model = LoadStorageModel(kDemoModel);
  ASSERT_TRUE(model) << model.error();
  std::vector<std::string> hosts;
  std::set<std::string> teams;
  for (const auto& a : aggregates) {
    EXPECT_TRUE(a["id"].is_number_integer());
    EXPECT_FALSE(a["hosts"].empty()) << a.dump();
    for (const auto& h : a["hosts"]) hosts.push_back(h.get<std::string>());
    teams.insert(a["metadata"]["team"].get<std::string>());
  }
  EXPECT_EQ(aggregates[0]["name"], "pool-1");
  EXPECT_EQ(teams, (std::set<std::string>{"platform-a", "platform-b"}));
  EXPECT_EQ(hosts, (*model)->hypervisors);  // every hypervisor in exactly one aggregate
  EXPECT_EQ(Call("GET", Url("cloud-demo", "/compute/v2.1/os-aggregates"), {}).status, 401);
  EXPECT_EQ(Call("GET", Url("cloud-demo", "/compute/v2.1/os-aggregates"),
                 {"X-Auth-Token: " + Token("reader", "demo-reader-password")})
                .status,
            403);
}

TEST_F(StorageSimTest, NonAdminViewsLackTheAdminOnlyFields) {
  StartDemo();
  const std::string admin = Token();
  const std::string reader = Token("reader", "demo-reader-password");
  auto find = [](const json& list, const std::string& key, const std::string& value) {
    for (const auto& item : list) {
      if (item.value(key, "") == value) return item;
    }
    return json();
  };
  const std::vector<std::string> nova = {"OpenStack-API-Version: compute 2.47"};
  const std::vector<std::string> cinder = {"OpenStack-API-Version: volume 3.69"};
  int pages = 0;
  json admin_servers = ListAll(Url("cloud-demo", "/compute/v2.1/servers/detail?all_tenants=1"), "servers",
                               admin, &pages, nova);
  json reader_servers = ListAll(Url("cloud-demo", "/compute/v2.1/servers/detail?all_tenants=1"), "servers",
                                reader, &pages, nova);
  json a = find(admin_servers, "name", "iex-fokpp01");
  json r = find(reader_servers, "name", "iex-fokpp01");
  ASSERT_TRUE(a.is_object() && r.is_object());
  EXPECT_EQ(a["OS-EXT-SRV-ATTR:host"], "hv-hpe-01");
  EXPECT_EQ(a["OS-EXT-SRV-ATTR:hypervisor_hostname"], "hv-hpe-01.estate.example");
  EXPECT_EQ(a["OS-EXT-SRV-ATTR:hostname"], "iex-fokpp01");
  for (const auto& [key, value] : r.items()) EXPECT_NE(key.rfind("OS-EXT-SRV-ATTR:", 0), 0u) << key;
  EXPECT_EQ(r["os-extended-volumes:volumes_attached"].size(), 3u);

  json admin_volumes =
      ListAll(Url("cloud-demo", "/volume/v3/volumes/detail?all_tenants=1"), "volumes", admin, &pages, cinder);
  json reader_volumes = ListAll(Url("cloud-demo", "/volume/v3/volumes/detail?all_tenants=1"), "volumes",
                                reader, &pages, cinder);
  json av = find(admin_volumes, "name", "fokpp_kafka_logs_04");
  json rv = find(reader_volumes, "name", "fokpp_kafka_logs_04");
  ASSERT_TRUE(av.is_object() && rv.is_object());
  EXPECT_EQ(av["provider_id"], "volume-" + av["id"].get<std::string>() + "-cinder");
  EXPECT_EQ(av["os-vol-host-attr:host"], "cinder-volume@pure-a#pure-a");
  EXPECT_EQ(av["attachments"][0]["host_name"], "hv-hpe-01");
  EXPECT_EQ(av["attachments"][0]["device"], "/dev/vdb");
  EXPECT_EQ(av["attachments"][0]["server_id"], a["id"]);
  for (const char* key : {"provider_id", "os-vol-host-attr:host", "os-vol-mig-status-attr:name_id",
                          "os-vol-mig-status-attr:migstat", "migration_status"}) {
    EXPECT_FALSE(rv.contains(key)) << key;
  }
  EXPECT_TRUE(rv["attachments"][0]["host_name"].is_null());
  // provider_id needs microversion 3.21.
  json old =
      Call("GET", Url("cloud-demo", "/volume/v3/volumes/detail?all_tenants=1"), {"X-Auth-Token: " + admin})
          .Json();
  EXPECT_FALSE(old["volumes"][0].contains("provider_id"));
}

TEST_F(StorageSimTest, PureLoginSessionsAndPaging) {
  StartDemo();
  json versions = Call("GET", Url("pure-a", "/api/api_version")).Json();
  ASSERT_TRUE(versions["version"].is_array());
  EXPECT_EQ(versions["version"].back(), "2.26");
  EXPECT_EQ(Call("GET", Url("pure-a", "/api/2.26/volumes")).status, 401);
  EXPECT_EQ(Call("POST", Url("pure-a", "/api/2.26/login"), {"api-token: wrong"}).status, 401);
  const std::string session = PureSession("pure-a");
  ASSERT_FALSE(session.empty());
  int pages = 0;
  json volumes = PureAll("pure-a", "/api/2.26/volumes", session, 5, &pages);
  json first = Call("GET", Url("pure-a", "/api/2.26/volumes?limit=5"), {"x-auth-token: " + session}).Json();
  ASSERT_EQ(volumes.size(), first["total_item_count"].get<std::size_t>());
  EXPECT_EQ(pages, static_cast<int>((volumes.size() + 4) / 5));
  std::set<std::string> names, serials, array_parts;
  for (const auto& v : volumes) {
    names.insert(v["name"].get<std::string>());
    const std::string serial = v["serial"].get<std::string>();
    EXPECT_EQ(serial.size(), 24u);
    serials.insert(serial);
    // As on a real array, the first 16 hex digits name the array a volume was created on (a stretched pod's
    // volume may come from the other array).
    if (serial.find_first_not_of("0123456789ABCDEF") != std::string::npos) ADD_FAILURE() << serial;
    if (v["name"].get<std::string>().find("::") == std::string::npos)
      array_parts.insert(serial.substr(0, 16));
    EXPECT_EQ(v["subtype"], "regular");
    EXPECT_TRUE(v["space"].contains("total_physical"));
  }
  EXPECT_EQ(names.size(), volumes.size());
  EXPECT_EQ(serials.size(), volumes.size());
  EXPECT_EQ(array_parts.size(), 1u);
  EXPECT_EQ(
      Call("GET", Url("pure-a", "/api/2.26/volumes?continuation_token=bogus"), {"x-auth-token: " + session})
          .status,
      400);
  // A stale session (revoked through the control API) is a 401; a new login works.
  Control("POST", "/tokens/expire?upstream=pure-a");
  EXPECT_EQ(Call("GET", Url("pure-a", "/api/2.26/volumes"), {"x-auth-token: " + session}).status, 401);
  const std::string again = PureSession("pure-a");
  EXPECT_EQ(Call("POST", Url("pure-a", "/api/2.26/logout"), {"x-auth-token: " + again}).status, 200);
  EXPECT_EQ(Call("GET", Url("pure-a", "/api/2.26/hosts"), {"x-auth-token: " + again}).status, 401);
  json sessions = json::parse(Control("GET", "/sessions?upstream=pure-a"));
  EXPECT_EQ(sessions["created"], 2);
  EXPECT_EQ(sessions["deleted"], 1);
  EXPECT_EQ(sessions["active"], 0);
}

TEST_F(StorageSimTest, TheDemoModelHitsEveryJoinEdgeCase) {
  StartDemo();
  const std::string token = Token();
  int pages = 0;
  json cinder = ListAll(Url("cloud-demo", "/volume/v3/volumes/detail?all_tenants=1"), "volumes", token,
                        &pages, {"OpenStack-API-Version: volume 3.69"});
  std::map<std::string, json> by_name;
  for (const auto& v : cinder) by_name[v["name"].get<std::string>()] = v;
  std::map<std::string, std::map<std::string, json>> arrays;  // array -> name -> volume
  std::map<std::string, json> tags, connections;
  for (const std::string array : {"pure-a", "pure-b"}) {
    const std::string session = PureSession(array);
    for (const auto& v : PureAll(array, "/api/2.26/volumes", session, 100, &pages))
      arrays[array][v["name"]] = v;
    tags[array] = PureAll(array, "/api/2.26/volumes/tags?namespaces=openstack-integration.purestorage.com",
                          session, 100, &pages);
    connections[array] = PureAll(array, "/api/2.26/connections", session, 100, &pages);
  }
  auto id = [&](const std::string& name) { return by_name.at(name)["id"].get<std::string>(); };

  // provider_id set.
  EXPECT_EQ(arrays["pure-a"].count(by_name["fokpp_kafka_logs_04"]["provider_id"]), 1u);
  // No provider_id, metadata.array_volume_name.
  json logs05 = by_name["fokpp_kafka_logs_05"];
  EXPECT_TRUE(logs05["provider_id"].is_null());
  EXPECT_EQ(arrays["pure-a"].count(logs05["metadata"]["array_volume_name"]), 1u);
  EXPECT_EQ(logs05["metadata"]["array_name"], "pure-a");
  // Migrated: the array name uses name_id.
  json migrated = by_name["pgdb_main_data"];
  ASSERT_TRUE(migrated["os-vol-mig-status-attr:name_id"].is_string());
  EXPECT_NE(migrated["os-vol-mig-status-attr:name_id"], migrated["id"]);
  EXPECT_EQ(arrays["pure-a"].count("volume-" + migrated["os-vol-mig-status-attr:name_id"].get<std::string>() +
                                   "-cinder"),
            1u);
  EXPECT_EQ(arrays["pure-a"].count("volume-" + id("pgdb_main_data") + "-cinder"), 0u);
  // Plain: matched by id.
  EXPECT_EQ(arrays["pure-a"].count("volume-" + id("web_front01_data") + "-cinder"), 1u);
  // Replicated: in pod cinder-pod on both arrays with the same serial.
  const std::string pod_name = "cinder-pod::volume-" + id("pgdb_main_wal") + "-cinder";
  ASSERT_EQ(arrays["pure-a"].count(pod_name), 1u);
  ASSERT_EQ(arrays["pure-b"].count(pod_name), 1u);
  EXPECT_EQ(arrays["pure-a"][pod_name]["serial"], arrays["pure-b"][pod_name]["serial"]);
  EXPECT_EQ(arrays["pure-a"][pod_name]["pod"]["name"], "cinder-pod");
  // Left-truncated long name, carried in provider_id.
  const std::string truncated = by_name["batch_scratch_01"]["provider_id"];
  EXPECT_EQ(truncated.size(), 63u);
  EXPECT_EQ(truncated,
            StorageModel::PurityName("", "estate-prod-blockstore-volume-" + id("batch_scratch_01")));
  EXPECT_EQ(arrays["pure-a"].count(truncated), 1u);
  // Destroyed with a Cinder record (error_deleting) and without one.
  json old = by_name["old_scratch_01"];
  EXPECT_EQ(old["status"], "error_deleting");
  EXPECT_TRUE(arrays["pure-b"].at(old["provider_id"])["destroyed"].get<bool>());
  int destroyed_orphans = 0, unmanaged = 0, orphans = 0;
  std::set<std::string> cinder_ids;
  for (const auto& [name, v] : by_name) cinder_ids.insert(v["id"].get<std::string>());
  for (const auto& [array, vols] : arrays) {
    for (const auto& [name, v] : vols) {
      if (name.size() > 50 && name.rfind("volume-", 0) == 0 &&
          name.find("-cinder-unmanaged") != std::string::npos) {
        ++unmanaged;
      } else if (name.rfind("volume-", 0) == 0 && cinder_ids.count(name.substr(7, 36)) == 0 &&
                 name.substr(7, 36) != migrated["os-vol-mig-status-attr:name_id"]) {
        (v["destroyed"].get<bool>() ? destroyed_orphans : orphans)++;
        if (v["destroyed"].get<bool>()) {
          EXPECT_GT(v["time_remaining"].get<long>(), 0);
        }
      }
    }
  }
  EXPECT_EQ(destroyed_orphans, 1);
  EXPECT_EQ(orphans, 1);
  EXPECT_EQ(unmanaged, 1);
  // Multi-attach on two servers; detached; boot from volume; missing on the array; not Cinder at all.
  EXPECT_EQ(by_name["pgdb_cluster_quorum"]["attachments"].size(), 2u);
  EXPECT_EQ(by_name["spare_data_01"]["status"], "available");
  EXPECT_TRUE(by_name["spare_data_01"]["attachments"].empty());
  EXPECT_EQ(by_name["iex-fokpp01-root"]["attachments"][0]["device"], "/dev/vda");
  EXPECT_EQ(by_name["iex-fokpp01-root"]["bootable"], "true");
  EXPECT_EQ(arrays["pure-b"].count(by_name["web_front02_logs"]["provider_id"]), 0u);
  EXPECT_EQ(arrays["pure-a"].count("esx-datastore-01"), 1u);
  // Tags: VmId of the kafka logs volume is iex-fokpp01; connections go to the hypervisor's Cinder host.
  const std::string vm = by_name["fokpp_kafka_logs_04"]["attachments"][0]["server_id"];
  bool tagged = false;
  for (const auto& t : tags["pure-a"]) {
    EXPECT_EQ(t["namespace"], "openstack-integration.purestorage.com");
    if (t["resource"]["name"] == by_name["fokpp_kafka_logs_04"]["provider_id"] && t["key"] == "VmId") {
      tagged = t["value"] == vm;
    }
  }
  EXPECT_TRUE(tagged);
  bool connected = false;
  for (const auto& c : connections["pure-a"]) {
    if (c["volume"]["name"] == by_name["fokpp_kafka_logs_04"]["provider_id"]) {
      connected = c["host"]["name"] == StorageModel::PureHostName("hv-hpe-01");
    }
  }
  EXPECT_TRUE(connected);
  EXPECT_NE(StorageModel::PureHostName("hv-hpe-01").find("hv-hpe-01-"), std::string::npos);
  EXPECT_EQ(StorageModel::PureHostName("hv-hpe-01").size(), std::string("hv-hpe-01-").size() + 32 + 7);
}

TEST_F(StorageSimTest, PureRateLimitAnswers429WithHeaders) {
  StartDemo(R"(upstreams:
  - name: pure-limited
    kind: pure
    model: data/storage-demo/model.yml
    pure: {array: pure-a, requests_per_second: 2, requests_per_minute: 100}
)");
  Reply limited;
  for (int i = 0; i < 6 && limited.status != 429; ++i)
    limited = Call("GET", Url("pure-limited", "/api/api_version"));
  ASSERT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "1");
  EXPECT_EQ(limited.Header("x-ratelimit-limit-second"), "2");
  EXPECT_EQ(limited.Header("x-ratelimit-remaining-second"), "0");
  EXPECT_EQ(limited.Header("x-ratelimit-limit-minute"), "100");
  EXPECT_FALSE(limited.Header("x-ratelimit-remaining-minute").empty());
}

TEST_F(StorageSimTest, RedeployChangesTheCloudAndTheArrays) {
  StartDemo();
  const std::string token = Token();
  const std::vector<std::string> cinder_v = {"OpenStack-API-Version: volume 3.69"};
  int pages = 0;
  auto server_id = [&]() {
    for (const auto& s :
         ListAll(Url("cloud-demo", "/compute/v2.1/servers/detail?all_tenants=1"), "servers", token, &pages)) {
      if (s["name"] == "iex-fokpp01") return s["id"].get<std::string>();
    }
    return std::string();
  };
  auto volume = [&](const std::string& name) {
    for (const auto& v : ListAll(Url("cloud-demo", "/volume/v3/volumes/detail?all_tenants=1"), "volumes",
                                 token, &pages, cinder_v)) {
      if (v["name"] == name) return v;
    }
    return json();
  };
  const std::string old_server = server_id();
  const json old_volume = volume("fokpp_kafka_logs_04");
  json result = json::parse(Control("POST", "/redeploy?upstream=cloud-demo&server=iex-fokpp01"));
  EXPECT_EQ(result["old_id"], old_server);
  EXPECT_EQ(result["deleted_volumes"].size(), 3u);  // root, logs_04, logs_03
  const std::string new_server = server_id();
  EXPECT_NE(new_server, old_server);
  EXPECT_EQ(new_server, result["new_id"]);
  const json new_volume = volume("fokpp_kafka_logs_04");
  EXPECT_NE(new_volume["id"], old_volume["id"]);
  EXPECT_EQ(new_volume["attachments"][0]["server_id"], new_server);
  EXPECT_EQ(new_volume["attachments"][0]["device"], "/dev/vdb");

  // The array (another upstream on the same model) sees it too.
  const std::string session = PureSession("pure-a");
  std::map<std::string, json> vols;
  for (const auto& v : PureAll("pure-a", "/api/2.26/volumes", session, 100, &pages)) vols[v["name"]] = v;
  ASSERT_EQ(vols.count(old_volume["provider_id"]), 1u);
  EXPECT_TRUE(vols[old_volume["provider_id"]]["destroyed"].get<bool>());
  ASSERT_EQ(vols.count(new_volume["provider_id"]), 1u);
  EXPECT_FALSE(vols[new_volume["provider_id"]]["destroyed"].get<bool>());
  bool tagged = false;
  for (const auto& t : PureAll("pure-a", "/api/2.26/volumes/tags", session, 100, &pages)) {
    if (t["resource"]["name"] == new_volume["provider_id"] && t["key"] == "VmId")
      tagged = t["value"] == new_server;
  }
  EXPECT_TRUE(tagged);
  Control("POST", "/redeploy?upstream=cloud-demo&server=no-such-server", 404);
}

TEST_F(StorageSimTest, TheDemoModelsHypervisorsAreTheBmcHosts) {
  auto model = LoadStorageModel(kDemoModel);
  ASSERT_TRUE(model) << model.error();
  const StorageModel& m = **model;
  EXPECT_EQ(std::set<std::string>(m.hypervisors.begin(), m.hypervisors.end()), kBmcHosts);
  std::map<std::string, int> guests;
  for (const auto& s : m.servers) ++guests[s.hypervisor];
  for (const auto& hv : kBmcHosts) EXPECT_GE(guests[hv], 2) << hv;
  EXPECT_GE(guests["hv-hpe-01"], 4);
  EXPECT_GE(m.servers.size(), 12u);
  EXPECT_LE(m.servers.size(), 20u);
  EXPECT_GE(m.volumes.size(), 30u);
  EXPECT_LE(m.volumes.size(), 40u);
  // Every model the demo config names loads, and both arrays exist.
  auto demo = LoadConfig(kDemoConfig);
  ASSERT_TRUE(demo) << demo.error();
  EXPECT_EQ(m.array_views.count("pure-a") + m.array_views.count("pure-b"), 2u);
}

TEST_F(StorageSimTest, AGeneratedModelOf100kVolumesLoadsQuicklyAndServesPages) {
  GenerateSpec spec;
  spec.servers = 50000;
  spec.volumes = 100000;
  spec.arrays = 2;
  const auto start = Clock::now();
  auto model = GenerateStorageModel(spec);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("generated %zu servers, %zu volumes, %zu + %zu array volumes in %.2f s\n",
              model->servers.size(), model->volumes.size(), model->array_views["pure-gen-1"].volumes.size(),
              model->array_views["pure-gen-2"].volumes.size(), seconds);
  EXPECT_EQ(model->servers.size(), 50000u);
  EXPECT_EQ(model->volumes.size(), 100000u);
  // A guard against a quadratic blow-up (~1 s in a release build), not a performance figure: under ASan on a
  // slow machine it took 10.4 s.
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(seconds, 90.0);
#else
  EXPECT_LT(seconds, 20.0);
#endif

  StartDemo(R"(upstreams:
  - name: big-cloud
    kind: openstack
    generate: {servers: 50000, volumes: 100000, arrays: 2, seed: 1}
    openstack: {users: [{name: monitor, password: pw}]}
  - name: big-array
    kind: pure
    generate: {servers: 50000, volumes: 100000, arrays: 2, seed: 1}
    pure: {array: pure-gen-1}
)");
  json summary = json::parse(Control("GET", "/model?upstream=big-array"));
  EXPECT_EQ(summary["volumes"], 100000);  // one model shared by both upstreams
  Reply r = Call("POST", Url("big-cloud", "/identity/v3/auth/tokens"), {}, PasswordAuth("monitor", "pw"));
  ASSERT_EQ(r.status, 201);
  const std::string token = r.Header("x-subject-token");
  auto timed = [](const std::string& url, const std::vector<std::string>& headers, Reply* out) {
    const auto t0 = Clock::now();
    *out = Call("GET", url, headers);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  Reply page;
  double t = timed(Url("big-cloud", "/compute/v2.1/servers/detail?all_tenants=1&limit=1000"),
                   {"X-Auth-Token: " + token, "OpenStack-API-Version: compute 2.47"}, &page);
  ASSERT_EQ(page.status, 200);
  json servers = page.Json();
  EXPECT_EQ(servers["servers"].size(), 1000u);
  std::string next = servers["servers_links"][0]["href"];
  EXPECT_EQ(timed(next, {"X-Auth-Token: " + token}, &page) >= 0, true);
  EXPECT_EQ(page.Json()["servers"].size(), 1000u);
  std::printf("nova page of 1000: %.3f s\n", t);
  t = timed(Url("big-cloud", "/volume/v3/volumes/detail?all_tenants=1&limit=1000"),
            {"X-Auth-Token: " + token, "OpenStack-API-Version: volume 3.69"}, &page);
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Json()["volumes"].size(), 1000u);
  std::printf("cinder page of 1000: %.3f s\n", t);
  r = Call("POST", Url("big-array", "/api/2.26/login"), {"api-token: any"});
  const std::string session = r.Header("x-auth-token");
  t = timed(Url("big-array", "/api/2.26/volumes?limit=1000"), {"x-auth-token: " + session}, &page);
  ASSERT_EQ(page.status, 200);
  json vols = page.Json();
  EXPECT_EQ(vols["items"].size(), 1000u);
  EXPECT_EQ(vols["total_item_count"], 50000);
  std::printf("pure page of 1000: %.3f s\n", t);
  EXPECT_LT(t, 2.0);
}

TEST_F(StorageSimTest, ConfigErrorsForTheStorageKinds) {
  auto bad = ParseConfig(R"(upstreams:
  - {name: c, kind: openstack}
  - {name: p, kind: pure, model: data/storage-demo/model.yml, pure: {array: pure-z}}
  - {name: x, kind: example, generate: {servers: 1}}
  - {name: y, kind: pure, model: data/storage-demo/model.yml, openstack: {}}
)",
                         "bad.yml", SIMESTATE_SOURCE_DIR);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("bad.yml:2: upstreams[0].model: kind openstack needs model, generate or data"),
            std::string::npos)
      << bad.error();
  EXPECT_NE(bad.error().find("array pure-z is not in the model"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("is only for kinds openstack and pure"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("is only for kind openstack"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace estate::simestate
