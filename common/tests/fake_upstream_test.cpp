#include "estate/testing/fake_upstream.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace estate::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Fetched {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::size_t bytes = 0;                       // all bytes received, also when not kept
  std::map<std::string, std::string> headers;  // lower-cased names
  double seconds = 0;
};

struct FetchOptions {
  std::string method = "GET";
  std::string body{};
  std::string userpwd{};
  std::vector<std::string> headers{};
  bool keep_body = true;
  long timeout_ms = 10000;
  std::string ca_file{};  // for https: trust this certificate
};

std::size_t OnBody(char* /*data*/, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<Fetched*>(user);
  out->bytes += size * n;
  return size * n;
}

std::size_t OnBodyKeep(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<Fetched*>(user);
  out->body.append(data, size * n);
  return OnBody(data, size, n, user);
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<Fetched*>(user);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n ") + 1);
    out->headers[name] = value;
  }
  return size * n;
}

Fetched Fetch(const std::string& url, const FetchOptions& options = {}) {
  Fetched out;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, options.keep_body ? &OnBodyKeep : &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (options.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (options.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, options.method.c_str());
  }
  if (!options.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, options.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(options.body.size()));
  }
  if (!options.userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, options.userpwd.c_str());
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  curl_slist* headers = nullptr;
  for (const auto& h : options.headers) headers = curl_slist_append(headers, h.c_str());
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  auto start = Clock::now();
  out.code = curl_easy_perform(curl);
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// A small tree in both layouts: "<path>/index.json" (Redfish style) and a plain file at "<path>".
class FakeUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::path(::testing::TempDir()) / ("fake_upstream_" + std::to_string(::getpid()) + "_" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    WriteFile(root_ / "redfish/v1/index.json", R"({"@odata.id":"/redfish/v1"})");
    WriteFile(root_ / "redfish/v1/Systems/System.Embedded.1/index.json", R"({"Id":"System.Embedded.1"})");
    WriteFile(root_ / "api/v1/status", R"({"status":"ok"})");
    WriteFile(root_ / "api/v1/report.xml", "<report/>");
    WriteFile(root_ / "index.json", R"({"root":true})");
  }
  void TearDown() override {
    upstream_.reset();
    fs::remove_all(root_);
  }

  FakeUpstream& Start(FakeUpstream::Options options = {}) {
    if (options.root_dir.empty()) options.root_dir = root_.string();
    options.threads = 8;
    upstream_ = std::make_unique<FakeUpstream>(options);
    auto started = upstream_->Start();
    EXPECT_TRUE(started.ok()) << started.error();
    return *upstream_;
  }
  std::string Url(const std::string& path) const { return upstream_->base_url() + path; }

  fs::path root_;
  std::unique_ptr<FakeUpstream> upstream_;
};

