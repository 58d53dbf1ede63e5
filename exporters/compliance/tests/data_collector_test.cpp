// The push endpoint (/data-collector/v0/) behind a real HttpServer on port 0, driven with libcurl and raw
// sockets. The report parser is injected (a small JSON reader: node_name, profiles[].name, end_time), so
// these tests check the endpoint, not the formats (inspec_parse_test and xccdf_parse_test do).
#include "data_collector.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "estate/http_server.h"
#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace estate::compliance {
namespace {

using estate::testing::HttpGet;
using estate::testing::HttpPost;
using estate::testing::SimpleResponse;
using estate::testing::TempDir;

Result<Report> TestParser(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return MakeError("test parser: not JSON");
  if (!j.contains("profiles")) return MakeError("test parser: no profiles (an InSpec profile, not results?)");
  Report r;
  r.format = Format::kAutomate;
  r.host = j.value("node_name", "");
  r.time_unix = j.value("end_time", 0.0);
  for (const auto& p : j["profiles"]) {
    Profile profile;
    profile.name = p.value("name", "");
    r.profiles.push_back(profile);
  }
  return r;
}

std::string ReportBody(const std::string& host, std::vector<std::string> profiles, double end_time = 0,
                       const std::string& extra = "") {
  nlohmann::json j;
  j["type"] = "inspec_report";
  j["node_name"] = host;
  j["node_uuid"] = "22ad2f99-f84f-5456-95a0-7e91b4b66690";
  j["end_time"] = end_time;
  j["profiles"] = nlohmann::json::array();
  for (const auto& p : profiles)
    j["profiles"].push_back({{"name", p}, {"controls", nlohmann::json::array()}});
  if (!extra.empty()) j["extra"] = extra;
  return j.dump();
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Gzip(const std::string& text) { return web::GzipCompress(text); }

std::string RawExchange(int port, const std::string& request) {
  return estate::testing::RawHttpExchange(port, request);
}

class DataCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_file_ =
        dir_.Write("tokens", "# push tokens\n\n  s3cret-token  \nsecond-token\n#commented-token\n");
    spool_ = dir_.path() + "/spool/nested";
    options_.enabled = true;
    options_.tokens_file = tokens_file_;
    options_.spool_dir = spool_;
    options_.max_body_bytes = 1 << 20;
    ASSERT_TRUE(collector_.Configure(options_));
    collector_.SetOnStored([this](const std::string& path, const Report& report) {
      // The file is complete in the spool when the store hears of it (before the 200 goes out).
      std::lock_guard<std::mutex> lock(mu_);
      stored_.push_back({path, report.host});
      stored_content_.push_back(ReadFile(path));
    });
    collector_.AddRoutes(server_);
    web::ServerOptions opts;
    opts.listen_addresses = {"127.0.0.1:0"};
    opts.worker_threads = 16;
    ASSERT_TRUE(server_.Start(opts));
    port_ = server_.Ports().at(0);
    url_ = "http://127.0.0.1:" + std::to_string(port_) + "/data-collector/v0/";
  }

  SimpleResponse Push(const std::string& body, const std::string& token = "s3cret-token",
                      std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: application/json");
    headers.push_back("x-data-collector-auth: version=1.0");
    if (!token.empty()) headers.push_back("x-data-collector-token: " + token);
    return HttpPost(url_, body, 20, headers);
  }
  std::vector<std::string> Spool() const { return ListDir(spool_); }

  TempDir dir_;
  std::string tokens_file_, spool_;
  DataCollectorOptions options_;
  DataCollector collector_{TestParser};
  web::HttpServer server_;
  int port_ = 0;
  std::string url_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> stored_;
  std::vector<std::string> stored_content_;
};

