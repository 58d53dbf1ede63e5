#include "simestate.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sim_registry_data.h"
#include "simestate_config.h"

extern char** environ;

namespace estate::simestate {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using testing::Fault;

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
};

std::size_t Append(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

Reply Call(const std::string& method, const std::string& url, const std::string& body = "",
           const std::string& userpwd = "") {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  if (!userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  reply.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_cleanup(curl);
  return reply;
}

std::size_t CollectHeader(char* data, std::size_t size, std::size_t n, void* user) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
  }
  return size * n;
}

// Like Call, with request headers and the response headers (lower-cased names) returned.
Reply CallWithHeaders(const std::string& method, const std::string& url, const std::string& body,
                      const std::vector<std::string>& headers, std::map<std::string, std::string>* response_headers) {
  Reply reply;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, response_headers);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (method != "GET") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  reply.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

std::string Url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class SimestateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("simestate_" + std::to_string(::getpid()) + "_" +
                                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    WriteFile(dir_ / "tree/api/v1/status/index.json", R"({"status":"ok"})");
    WriteFile(dir_ / "tree/api/v1/nodes/index.json", R"({"items":[]})");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(SimestateTest, ParsesAFullConfig) {
  auto cfg = ParseConfig(R"(
upstreams:
  - name: bmc-1
    kind: redfish
    port: 0
    data: tree
    lenient_paths: false
    threads: 4
    basic_auth: {username: root, password: calvin}
    faults:
      - {kind: status, status: 429, headers: {Retry-After: "3"}, remaining: 2}
      - {latency: 1s500ms, path_prefix: /api}
      - {kind: slow_drip, drip_interval: 50ms, drip_bytes: 2}
      - {kind: huge, huge_bytes: 1000}
  - name: plain
)",
                         "test.yml", dir_.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  ASSERT_EQ(cfg->upstreams.size(), 2u);
  const auto& bmc = cfg->upstreams[0];
  EXPECT_EQ(bmc.name, "bmc-1");
  EXPECT_EQ(bmc.kind, "redfish");
  EXPECT_EQ(bmc.data_dir, (dir_ / "tree").string());
  EXPECT_FALSE(bmc.lenient_paths);
  EXPECT_EQ(bmc.threads, 4);
  EXPECT_EQ(bmc.username, "root");
  EXPECT_EQ(bmc.password, "calvin");
  ASSERT_EQ(bmc.faults.size(), 4u);
  EXPECT_EQ(bmc.faults[0].kind, Fault::Kind::kStatus);
  EXPECT_EQ(bmc.faults[0].status, 429);
  ASSERT_EQ(bmc.faults[0].headers.size(), 1u);
  EXPECT_EQ(bmc.faults[0].headers[0].first, "Retry-After");
  EXPECT_EQ(bmc.faults[0].remaining, 2);
  EXPECT_EQ(bmc.faults[1].kind, Fault::Kind::kNone);
  EXPECT_DOUBLE_EQ(bmc.faults[1].latency_seconds, 1.5);
  EXPECT_EQ(bmc.faults[1].path_prefix, "/api");
  EXPECT_EQ(bmc.faults[2].drip_interval_ms, 50);
  EXPECT_EQ(bmc.faults[2].drip_bytes, 2u);
  EXPECT_EQ(bmc.faults[3].huge_bytes, 1000u);
  EXPECT_TRUE(cfg->upstreams[1].data_dir.empty());
}

TEST_F(SimestateTest, ReportsEveryProblemWithItsLine) {
  auto cfg = ParseConfig(R"(upstreams:
  - name: a
    data: tree
    colour: blue
  - name: a
    data: missing
    faults:
      - kind: explode
        latency: soon
)",
                         "bad.yml", dir_.string());
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  EXPECT_NE(e.find("bad.yml:4: upstreams[0].colour: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("duplicate upstream name a"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yml:6: upstreams[1].data: is not a directory"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yml:8: upstreams[1].faults[0].kind"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yml:9: upstreams[1].faults[0].latency"), std::string::npos) << e;

  EXPECT_FALSE(ParseConfig("upstream: []\n", "typo.yml", dir_.string()).ok());
  EXPECT_FALSE(ParseConfig("upstreams:\n  - name: _control\n", "reserved.yml", dir_.string()).ok());
}