TEST_F(FakeUpstreamTest, ServesIndexJsonAndPlainFiles) {
  auto& up = Start();
  EXPECT_GT(up.port(), 0);
  EXPECT_EQ(up.base_url(), "http://127.0.0.1:" + std::to_string(up.port()));

  auto redfish = Fetch(Url("/redfish/v1"));
  EXPECT_EQ(redfish.code, CURLE_OK);
  EXPECT_EQ(redfish.status, 200);
  EXPECT_EQ(redfish.body, R"({"@odata.id":"/redfish/v1"})");
  EXPECT_EQ(redfish.headers["content-type"], "application/json");

  auto status = Fetch(Url("/api/v1/status?verbose=1"));
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.body, R"({"status":"ok"})");

  auto xml = Fetch(Url("/api/v1/report.xml"));
  EXPECT_EQ(xml.body, "<report/>");
  EXPECT_EQ(xml.headers["content-type"], "application/xml");

  EXPECT_EQ(Fetch(Url("/")).body, R"({"root":true})");

  auto missing = Fetch(Url("/redfish/v1/Chassis"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(nlohmann::json::accept(missing.body));

  auto head = Fetch(Url("/api/v1/status"), {.method = "HEAD"});
  EXPECT_EQ(head.code, CURLE_OK);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-length"], "15");

  EXPECT_EQ(Fetch(Url("/api/v1/status"), {.method = "POST", .body = "{}"}).status, 405);
}

TEST_F(FakeUpstreamTest, LenientPathsIgnoreTrailingSlashAndCase) {
  Start();
  EXPECT_EQ(Fetch(Url("/redfish/v1/")).status, 200);
  auto system = Fetch(Url("/REDFISH/v1/systems/system.embedded.1/"));
  EXPECT_EQ(system.status, 200);
  EXPECT_EQ(system.body, R"({"Id":"System.Embedded.1"})");
  EXPECT_EQ(Fetch(Url("/API/V1/STATUS")).body, R"({"status":"ok"})");
}

TEST_F(FakeUpstreamTest, StrictPathsMatchExactly) {
  Start({.lenient_paths = false});
  EXPECT_EQ(Fetch(Url("/redfish/v1")).status, 200);
  EXPECT_EQ(Fetch(Url("/redfish/v1/")).status, 200);  // a directory with its index.json
  EXPECT_EQ(Fetch(Url("/REDFISH/v1")).status, 404);
  EXPECT_EQ(Fetch(Url("/api/v1/status/")).status, 404);
}

TEST_F(FakeUpstreamTest, DoesNotServeOutsideRoot) {
  WriteFile(root_.parent_path() / "outside.json", "secret");
  Start();
  auto escaped = Fetch(Url("/../outside.json"));
  EXPECT_NE(escaped.body, "secret");
  auto encoded = Fetch(Url("/%2e%2e/outside.json"));
  EXPECT_NE(encoded.body, "secret");
  auto absolute = Fetch(Url("/" + (root_.parent_path() / "outside.json").string()));
  EXPECT_EQ(absolute.status, 404);
  EXPECT_NE(absolute.body, "secret");
  fs::remove(root_.parent_path() / "outside.json");
}

TEST_F(FakeUpstreamTest, RoutesTakePriorityOverTheTree) {
  auto& up = Start();
  up.Route("GET", "/api/v1/status",
           [](const FakeRequest&) { return FakeResponse{.body = R"({"status":"routed"})"}; });
  up.Route("POST", "/redfish/v1/SessionService/Sessions", [](const FakeRequest& req) {
    return FakeResponse{.status = 201, .headers = {{"X-Auth-Token", "t0k"}}, .body = req.body};
  });
  up.Route("*", "/any", [](const FakeRequest& req) {
    return FakeResponse{.content_type = "text/plain", .body = req.method};
  });
  up.Route("GET", "/throws", [](const FakeRequest&) -> FakeResponse { throw std::runtime_error("boom"); });

  EXPECT_EQ(Fetch(Url("/api/v1/status")).body, R"({"status":"routed"})");
  auto session = Fetch(Url("/redfish/v1/SessionService/Sessions"), {.method = "POST", .body = R"({"u":1})"});
  EXPECT_EQ(session.status, 201);
  EXPECT_EQ(session.body, R"({"u":1})");
  EXPECT_EQ(session.headers["x-auth-token"], "t0k");
  // A route for another method does not answer.
  EXPECT_EQ(Fetch(Url("/redfish/v1/SessionService/Sessions")).status, 404);
  EXPECT_EQ(Fetch(Url("/any"), {.method = "DELETE"}).body, "DELETE");
  EXPECT_EQ(Fetch(Url("/any"), {.method = "PATCH"}).body, "PATCH");
  EXPECT_EQ(Fetch(Url("/throws")).status, 500);

  // Replacing a route.
  up.Route("GET", "/api/v1/status", [](const FakeRequest&) { return FakeResponse{.body = "2"}; });
  EXPECT_EQ(Fetch(Url("/api/v1/status")).body, "2");
}

TEST_F(FakeUpstreamTest, RoutesOnlyWithoutRoot) {
  upstream_ = std::make_unique<FakeUpstream>(FakeUpstream::Options{});
  ASSERT_TRUE(upstream_->Start().ok());
  upstream_->Route("GET", "/x", [](const FakeRequest&) { return FakeResponse{.body = "x"}; });
  EXPECT_EQ(Fetch(Url("/x")).body, "x");
  EXPECT_EQ(Fetch(Url("/redfish/v1")).status, 404);
}

TEST_F(FakeUpstreamTest, RecordsRequests) {
  auto& up = Start();
  Fetch(Url("/api/v1/status?a=1&b=two"), {.headers = {"X-Custom: yes"}});
  Fetch(Url("/redfish/v1"), {.method = "POST", .body = "payload"});
  ASSERT_EQ(up.RequestCount(), 2u);
  auto requests = up.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/api/v1/status");
  EXPECT_EQ(requests[0].query, "a=1&b=two");
  EXPECT_EQ(requests[0].headers["x-custom"], "yes");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].body, "payload");
  up.ClearRequests();
  EXPECT_EQ(up.RequestCount(), 0u);
  EXPECT_TRUE(up.Requests().empty());
}