TEST_F(DataCollectorTest, MissingOrWrongTokenIs401AndStoresNothing) {
  auto r = Push(ReportBody("web-1", {"linux-baseline"}), "");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("missing x-data-collector-token"), std::string::npos) << r.body;
  r = Push(ReportBody("web-1", {"linux-baseline"}), "s3cret-tokeN");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("not accepted"), std::string::npos) << r.body;
  // A prefix, a longer token and a commented-out one are refused too.
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}), "s3cret").status, 401);
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}), "s3cret-token-and-more").status, 401);
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}), "commented-token").status, 401);
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}), "#commented-token").status, 401);
  EXPECT_TRUE(Spool().empty());
  EXPECT_EQ(collector_.Requests(401), 6);
  EXPECT_EQ(collector_.Requests(200), 0);
}

TEST_F(DataCollectorTest, GoodTokenStoresTheReportBeforeAnswering) {
  const std::string body = ReportBody("web-1.example.com", {"linux-baseline"}, 1764800000);
  auto r = Push(body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], "stored");
  EXPECT_EQ(j["host"], "web-1.example.com");
  const auto files = Spool();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], j["file"]);
  EXPECT_EQ(files[0].rfind("web-1.example.com_", 0), 0u) << files[0];
  EXPECT_EQ(files[0].substr(files[0].size() - 5), ".json");
  EXPECT_EQ(ReadFile(spool_ + "/" + files[0]), body);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSERT_EQ(stored_.size(), 1u);
    EXPECT_EQ(stored_[0].first, spool_ + "/" + files[0]);
    EXPECT_EQ(stored_[0].second, "web-1.example.com");
    EXPECT_EQ(stored_content_[0], body);
  }
  // The second token works as well, and the path without the trailing slash.
  EXPECT_EQ(Push(ReportBody("web-2", {"p"}), "second-token").status, 200);
  url_.pop_back();
  EXPECT_EQ(Push(ReportBody("web-3", {"p"})).status, 200);
  EXPECT_EQ(Spool().size(), 3u);
  EXPECT_EQ(collector_.Requests(200), 3);
  EXPECT_GE(collector_.Bytes(), static_cast<double>(body.size()));
}

TEST_F(DataCollectorTest, WrongMethodIs405) {
  auto r = HttpGet(url_, 10, {"x-data-collector-token: s3cret-token"});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["allow"], "POST");
  const std::string put = RawExchange(port_,
                                      "PUT /data-collector/v0/ HTTP/1.1\r\nHost: x\r\n"
                                      "x-data-collector-token: s3cret-token\r\nContent-Length: 2\r\n"
                                      "Connection: close\r\n\r\n{}");
  EXPECT_EQ(put.rfind("HTTP/1.1 405 ", 0), 0u) << put.substr(0, 200);
  EXPECT_EQ(collector_.Requests(405), 2);
  EXPECT_TRUE(Spool().empty());
}

TEST_F(DataCollectorTest, BodyOverTheLimitIs413ByLengthAndWhileReading) {
  // Announced too large: refused on the headers, before any of it is read.
  const std::string big = ReportBody("web-1", {"p"}, 0, std::string(options_.max_body_bytes, 'x'));
  auto r = Push(big);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("max_body_bytes"), std::string::npos) << r.body;
  // Not announced (chunked): refused once the limit is passed while reading.
  std::string chunked =
      "POST /data-collector/v0/ HTTP/1.1\r\nHost: x\r\nx-data-collector-token: s3cret-token\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  const std::string piece(256 << 10, ' ');
  for (int i = 0; i < 6; ++i) chunked += "40000\r\n" + piece + "\r\n";
  chunked += "0\r\n\r\n";
  const std::string raw = RawExchange(port_, chunked);
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw.substr(0, 200);
  EXPECT_EQ(collector_.Requests(413), 2);
  EXPECT_TRUE(Spool().empty());
}