TEST_F(SimestateTest, ParsesFaultsFromJson) {
  auto fault = ParseFault(R"({"kind": "drop_connection", "latency": "100ms", "remaining": 1})");
  ASSERT_TRUE(fault.ok()) << fault.error();
  EXPECT_EQ(fault->kind, Fault::Kind::kDropConnection);
  EXPECT_DOUBLE_EQ(fault->latency_seconds, 0.1);
  EXPECT_EQ(fault->remaining, 1);
  EXPECT_FALSE(ParseFault(R"({"kind": "status", "status": 99})").ok());
  EXPECT_FALSE(ParseFault(R"({"bogus": 1})").ok());
  EXPECT_FALSE(ParseFault("{not json").ok());
}

TEST_F(SimestateTest, TheExampleConfigIsValid) {
  auto cfg = LoadConfig(SIMESTATE_SOURCE_DIR "/estate.example.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_GE(cfg->upstreams.size(), 2u);
}

TEST_F(SimestateTest, ServesUpstreamsAndTheControlApi) {
  auto cfg = ParseConfig(R"(
upstreams:
  - name: a
    data: tree
  - name: b
    data: tree
    basic_auth: {username: u, password: p}
)",
                         "t.yml", dir_.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  SimEstate sim(std::move(*cfg));
  ASSERT_TRUE(sim.Start("127.0.0.1", 0).ok());
  auto ports = sim.Ports();
  ASSERT_EQ(ports.size(), 3u);
  int a = ports["a"], b = ports["b"], control = ports["_control"];

  EXPECT_EQ(Call("GET", Url(a, "/api/v1/status")).body, R"({"status":"ok"})");
  EXPECT_EQ(Call("GET", Url(b, "/api/v1/status")).status, 401);
  EXPECT_EQ(Call("GET", Url(b, "/api/v1/status"), "", "u:p").status, 200);

  auto added =
      Call("POST", Url(control, "/fault?upstream=a"), R"({"kind":"status","status":503,"remaining":1})");
  EXPECT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(Call("GET", Url(a, "/api/v1/status")).status, 503);
  EXPECT_EQ(Call("GET", Url(a, "/api/v1/status")).status, 200);

  EXPECT_EQ(Call("POST", Url(control, "/fault?upstream=a"), R"({"kind":"garbage"})").status, 200);
  EXPECT_EQ(Call("DELETE", Url(control, "/fault?upstream=a")).status, 200);
  EXPECT_EQ(Call("GET", Url(a, "/api/v1/status")).status, 200);

  auto count = Call("GET", Url(control, "/requests?upstream=a"));
  ASSERT_EQ(count.status, 200);
  EXPECT_EQ(nlohmann::json::parse(count.body)["count"], 4);

  EXPECT_EQ(Call("POST", Url(control, "/fault?upstream=nope"), "{}").status, 404);
  EXPECT_EQ(Call("POST", Url(control, "/fault"), "{}").status, 400);
  EXPECT_EQ(Call("POST", Url(control, "/fault?upstream=a"), R"({"kind":"boom"})").status, 400);
  auto listed = nlohmann::json::parse(Call("GET", Url(control, "/upstreams")).body);
  EXPECT_EQ(listed["a"], a);

  auto ports_file = dir_ / "ports.json";
  ASSERT_TRUE(sim.WritePortsFile(ports_file.string()).ok());
  auto written = nlohmann::json::parse(ReadText(ports_file));
  EXPECT_EQ(written["b"], b);
  EXPECT_EQ(written["_control"], control);
}

TEST_F(SimestateTest, RedfishKindHasSessionsAuthAndExpand) {
  WriteFile(dir_ / "bmc/redfish/v1/index.json", R"({"@odata.id": "/redfish/v1/", "Systems": {"@odata.id": "/redfish/v1/Systems/"}})");
  WriteFile(dir_ / "bmc/redfish/v1/Systems/index.json",
            R"({"@odata.id": "/redfish/v1/Systems/", "Members": [{"@odata.id": "/redfish/v1/Systems/1/"}]})");
  WriteFile(dir_ / "bmc/redfish/v1/Systems/1/index.json", R"({"@odata.id": "/redfish/v1/Systems/1/", "Id": "1"})");
  auto cfg = ParseConfig(R"(
upstreams:
  - name: bmc
    kind: redfish
    data: bmc
    basic_auth: {username: monitor, password: secret}
)",
                         "t.yml", dir_.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  SimEstate sim(std::move(*cfg));
  ASSERT_TRUE(sim.Start("127.0.0.1", 0).ok());
  const int port = sim.Ports()["bmc"], control = sim.Ports()["_control"];

  EXPECT_EQ(Call("GET", Url(port, "/redfish/v1/")).status, 200);  // the service root is open
  EXPECT_EQ(Call("GET", Url(port, "/redfish/v1/Systems/1")).status, 401);
  EXPECT_EQ(Call("GET", Url(port, "/redfish/v1/systems/1/"), "", "monitor:secret").status, 200);
  EXPECT_EQ(Call("GET", Url(port, "/redfish/v1/Systems/1"), "", "monitor:wrong").status, 401);

  std::map<std::string, std::string> headers;
  EXPECT_EQ(CallWithHeaders("POST", Url(port, "/redfish/v1/SessionService/Sessions"),
                            R"({"UserName": "monitor", "Password": "wrong"})", {}, &headers).status, 401);
  headers.clear();
  auto login = CallWithHeaders("POST", Url(port, "/redfish/v1/SessionService/Sessions/"),
                               R"({"UserName": "monitor", "Password": "secret"})", {}, &headers);
  ASSERT_EQ(login.status, 201) << login.body;
  const std::string token = headers["x-auth-token"], location = headers["location"];
  ASSERT_FALSE(token.empty());
  ASSERT_EQ(location.rfind("/redfish/v1/SessionService/Sessions/", 0), 0u) << location;

  std::map<std::string, std::string> ignored;
  auto expanded = CallWithHeaders("GET", Url(port, "/redfish/v1/Systems?$expand=."), "", {"X-Auth-Token: " + token},
                                  &ignored);
  ASSERT_EQ(expanded.status, 200) << expanded.body;
  EXPECT_EQ(nlohmann::json::parse(expanded.body)["Members"][0]["Id"], "1");
  auto plain = CallWithHeaders("GET", Url(port, "/redfish/v1/Systems"), "", {"X-Auth-Token: " + token}, &ignored);
  EXPECT_FALSE(nlohmann::json::parse(plain.body)["Members"][0].contains("Id"));

  auto sessions = nlohmann::json::parse(Call("GET", Url(control, "/sessions?upstream=bmc")).body);
  EXPECT_EQ(sessions["active"], 1);
  EXPECT_EQ(CallWithHeaders("DELETE", Url(port, location), "", {"X-Auth-Token: " + token}, &ignored).status, 204);
  EXPECT_EQ(CallWithHeaders("GET", Url(port, "/redfish/v1/Systems/1"), "", {"X-Auth-Token: " + token}, &ignored).status,
            401);
  sessions = nlohmann::json::parse(Call("GET", Url(control, "/sessions?upstream=bmc")).body);
  EXPECT_EQ(sessions["active"], 0);
  EXPECT_EQ(sessions["created"], 1);
  EXPECT_EQ(sessions["deleted"], 1);
}

TEST_F(SimestateTest, RibclKindAnswersEveryCommandAsItsOwnDocument) {
  const std::string doc_head = "<?xml version=\"1.0\"?>\n<RIBCL VERSION=\"2.23\">\n<RESPONSE STATUS=\"0x0000\" MESSAGE='No error'/>\n";
  WriteFile(dir_ / "ilo/ribcl/GET_FW_VERSION.xml", doc_head + "<GET_FW_VERSION FIRMWARE_VERSION=\"9.99\"/>\n</RIBCL>\n");
  WriteFile(dir_ / "ilo/ribcl/GET_SERVER_NAME.xml", doc_head + "<SERVER_NAME VALUE=\"host-a\"/>\n</RIBCL>\n");
  WriteFile(dir_ / "ilo/xmldata.xml", "<RIMP><HSI><SBSN>X1</SBSN></HSI></RIMP>\n");
  auto cfg = ParseConfig(R"(
upstreams:
  - name: ilo
    kind: ribcl
    data: ilo
    basic_auth: {username: monitor, password: "s&cret"}
)",
                         "t.yml", dir_.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  SimEstate sim(std::move(*cfg));
  ASSERT_TRUE(sim.Start("127.0.0.1", 0).ok());
  const int port = sim.Ports()["ilo"];
  auto request = [](const std::string& password) {
    return "<?xml version=\"1.0\"?>\r\n<RIBCL VERSION=\"2.0\">\r\n<LOGIN USER_LOGIN=\"monitor\" PASSWORD=\"" + password +
           "\">\r\n<RIB_INFO MODE=\"read\">\r\n<GET_FW_VERSION />\r\n</RIB_INFO>\r\n<SERVER_INFO MODE=\"read\">\r\n"
           "<GET_SERVER_NAME />\r\n<GET_NOTHING_RECORDED />\r\n</SERVER_INFO>\r\n</LOGIN>\r\n</RIBCL>\r\n";
  };
  auto reply = Call("POST", Url(port, "/ribcl"), request("s&amp;cret"));
  ASSERT_EQ(reply.status, 200);
  // The login's document, the two recorded ones in request order, and an error for the unrecorded command.
  std::size_t docs = 0;
  for (std::size_t at = reply.body.find("<?xml"); at != std::string::npos; at = reply.body.find("<?xml", at + 1)) ++docs;
  EXPECT_EQ(docs, 4u) << reply.body;
  EXPECT_LT(reply.body.find("FIRMWARE_VERSION=\"9.99\""), reply.body.find("host-a"));
  EXPECT_NE(reply.body.find("GET_NOTHING_RECORDED is not recorded"), std::string::npos);

  reply = Call("POST", Url(port, "/ribcl"), request("wrong"));
  EXPECT_NE(reply.body.find("0x005F"), std::string::npos) << reply.body;
  EXPECT_EQ(reply.body.find("9.99"), std::string::npos);

  reply = Call("GET", Url(port, "/xmldata?item=all"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("<SBSN>X1</SBSN>"), std::string::npos);
  EXPECT_EQ(Call("GET", Url(port, "/ribcl")).status, 404);
}

TEST_F(SimestateTest, TheDemoConfigIsValid) {
  auto cfg = LoadConfig(std::string(SIMESTATE_SOURCE_DIR) + "/estate.demo.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  // Five BMCs, two OpenStack clouds (storage and registry), two Pure arrays (simestate_storage_test.cpp covers
  // the storage kinds), ServiceNow and GoCD (the service registry's).
  ASSERT_EQ(cfg->upstreams.size(), 11u);
  std::map<std::string, int> kinds;
  for (const auto& up : cfg->upstreams) {
    ++kinds[up.kind];
    if (up.kind == "servicenow" || up.kind == "gocd") {
      EXPECT_TRUE(fs::is_regular_file(up.registry.data_file)) << up.registry.data_file;
    }
  }
  EXPECT_EQ(kinds["redfish"], 4);
  EXPECT_EQ(kinds["ribcl"], 1);
  EXPECT_EQ(kinds["openstack"], 2);
  EXPECT_EQ(kinds["pure"], 2);
  EXPECT_EQ(kinds["servicenow"], 1);
  EXPECT_EQ(kinds["gocd"], 1);
}

TEST_F(SimestateTest, ServesHttpsWhenGivenACertificate) {
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir_ / "key.pem").string() + " -out " + (dir_ / "cert.pem").string() + " >" +
      (dir_ / "openssl.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed";
  {
    std::ifstream cert(dir_ / "cert.pem"), key(dir_ / "key.pem");
    std::ofstream out(dir_ / "server.pem");
    out << cert.rdbuf() << key.rdbuf();
  }
  auto cfg = ParseConfig("upstreams:\n  - {name: bmc, data: tree, tls_cert_file: server.pem}\n", "t.yml",
                         dir_.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  SimEstate sim(std::move(*cfg));
  ASSERT_TRUE(sim.Start("127.0.0.1", 0).ok());

  std::string body;
  CURL* curl = curl_easy_init();
  std::string url = "https://127.0.0.1:" + std::to_string(sim.Ports()["bmc"]) + "/api/v1/status";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, (dir_ / "cert.pem").c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  CURLcode code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code);
  EXPECT_EQ(body, R"({"status":"ok"})");

  EXPECT_FALSE(
      ParseConfig("upstreams:\n  - {name: x, tls_cert_file: nope.pem}\n", "t.yml", dir_.string()).ok());
}

// The real binary, as the demo and the end-to-end tests run it.
class Child {
 public:
  Child(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // Waits for the exit status (as from waitpid), or -1 after the deadline.
  int Wait(std::chrono::milliseconds deadline) {
    auto until = Clock::now() + deadline;
    while (Clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

TEST_F(SimestateTest, BinaryWritesThePortsFileServesAndStopsOnSigterm) {
  WriteFile(dir_ / "estate.yml", R"(
upstreams:
  - name: first
    kind: example
    port: 0
    data: tree
  - name: second
    port: 0
    data: tree
    faults:
      - {kind: status, status: 502, path_prefix: /api/v1/nodes}
)");
  auto ports_file = dir_ / "ports.json";
  auto log = dir_ / "simestate.log";
  Child child({SIMESTATE_BINARY, "--config.file=" + (dir_ / "estate.yml").string(),
               "--ports.file=" + ports_file.string(), "--listen-host", "127.0.0.1", "--log.level=debug"},
              log);
  ASSERT_GT(child.pid(), 0);

  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (!fs::exists(ports_file) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling with a deadline, not synchronising
  }
  ASSERT_TRUE(fs::exists(ports_file)) << ReadText(log);
  auto ports = nlohmann::json::parse(ReadText(ports_file));
  ASSERT_TRUE(ports.contains("first") && ports.contains("second") && ports.contains("_control")) << ports;
  int first = ports["first"], second = ports["second"], control = ports["_control"];

  EXPECT_EQ(Call("GET", Url(first, "/api/v1/status")).body, R"({"status":"ok"})");
  EXPECT_EQ(Call("GET", Url(second, "/api/v1/status")).status, 200);
  EXPECT_EQ(Call("GET", Url(second, "/api/v1/nodes")).status, 502);
  EXPECT_EQ(Call("GET", Url(control, "/-/healthy")).status, 200);
  auto count = nlohmann::json::parse(Call("GET", Url(control, "/requests?upstream=second")).body);
  EXPECT_EQ(count["count"], 2);

  ASSERT_EQ(kill(child.pid(), SIGTERM), 0);
  int status = child.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::string text = ReadText(log);
  EXPECT_NE(text.find("level=info msg=\"upstream listening\" upstream=first"), std::string::npos) << text;
  EXPECT_NE(text.find("msg=stopped"), std::string::npos) << text;
}

TEST_F(SimestateTest, BinaryRejectsABadConfigWithLineNumbers) {
  WriteFile(dir_ / "bad.yml", "upstreams:\n  - name: x\n    prot: 1\n");
  auto log = dir_ / "bad.log";
  Child child({SIMESTATE_BINARY, "--config.file=" + (dir_ / "bad.yml").string(), "--config.check"}, log);
  int status = child.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(ReadText(log).find("bad.yml:3: upstreams[0].prot: unknown key"), std::string::npos)
      << ReadText(log);
}

// ---- the service registry's kinds (servicenow, gocd) ----------------------------------------------------------

TEST_F(SimestateTest, RegistryKindsNeedTheirSectionAndFile) {
  auto cfg = ParseConfig(R"(
upstreams:
  - {name: snow, kind: servicenow}
  - {name: g, kind: gocd, gocd: {pipelines: missing.yml}}
  - {name: x, kind: redfish, servicenow: {records: missing.yml}}
  - {name: s2, kind: servicenow, servicenow: {records: missing.yml, rate_limit: {requests: 0}, colour: a}}
)",
                         "t.yml", dir_.string());
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  EXPECT_NE(e.find("t.yml:3: upstreams[0].servicenow: kind servicenow needs a servicenow: section"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("upstreams[1].gocd.pipelines: is not a file"), std::string::npos) << e;
  EXPECT_NE(e.find("upstreams[2].servicenow: is only for kind servicenow"), std::string::npos) << e;
  EXPECT_NE(e.find("upstreams[3].servicenow.rate_limit.requests: must be at least 1"), std::string::npos) << e;
  EXPECT_NE(e.find("upstreams[3].servicenow.colour: unknown key"), std::string::npos) << e;
}

TEST_F(SimestateTest, RegistryDataFilesAreAgesFromNow) {
  const double now = 1764842400;
  auto cmdb = LoadSimCmdb(SIMESTATE_SOURCE_DIR "/data/registry-demo/cmdb.yml", now);
  ASSERT_TRUE(cmdb.ok()) << cmdb.error();
  bool yesterday = false;
  for (const auto& a : cmdb->apps) {
    if (a.tla == "nwa") yesterday = a.created_unix == now - 86400;
  }
  EXPECT_TRUE(yesterday);
  ASSERT_FALSE(cmdb->servers.empty());
  EXPECT_EQ(cmdb->servers[0].fqdn, cmdb->servers[0].name + ".estate.example");
  auto pipelines = LoadSimPipelines(SIMESTATE_SOURCE_DIR "/data/registry-demo/gocd.yml", now);
  ASSERT_TRUE(pipelines.ok()) << pipelines.error();
  ASSERT_FALSE(pipelines->empty());
  EXPECT_EQ((*pipelines)[0].runs.back().scheduled_unix, now - 7200);
  auto unordered = ParseSimPipelines("pipelines:\n  - {name: p, runs: [{age: 1h}, {age: 2h}]}\n", "g.yml", now);
  ASSERT_FALSE(unordered.ok());
  EXPECT_NE(unordered.error().find("oldest first"), std::string::npos) << unordered.error();
  EXPECT_FALSE(ParseSimCmdb("business_apps: [{tla: x}]\n", "c.yml", now).ok());  // no name
}

}  // namespace
}  // namespace estate::simestate