TEST_F(FakeUpstreamTest, BasicAuth) {
  Start({.basic_auth = "monitor:s3cret"});
  auto anonymous = Fetch(Url("/api/v1/status"));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.headers["www-authenticate"], R"(Basic realm="fake-upstream")");
  EXPECT_EQ(Fetch(Url("/api/v1/status"), {.userpwd = "monitor:wrong"}).status, 401);
  auto good = Fetch(Url("/api/v1/status"), {.userpwd = "monitor:s3cret"});
  EXPECT_EQ(good.status, 200);
  EXPECT_EQ(good.body, R"({"status":"ok"})");
}

TEST_F(FakeUpstreamTest, FaultStatusWithHeaders) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kStatus, .status = 429, .headers = {{"Retry-After", "7"}}});
  auto got = Fetch(Url("/api/v1/status"));
  EXPECT_EQ(got.code, CURLE_OK);
  EXPECT_EQ(got.status, 429);
  EXPECT_EQ(got.headers["retry-after"], "7");
  auto body = nlohmann::json::parse(got.body);
  EXPECT_EQ(body["error"]["code"], 429);
  up.ClearFaults();
  EXPECT_EQ(Fetch(Url("/api/v1/status")).status, 200);
}

TEST_F(FakeUpstreamTest, FaultLatency) {
  auto& up = Start();
  up.AddFault({.latency_seconds = 0.3});
  auto got = Fetch(Url("/api/v1/status"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, R"({"status":"ok"})");
  EXPECT_GE(got.seconds, 0.3);
}

TEST_F(FakeUpstreamTest, LatencyDoesNotBlockOtherRequests) {
  auto& up = Start();
  up.AddFault({.latency_seconds = 2, .path_prefix = "/redfish"});
  auto slow = std::async(std::launch::async, [&] { return Fetch(Url("/redfish/v1")); });
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (up.RequestCount() < 1 && Clock::now() < deadline) std::this_thread::yield();
  auto fast = Fetch(Url("/api/v1/status"));
  EXPECT_EQ(fast.status, 200);
  EXPECT_LT(fast.seconds, 1.0);
  auto slow_got = slow.get();
  EXPECT_EQ(slow_got.status, 200);
  EXPECT_GE(slow_got.seconds, 2.0);
}

TEST_F(FakeUpstreamTest, FaultTruncatedIsAPartialFile) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kTruncated});
  auto got = Fetch(Url("/redfish/v1"));
  EXPECT_EQ(got.code, CURLE_PARTIAL_FILE);
  const std::string full = R"({"@odata.id":"/redfish/v1"})";
  EXPECT_EQ(got.body, full.substr(0, full.size() / 2));
}

TEST_F(FakeUpstreamTest, FaultGarbageIsNeitherJsonNorUtf8) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kGarbage});
  auto got = Fetch(Url("/redfish/v1"));
  EXPECT_EQ(got.code, CURLE_OK);
  EXPECT_EQ(got.status, 200);
  EXPECT_FALSE(got.body.empty());
  EXPECT_FALSE(nlohmann::json::accept(got.body));
  EXPECT_THROW((void)nlohmann::json(got.body).dump(), nlohmann::json::type_error);  // invalid UTF-8
}

TEST_F(FakeUpstreamTest, FaultHugeStreamsTheRequestedSize) {
  auto& up = Start();
  constexpr std::size_t kBytes = (5u << 20) + 123;
  up.AddFault({.kind = Fault::Kind::kHuge, .huge_bytes = kBytes});
  auto got = Fetch(Url("/redfish/v1"), {.keep_body = false});
  EXPECT_EQ(got.code, CURLE_OK);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.bytes, kBytes);
  EXPECT_EQ(got.headers["content-length"], std::to_string(kBytes));
}

TEST_F(FakeUpstreamTest, FaultSlowDrip) {
  auto& up = Start();
  // 15 bytes in drips of 4: four writes, three pauses.
  up.AddFault({.kind = Fault::Kind::kSlowDrip, .drip_interval_ms = 100, .drip_bytes = 4});
  auto got = Fetch(Url("/api/v1/status"));
  EXPECT_EQ(got.code, CURLE_OK);
  EXPECT_EQ(got.body, R"({"status":"ok"})");
  EXPECT_GE(got.seconds, 0.3);
}