TEST_F(DataCollectorTest, GzipBodyIsInflated) {
  const std::string body = ReportBody("db-7", {"postgres-baseline"}, 0, std::string(100000, 'z'));
  auto r = Push(Gzip(body), "s3cret-token", {"Content-Encoding: gzip"});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Spool().size(), 1u);
  EXPECT_EQ(ReadFile(spool_ + "/" + Spool()[0]), body);  // stored inflated
  // Bytes are counted as sent.
  EXPECT_LT(collector_.Bytes(), static_cast<double>(body.size()));
  // Not gzip after all: 400; another encoding: 415.
  r = Push(body, "s3cret-token", {"Content-Encoding: gzip"});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not valid gzip"), std::string::npos) << r.body;
  r = Push(body, "s3cret-token", {"Content-Encoding: br"});
  EXPECT_EQ(r.status, 415);
}

TEST_F(DataCollectorTest, GzipBombIs413) {
  // 64 MiB of spaces inflate from ~64 KiB: the inflated size is capped at max_body_bytes (1 MiB here).
  const std::string bomb = Gzip("{\"node_name\":\"x\",\"profiles\":[]," + std::string(64 << 20, ' ') + "}");
  ASSERT_LT(bomb.size(), options_.max_body_bytes);
  auto r = Push(bomb, "s3cret-token", {"Content-Encoding: gzip"});
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("inflates to over"), std::string::npos) << r.body;
  EXPECT_TRUE(Spool().empty());
}

TEST_F(DataCollectorTest, BadBodyIs400WithTheParsersReason) {
  auto r = Push("{\"name\": \"a-profile\", \"controls\": []}");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not a compliance report: test parser: no profiles"), std::string::npos) << r.body;
  r = Push("garbage");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not JSON"), std::string::npos) << r.body;
  r = Push("");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("empty body"), std::string::npos) << r.body;
  r = Push(ReportBody("", {"p"}));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("names no host"), std::string::npos) << r.body;
  EXPECT_TRUE(Spool().empty());
  EXPECT_EQ(collector_.Requests(400), 4);
}