TEST_F(FakeUpstreamTest, FaultDropConnectionIsAnEmptyReply) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kDropConnection});
  auto got = Fetch(Url("/redfish/v1"), {.timeout_ms = 5000});
  EXPECT_EQ(got.code, CURLE_GOT_NOTHING) << curl_easy_strerror(got.code);
  EXPECT_LT(got.seconds, 2.0);
}

// A reset is an abortive close (RST), which curl reports as a receive error, not as an empty reply; the
// server keeps serving afterwards.
TEST_F(FakeUpstreamTest, FaultResetConnectionIsARst) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kResetConnection, .remaining = 1});
  auto got = Fetch(Url("/redfish/v1"), {.timeout_ms = 5000});
  EXPECT_EQ(got.code, CURLE_RECV_ERROR) << curl_easy_strerror(got.code);
  EXPECT_EQ(Fetch(Url("/redfish/v1")).status, 200);
}

TEST_F(FakeUpstreamTest, FaultRemainingCountAndOrder) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kStatus, .status = 503, .remaining = 2});
  up.AddFault({.kind = Fault::Kind::kStatus, .status = 502, .remaining = 1});
  EXPECT_EQ(Fetch(Url("/api/v1/status")).status, 503);
  EXPECT_EQ(Fetch(Url("/api/v1/status")).status, 503);
  EXPECT_EQ(Fetch(Url("/api/v1/status")).status, 502);
  EXPECT_EQ(Fetch(Url("/api/v1/status")).status, 200);
  EXPECT_EQ(up.RequestCount(), 4u);
}

TEST_F(FakeUpstreamTest, FaultPathPrefix) {
  auto& up = Start();
  up.AddFault({.kind = Fault::Kind::kStatus, .status = 500, .path_prefix = "/redfish/v1/Systems"});
  EXPECT_EQ(Fetch(Url("/redfish/v1")).status, 200);
  EXPECT_EQ(Fetch(Url("/redfish/v1/Systems/System.Embedded.1")).status, 500);
}

TEST_F(FakeUpstreamTest, StopReturnsPromptlyWithRequestsInFlight) {
  auto& up = Start();
  up.AddFault({.latency_seconds = 30, .path_prefix = "/redfish"});
  up.AddFault({.kind = Fault::Kind::kSlowDrip, .drip_interval_ms = 5000, .drip_bytes = 1});
  auto delayed = std::async(std::launch::async, [&] { return Fetch(Url("/redfish/v1")); });
  auto dripping = std::async(std::launch::async, [&] { return Fetch(Url("/api/v1/status")); });
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (up.RequestCount() < 2 && Clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(up.RequestCount(), 2u);
  auto start = Clock::now();
  up.Stop();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 3.0);
  EXPECT_NE(delayed.get().code, CURLE_OK);
  EXPECT_NE(dripping.get().code, CURLE_OK);
}

TEST_F(FakeUpstreamTest, ServesOverTls) {
  // A throwaway self-signed certificate and key in one PEM file (no keys in the repository).
  const fs::path pem = root_ / "server.pem";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
      (root_ / "key.pem").string() + " -out " + (root_ / "cert.pem").string() + " >" +
      (root_ / "openssl.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed";
  {
    std::ifstream cert(root_ / "cert.pem"), key(root_ / "key.pem");
    std::ofstream out(pem);
    out << cert.rdbuf() << key.rdbuf();
  }
  auto& up = Start({.tls_cert_pem = pem.string()});
  EXPECT_EQ(up.base_url(), "https://127.0.0.1:" + std::to_string(up.port()));
  auto got = Fetch(Url("/api/v1/status"), {.ca_file = (root_ / "cert.pem").string()});
  EXPECT_EQ(got.code, CURLE_OK) << curl_easy_strerror(got.code);
  EXPECT_EQ(got.body, R"({"status":"ok"})");
  // Faults work the same over TLS.
  up.AddFault({.kind = Fault::Kind::kTruncated});
  EXPECT_EQ(Fetch(Url("/api/v1/status"), {.ca_file = (root_ / "cert.pem").string()}).code,
            CURLE_PARTIAL_FILE);
}

TEST_F(FakeUpstreamTest, StartFailsOnMissingRootOrBusyPort) {
  FakeUpstream missing({.root_dir = (root_ / "nope").string()});
  EXPECT_FALSE(missing.Start().ok());

  auto& up = Start();
  FakeUpstream busy({.listen = "127.0.0.1:" + std::to_string(up.port())});
  auto started = busy.Start();
  EXPECT_FALSE(started.ok());
}

}  // namespace
}  // namespace estate::testing