TEST_F(DataCollectorTest, ChefRunMessagesAreAcknowledgedAndIgnored) {
  for (const std::string type : {"run_start", "run_converge", "action"}) {
    nlohmann::json m = {{"chef_server_fqdn", "chef.example"},
                        {"entity_uuid", "e"},
                        {"message_version", "1.1.0"},
                        {"message_type", type},
                        {"node_name", "web-1"}};
    auto r = Push(m.dump());
    EXPECT_EQ(r.status, 200) << type << ": " << r.body;
    EXPECT_NE(r.body.find("\"ignored\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(type), std::string::npos) << r.body;
  }
  EXPECT_TRUE(Spool().empty());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_TRUE(stored_.empty());
}

TEST_F(DataCollectorTest, HostNamesNeverEscapeTheSpool) {
  const std::vector<std::string> hosts = {
      "../../etc/passwd",     "a/b",          "a_b",        "..", ".", ".hidden", std::string("nul\0byte", 8),
      std::string(1000, 'h'), "ünïcode host", "C:\\windows"};
  for (const auto& h : hosts) {
    auto r = Push(ReportBody(h, {"p"}));
    EXPECT_EQ(r.status, 200) << h << ": " << r.body;
  }
  const auto files = Spool();
  // Every host its own file (a/b and a_b included), all inside the spool, none hidden, none long.
  EXPECT_EQ(files.size(), hosts.size());
  for (const auto& f : files) {
    EXPECT_EQ(f.find('/'), std::string::npos) << f;
    EXPECT_EQ(f.find('\0'), std::string::npos) << f;
    EXPECT_EQ(f.find('\\'), std::string::npos) << f;
    EXPECT_NE(f.front(), '.') << f;
    EXPECT_LE(f.size(), 64u + 1 + 32 + 5) << f;
  }
  EXPECT_EQ(ListDir(dir_.path() + "/spool"), std::vector<std::string>{"nested"});
  EXPECT_EQ(ListDir(dir_.path()), (std::vector<std::string>{"spool", "tokens"}));
  struct stat st {};
  EXPECT_NE(stat("/etc/passwd_", &st), 0);
}

TEST_F(DataCollectorTest, NewestReplacesTheOlderPerHostAndProfileSet) {
  ASSERT_EQ(Push(ReportBody("web-1", {"linux", "ssh"}, 1000, "first")).status, 200);
  ASSERT_EQ(Push(ReportBody("web-1", {"ssh", "linux", "ssh"}, 2000, "second")).status, 200);  // same set
  auto files = Spool();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(ReadFile(spool_ + "/" + files[0]).find("second"), std::string::npos);
  // An older report arriving late does not replace the newer one (and is acknowledged).
  auto r = Push(ReportBody("web-1", {"linux", "ssh"}, 1500, "late"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("superseded"), std::string::npos) << r.body;
  EXPECT_NE(ReadFile(spool_ + "/" + Spool()[0]).find("second"), std::string::npos);
  // Another profile set of the same host, and a second host: kept beside it.
  ASSERT_EQ(Push(ReportBody("web-1", {"linux"}, 3000)).status, 200);
  ASSERT_EQ(Push(ReportBody("web-2", {"linux", "ssh"}, 3000)).status, 200);
  files = Spool();
  EXPECT_EQ(files.size(), 3u);
  std::set<std::string> prefixes;
  for (const auto& f : files) prefixes.insert(f.substr(0, f.find('_')));
  EXPECT_EQ(prefixes, (std::set<std::string>{"web-1", "web-2"}));
  // No temporary file is left behind.
  for (const auto& f : files) EXPECT_NE(f.front(), '.') << f;
}

TEST_F(DataCollectorTest, ConcurrentPushesAreAllStored) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (Push(ReportBody("host-" + std::to_string(t) + "-" + std::to_string(i), {"p"})).status == 200)
          ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(Spool().size(), 160u);
}

TEST_F(DataCollectorTest, TokensAreReadAgainOnReload) {
  std::ofstream(tokens_file_) << "rotated-token\n";
  ASSERT_TRUE(collector_.Configure(options_));
  EXPECT_EQ(Push(ReportBody("web-1", {"p"})).status, 401);
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}), "rotated-token").status, 200);
  // A reload that fails (no token left) changes nothing.
  std::ofstream(tokens_file_) << "# all gone\n";
  auto bad = collector_.Configure(options_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("no token"), std::string::npos) << bad.error();
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}), "rotated-token").status, 200);
  auto missing = options_;
  missing.tokens_file = dir_.path() + "/nope";
  EXPECT_FALSE(collector_.Configure(missing));
  // A smaller limit applies at once (the server's route is re-added with it).
  auto small = options_;
  std::ofstream(tokens_file_) << "rotated-token\n";
  small.max_body_bytes = 100;
  ASSERT_TRUE(collector_.Configure(small));
  EXPECT_EQ(Push(ReportBody("web-1", {"p"}, 0, std::string(200, 'x')), "rotated-token").status, 413);
  // Disabled: 404, and nothing stored.
  auto off = options_;
  off.enabled = false;
  ASSERT_TRUE(collector_.Configure(off));
  auto r = Push(ReportBody("web-9", {"p"}), "rotated-token");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("push is disabled"), std::string::npos);
}

TEST(DataCollectorSpool, LeftoverTemporaryFilesAreRemovedAtTheFirstConfigureOnly) {
  TempDir dir;
  DataCollectorOptions options;
  options.enabled = true;
  options.tokens_file = dir.Write("tokens", "t\n");
  options.spool_dir = dir.path() + "/spool";
  ASSERT_EQ(mkdir(options.spool_dir.c_str(), 0750), 0);
  std::ofstream(options.spool_dir + "/.push-web-1_abc-1-1.tmp") << "half a rep";
  DataCollector collector(TestParser);
  ASSERT_TRUE(collector.Configure(options));
  EXPECT_TRUE(ListDir(options.spool_dir).empty());
  // A reload leaves them: one may be a push in flight.
  std::ofstream(options.spool_dir + "/.push-web-2_abc-1-2.tmp") << "being written";
  ASSERT_TRUE(collector.Configure(options));
  EXPECT_EQ(ListDir(options.spool_dir), std::vector<std::string>{".push-web-2_abc-1-2.tmp"});
}

TEST_F(DataCollectorTest, MetasearchSaysEveryProfileIsMissing) {
  const std::string url = "http://127.0.0.1:" + std::to_string(port_) + "/compliance/profiles/metasearch";
  auto r = HttpPost(url, R"({"sha256": ["aaa", "bbb"]})", 10, {"x-data-collector-token: s3cret-token"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body), nlohmann::json::parse(R"({"missing_sha256": ["aaa", "bbb"]})"));
  EXPECT_EQ(HttpPost(url, "{}", 10, {"x-data-collector-token: wrong"}).status, 401);
}

Report WithProfiles(const std::vector<std::string>& names) {
  Report r;
  for (const auto& n : names) {
    Profile p;
    p.name = n;
    r.profiles.push_back(p);
  }
  return r;
}

TEST(DataCollectorNames, SpoolStemIsSafeAndKeyedByHostAndProfileSet) {
  Report a = WithProfiles({"ssh", "linux"});
  Report b = WithProfiles({"linux", "ssh", "ssh"});
  Report c = WithProfiles({"linux"});
  EXPECT_EQ(DataCollector::SpoolStem("web-1", a), DataCollector::SpoolStem("web-1", b));
  EXPECT_NE(DataCollector::SpoolStem("web-1", a), DataCollector::SpoolStem("web-2", a));
  EXPECT_NE(DataCollector::SpoolStem("a/b", a), DataCollector::SpoolStem("a_b", a));
  EXPECT_NE(DataCollector::SpoolStem("web-1", a), DataCollector::SpoolStem("web-1", c));
  EXPECT_EQ(DataCollector::SpoolStem("..", a).rfind("_._", 0), 0u);
  EXPECT_EQ(DataCollector::SpoolExtension("BZh91AY", Format::kArf), "xml.bz2");
  EXPECT_EQ(DataCollector::SpoolExtension("<x/>", Format::kXccdf12), "xml");
  EXPECT_EQ(DataCollector::SpoolExtension("{}", Format::kHdf), "json");
}

// With the real parser (compliance::ParseReport): a recorded Automate envelope is stored under its node_name,
// gzipped or not; an InSpec profile (not results) is refused with the parser's own words.
TEST(DataCollectorRealParser, StoresAnAutomateEnvelopeAndRefusesAProfile) {
  if (!estate::testing::HaveFixtures("compliance/inspec/automate")) GTEST_SKIP() << "no fixtures";
  TempDir dir;
  DataCollectorOptions options;
  options.enabled = true;
  options.tokens_file = dir.Write("tokens", "t\n");
  options.spool_dir = dir.path() + "/spool";
  DataCollector collector(ReportParser(options.max_body_bytes));
  ASSERT_TRUE(collector.Configure(options));
  web::HttpRequest req;
  req.method = "POST";
  req.path = "/data-collector/v0/";
  req.headers["x-data-collector-token"] = "t";
  req.body = estate::testing::ReadFileOrDie(
      estate::testing::FixturesDir() +
      "/compliance/inspec/automate/2018-04-01_osx(2)-omega-pro1(f)-pro2(w)-failed.json");
  auto r = collector.Handle(req);
  EXPECT_EQ(r.status, 200) << r.body;
  req.headers["content-encoding"] = "gzip";
  req.body = Gzip(req.body);
  r = collector.Handle(req);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ListDir(options.spool_dir).size(), 1u);  // the same host and profiles: replaced
  req.headers.erase("content-encoding");
  req.body =
      R"({"name":"linux-baseline","title":"x","version":"1.0.0","supports":[],"controls":[{"id":"c","code":"x"}],"groups":[],"sha256":"s"})";
  r = collector.Handle(req);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not a compliance report: "), std::string::npos) << r.body;
  EXPECT_EQ(ListDir(options.spool_dir).size(), 1u);
}

}  // namespace
}  // namespace estate::compliance
