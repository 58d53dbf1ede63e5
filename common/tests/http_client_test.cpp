#include "estate/http_client.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/fake_upstream.h"

namespace estate::http {
namespace {

using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using namespace std::chrono_literals;

// A proxy from the CI environment must not see (or answer for) requests meant for the local test servers.
const bool kNoProxy = ::setenv("no_proxy", "*", 1) == 0;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Budget Within(std::chrono::milliseconds ms) {
  Budget budget;
  budget.deadline = Clock::now() + ms;
  return budget;
}

// Every test has a deadline, so a broken client fails the test instead of hanging it.
Budget Generous() { return Within(20s); }

ClientOptions FastRetries() {
  ClientOptions options;
  options.source = "test";
  options.backoff_initial_seconds = 0.01;
  options.backoff_max_seconds = 0.05;
  return options;
}

Request Get(const std::string& url) {
  Request request;
  request.url = url;
  return request;
}

FakeResponse Text(int status, std::string body) {
  FakeResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// Fault has many fields; GCC warns about designated initializers that leave some out.
Fault KindFault(Fault::Kind kind, int remaining = -1) {
  Fault fault;
  fault.kind = kind;
  fault.remaining = remaining;
  return fault;
}

Fault StatusFault(int status, int remaining = -1,
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  Fault fault = KindFault(Fault::Kind::kStatus, remaining);
  fault.status = status;
  fault.headers = std::move(headers);
  return fault;
}

Fault LatencyFault(double seconds) {
  Fault fault;
  fault.latency_seconds = seconds;
  return fault;
}

std::unique_ptr<FakeUpstream> StartUpstream(FakeUpstream::Options options = {}) {
  auto upstream = std::make_unique<FakeUpstream>(std::move(options));
  auto started = upstream->Start();
  EXPECT_TRUE(started.ok()) << started.error();
  upstream->Route("*", "/ok", [](const FakeRequest&) { return Text(200, "fine"); });
  return upstream;
}

// A port nothing listens on: bound once to learn a free number, then closed.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A minimal HTTP/1.1 server on a raw socket for what FakeUpstream does not do on purpose: keep-alive (to see
// connection reuse) and bodies without a Content-Length. Every request gets `response` verbatim; with
// close_after_response the connection is closed after it.
class RawServer {
 public:
  RawServer(std::string response, bool close_after_response)
      : response_(std::move(response)), close_after_(close_after_response) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(listen_fd_, 16), 0);
    EXPECT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~RawServer() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }

 private:
  // Waits for fd to become readable in short slices so that stop_ is noticed.
  bool WaitReadable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void AcceptLoop() {
    while (WaitReadable(listen_fd_)) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      ++accepted_;
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    while (WaitReadable(fd)) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::size_t end;
      bool closed = false;
      while ((end = buffer.find("\r\n\r\n")) != std::string::npos) {  // requests here carry no body
        buffer.erase(0, end + 4);
        ++requests_;
        std::string_view out = response_;
        while (!out.empty()) {
          ssize_t w = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
          if (w <= 0) break;
          out.remove_prefix(static_cast<std::size_t>(w));
        }
        if (close_after_) {
          closed = true;
          break;
        }
      }
      if (closed) break;
    }
    ::close(fd);
  }

  std::string response_;
  bool close_after_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // only touched by the acceptor thread and the destructor
};

// Counts how many requests a route is serving at once.
struct InFlight {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  FakeResponse Serve(std::chrono::milliseconds latency) {
    int current = ++now;
    int seen = max.load();
    while (current > seen && !max.compare_exchange_weak(seen, current)) {
    }
    std::this_thread::sleep_for(latency);  // simulated upstream latency, not synchronisation
    --now;
    return Text(200, "slow");
  }
};

// --- plain requests ----------------------------------------------------------------------------------------

TEST(CurlHttpClient, ReturnsStatusBodyAndLowerCasedHeaders) {
  auto upstream = StartUpstream();
  upstream->Route("GET", "/hello", [](const FakeRequest&) {
    FakeResponse response = Text(200, "hello world");
    response.headers.emplace_back("X-Custom-Thing", "Yes");
    return response;
  });
  CurlHttpClient client;
  auto result = client.Do(Get(upstream->base_url() + "/hello"), FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "hello world");
  EXPECT_EQ(result->Header("x-custom-thing"), "Yes");
  EXPECT_EQ(result->Header("content-type"), "text/plain");
  EXPECT_EQ(result->attempts, 1);
  EXPECT_GT(result->seconds, 0);
}

TEST(CurlHttpClient, ReturnsClientErrorsAsResponsesWithoutRetrying) {
  auto upstream = StartUpstream();
  CurlHttpClient client;
  auto result = client.Do(Get(upstream->base_url() + "/missing"), FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(result->attempts, 1);
  EXPECT_EQ(upstream->RequestCount(), 1u);
}

TEST(CurlHttpClient, SendsMethodHeadersAndBody) {
  auto upstream = StartUpstream();
  CurlHttpClient client;
  Request put;
  put.method = "put";
  put.url = upstream->base_url() + "/ok?x=1";
  put.headers = {{"Content-Type", "application/json"}, {"X-Trace", "abc"}};
  put.body = R"({"a":1})";
  auto result = client.Do(put, FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 200);

  Request head = Get(upstream->base_url() + "/ok");
  head.method = "HEAD";
  result = client.Do(head, FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->body, "");

  auto requests = upstream->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].query, "x=1");
  EXPECT_EQ(requests[0].body, R"({"a":1})");
  EXPECT_EQ(requests[0].headers["content-type"], "application/json");
  EXPECT_EQ(requests[0].headers["x-trace"], "abc");
  EXPECT_EQ(requests[0].headers.count("expect"), 0u);
  EXPECT_EQ(requests[1].method, "HEAD");
}

TEST(CurlHttpClient, RejectsBadUrlsWithoutEchoingThem) {
  CurlHttpClient client;
  for (const std::string url : {"ftp://user:hunter2@example.com/x", "not a url with hunter2", ""}) {
    auto result = client.Do(Get(url), FastRetries(), Generous());
    ASSERT_FALSE(result.ok()) << url;
    EXPECT_EQ(result.error().find("hunter2"), std::string::npos) << result.error();
  }
}

TEST(CurlHttpClient, RejectsHeaderInjection) {
  auto upstream = StartUpstream();
  CurlHttpClient client;
  Request request = Get(upstream->base_url() + "/ok");
  request.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  auto result = client.Do(request, FastRetries(), Generous());
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(upstream->RequestCount(), 0u);
}

// --- auth --------------------------------------------------------------------------------------------------

TEST(CurlHttpClient, BasicAuthReachesServer) {
  FakeUpstream::Options fake;
  fake.basic_auth = "admin:s3cret-pass";
  auto upstream = StartUpstream(fake);
  CurlHttpClient client;

  auto anonymous = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Generous());
  ASSERT_TRUE(anonymous.ok()) << anonymous.error();
  EXPECT_EQ(anonymous->status, 401);

  ClientOptions options = FastRetries();
  options.auth.kind = Auth::Kind::kBasic;
  options.auth.username = "admin";
  options.auth.password = "s3cret-pass";
  auto result = client.Do(Get(upstream->base_url() + "/ok"), options, Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "fine");
  EXPECT_EQ(upstream->Requests().back().headers["authorization"], "Basic YWRtaW46czNjcmV0LXBhc3M=");
}

TEST(CurlHttpClient, BearerAndCustomHeaderAuthReachServer) {
  auto upstream = StartUpstream();
  CurlHttpClient client;
  ClientOptions bearer = FastRetries();
  bearer.auth.kind = Auth::Kind::kBearer;
  bearer.auth.token = "tok-123";
  ASSERT_TRUE(client.Do(Get(upstream->base_url() + "/ok"), bearer, Generous()).ok());

  ClientOptions header = FastRetries();
  header.auth.kind = Auth::Kind::kHeader;
  header.auth.header_name = "X-Auth-Token";
  header.auth.header_value = "gAAAA-keystone";
  ASSERT_TRUE(client.Do(Get(upstream->base_url() + "/ok"), header, Generous()).ok());

  auto requests = upstream->Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers["authorization"], "Bearer tok-123");
  EXPECT_EQ(requests[1].headers["x-auth-token"], "gAAAA-keystone");
  EXPECT_EQ(requests[1].headers.count("authorization"), 0u);
}

TEST(CurlHttpClient, ErrorsCarryNoCredentials) {
  CurlHttpClient client;
  const int port = ClosedPort();
  ClientOptions options = FastRetries();
  options.max_retries = 0;
  for (Auth::Kind kind : {Auth::Kind::kBasic, Auth::Kind::kBearer, Auth::Kind::kHeader}) {
    options.auth = {};
    options.auth.kind = kind;
    options.auth.username = "admin";
    options.auth.password = "pw-SECRET-1";
    options.auth.token = "tok-SECRET-2";
    options.auth.header_name = "X-Auth-Token";
    options.auth.header_value = "hdr-SECRET-3";
    const std::string url =
        "http://someone:url-SECRET-4@127.0.0.1:" + std::to_string(port) + "/redfish/v1?token=q-SECRET-5";
    auto result = client.Do(Get(url), options, Generous());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().find("SECRET"), std::string::npos) << result.error();
    EXPECT_EQ(result.error().find("someone"), std::string::npos) << result.error();
    EXPECT_NE(result.error().find("127.0.0.1"), std::string::npos) << result.error();
    EXPECT_NE(result.error().find("/redfish/v1"), std::string::npos) << result.error();
  }
}

// --- retries -----------------------------------------------------------------------------------------------

TEST(CurlHttpClient, RetriesServerErrorThenSucceeds) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(503, 1));
  CurlHttpClient client;
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "fine");
  EXPECT_EQ(result->attempts, 2);
  EXPECT_EQ(upstream->RequestCount(), 2u);
}

TEST(CurlHttpClient, ReturnsLastResponseWhenRetriesRunOut) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(503));
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_retries = 2;
  auto result = client.Do(Get(upstream->base_url() + "/ok"), options, Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->attempts, 3);
  EXPECT_EQ(upstream->RequestCount(), 3u);
}

TEST(CurlHttpClient, DoesNotRetryNotImplemented) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(501));
  CurlHttpClient client;
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 501);
  EXPECT_EQ(result->attempts, 1);
}

TEST(CurlHttpClient, HonoursRetryAfter) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(429, 1, {{"Retry-After", "1"}}));
  CurlHttpClient client;
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Generous());
  const double elapsed = SecondsSince(start);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->attempts, 2);
  EXPECT_GE(elapsed, 0.95);
  EXPECT_LT(elapsed, 8);
}

TEST(CurlHttpClient, GivesUpWhenRetryAfterExceedsTheDeadline) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(503, -1, {{"Retry-After", "30"}}));
  CurlHttpClient client;
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Within(3s));
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->attempts, 1);
  EXPECT_LT(SecondsSince(start), 2.5);
}

TEST(CurlHttpClient, DoesNotRetryPost) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(503));
  CurlHttpClient client;
  Request post = Get(upstream->base_url() + "/ok");
  post.method = "POST";
  post.body = "x=1";
  auto result = client.Do(post, FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->attempts, 1);
  EXPECT_EQ(upstream->RequestCount(), 1u);
  EXPECT_EQ(upstream->Requests()[0].body, "x=1");

  upstream->ClearFaults();
  upstream->ClearRequests();
  upstream->AddFault(KindFault(Fault::Kind::kDropConnection));
  auto dropped = client.Do(post, FastRetries(), Generous());
  EXPECT_FALSE(dropped.ok());
  EXPECT_EQ(upstream->RequestCount(), 1u);
}

TEST(CurlHttpClient, RetriesDroppedConnection) {
  auto upstream = StartUpstream();
  upstream->AddFault(KindFault(Fault::Kind::kDropConnection, 1));
  CurlHttpClient client;
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->attempts, 2);
}

TEST(CurlHttpClient, RetriesTruncatedBodyThenReportsIt) {
  auto upstream = StartUpstream();
  upstream->Route("GET", "/big", [](const FakeRequest&) { return Text(200, std::string(4000, 'b')); });
  upstream->AddFault(KindFault(Fault::Kind::kTruncated, 1));
  CurlHttpClient client;
  auto result = client.Do(Get(upstream->base_url() + "/big"), FastRetries(), Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->body.size(), 4000u);
  EXPECT_EQ(result->attempts, 2);

  upstream->AddFault(KindFault(Fault::Kind::kTruncated));
  auto truncated = client.Do(Get(upstream->base_url() + "/big"), FastRetries(), Generous());
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("truncated"), std::string::npos) << truncated.error();
  EXPECT_NE(truncated.error().find("after 3 attempts"), std::string::npos) << truncated.error();
}

// --- limits: size, time, cancellation ----------------------------------------------------------------------

TEST(CurlHttpClient, CapsBodySizeWithContentLength) {
  auto upstream = StartUpstream();
  Fault huge = KindFault(Fault::Kind::kHuge);
  huge.huge_bytes = 8u << 20;
  upstream->AddFault(huge);
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_body_bytes = 1000;
  auto result = client.Do(Get(upstream->base_url() + "/ok"), options, Generous());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("response body exceeds 1000 bytes"), std::string::npos) << result.error();
}

TEST(CurlHttpClient, CapsBodySizeWhileStreaming) {
  // No Content-Length: only the write callback can notice.
  RawServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n" + std::string(100000, 'z'),
      /*close_after_response=*/true);
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_body_bytes = 5000;
  auto result = client.Do(Get(server.url("/stream")), options, Generous());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("response body exceeds 5000 bytes"), std::string::npos) << result.error();

  options.max_body_bytes = 100000;  // exactly fits
  result = client.Do(Get(server.url("/stream")), options, Generous());
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->body.size(), 100000u);
}

TEST(CurlHttpClient, TimesOutQuickly) {
  auto upstream = StartUpstream();
  upstream->AddFault(LatencyFault(10));
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.timeout_seconds = 0.3;
  options.max_retries = 0;
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), options, Generous());
  const double elapsed = SecondsSince(start);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("timed out after 0.3 s"), std::string::npos) << result.error();
  EXPECT_GE(elapsed, 0.29);
  EXPECT_LT(elapsed, 3);
}

TEST(CurlHttpClient, SlowServerIsNotRetriedAfterTimeout) {
  auto upstream = StartUpstream();
  upstream->AddFault(LatencyFault(10));
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.timeout_seconds = 0.2;
  auto result = client.Do(Get(upstream->base_url() + "/ok"), options, Generous());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(upstream->RequestCount(), 1u);
}

TEST(CurlHttpClient, BudgetDeadlineCapsTotalTime) {
  auto upstream = StartUpstream();
  upstream->AddFault(LatencyFault(10));
  CurlHttpClient client;
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), Within(500ms));
  const double elapsed = SecondsSince(start);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("timed out"), std::string::npos) << result.error();
  EXPECT_GE(elapsed, 0.45);
  EXPECT_LT(elapsed, 3);
}

TEST(CurlHttpClient, BudgetDeadlineCapsRetries) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(503));
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_retries = 1000;
  options.backoff_initial_seconds = 0.05;
  options.backoff_max_seconds = 0.1;
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), options, Within(800ms));
  const double elapsed = SecondsSince(start);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 503);
  EXPECT_GT(result->attempts, 1);
  EXPECT_LT(elapsed, 3);
}

TEST(CurlHttpClient, ExpiredBudgetSendsNothing) {
  auto upstream = StartUpstream();
  CurlHttpClient client;
  Budget cancelled = Generous();
  cancelled.cancel.Cancel();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), cancelled);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("cancelled"), std::string::npos) << result.error();

  Budget past;
  past.deadline = Clock::now() - 1s;
  result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), past);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("deadline"), std::string::npos) << result.error();
  EXPECT_EQ(upstream->RequestCount(), 0u);
}

TEST(CurlHttpClient, CancelAbortsInFlightRequest) {
  auto upstream = StartUpstream();
  upstream->AddFault(LatencyFault(10));
  CurlHttpClient client;
  Budget budget = Generous();
  std::thread canceller([&] {
    // Cancel once the request has reached the server.
    const auto give_up = Clock::now() + 10s;
    while (upstream->RequestCount() == 0 && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
    budget.cancel.Cancel();
  });
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), budget);
  const double since_cancel_possible = SecondsSince(start);
  canceller.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("cancelled"), std::string::npos) << result.error();
  EXPECT_LT(since_cancel_possible, 2.5);
  EXPECT_EQ(upstream->RequestCount(), 1u);
}

TEST(CurlHttpClient, CancelInterruptsBackoff) {
  auto upstream = StartUpstream();
  upstream->AddFault(StatusFault(503, -1, {{"Retry-After", "5"}}));
  CurlHttpClient client;
  Budget budget = Generous();
  std::thread canceller([&] {
    const auto give_up = Clock::now() + 10s;
    while (upstream->RequestCount() == 0 && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(100ms);
    budget.cancel.Cancel();
  });
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/ok"), FastRetries(), budget);
  canceller.join();
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->attempts, 1);
  EXPECT_LT(SecondsSince(start), 3);
}

// --- concurrency -------------------------------------------------------------------------------------------

TEST(CurlHttpClient, LimitsConcurrencyPerHost) {
  auto upstream = StartUpstream();
  InFlight in_flight;
  upstream->Route("GET", "/slow", [&](const FakeRequest&) { return in_flight.Serve(300ms); });
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_concurrent_per_host = 2;
  std::atomic<int> ok{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto result = client.Do(Get(upstream->base_url() + "/slow"), options, Generous());
      if (result.ok() && result->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = SecondsSince(start);
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(in_flight.max.load(), 2);
  EXPECT_GE(elapsed, 0.85);  // three rounds of 300 ms
  EXPECT_LT(elapsed, 8);
}

TEST(CurlHttpClient, LimitsConcurrencyInTotal) {
  auto upstream = StartUpstream();
  InFlight in_flight;
  upstream->Route("GET", "/slow", [&](const FakeRequest&) { return in_flight.Serve(200ms); });
  CurlHttpClient client(CurlLimits{.max_concurrent_total = 2});
  ClientOptions options = FastRetries();
  options.max_concurrent_per_host = 4;
  // Two names for the same server are two hosts to the client.
  const std::string port = std::to_string(upstream->port());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 6; ++i) {
    const std::string host = i % 2 == 0 ? "127.0.0.1" : "localhost";
    threads.emplace_back([&, host] {
      auto result = client.Do(Get("http://" + host + ":" + port + "/slow"), options, Generous());
      if (result.ok() && result->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_LE(in_flight.max.load(), 2);
}

TEST(CurlHttpClient, WaitingForASlotHonoursTheDeadline) {
  auto upstream = StartUpstream();
  InFlight in_flight;
  upstream->Route("GET", "/slow", [&](const FakeRequest&) { return in_flight.Serve(1500ms); });
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_concurrent_per_host = 1;
  std::thread holder([&] { (void)client.Do(Get(upstream->base_url() + "/slow"), options, Generous()); });
  const auto give_up = Clock::now() + 10s;
  while (upstream->RequestCount() == 0 && Clock::now() < give_up) std::this_thread::sleep_for(5ms);
  const auto start = Clock::now();
  auto result = client.Do(Get(upstream->base_url() + "/slow"), options, Within(200ms));
  const double elapsed = SecondsSince(start);
  holder.join();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("waiting for a connection slot"), std::string::npos) << result.error();
  EXPECT_GE(elapsed, 0.15);
  EXPECT_LT(elapsed, 1.4);
  EXPECT_EQ(upstream->RequestCount(), 1u);
}

TEST(CurlHttpClient, ReusesKeepAliveConnections) {
  RawServer server("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
                   /*close_after_response=*/false);
  CurlHttpClient client;
  for (int i = 0; i < 4; ++i) {
    auto result = client.Do(Get(server.url("/r" + std::to_string(i))), FastRetries(), Generous());
    ASSERT_TRUE(result.ok()) << result.error();
    EXPECT_EQ(result->body, "ok");
  }
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(server.accepted(), 1);
}

// --- connection failures and TLS ---------------------------------------------------------------------------

TEST(CurlHttpClient, ReportsConnectionRefused) {
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.max_retries = 1;
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  const auto start = Clock::now();
  auto result = client.Do(Get(url), options, Generous());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("connection failed"), std::string::npos) << result.error();
  EXPECT_NE(result.error().find("after 2 attempts"), std::string::npos) << result.error();
  EXPECT_LT(SecondsSince(start), 3);
}

TEST(CurlHttpClient, ReportsDnsFailure) {
  CurlHttpClient client;
  ClientOptions options = FastRetries();
  options.timeout_seconds = 5;
  auto result = client.Do(Get("http://no-such-host.invalid/x"), options, Generous());
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().find("DNS"), std::string::npos) << result.error();
}

// A self-signed certificate for 127.0.0.1, made with the openssl tool; empty when that is not possible.
std::string MakeSelfSignedPem(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const std::string key = (dir / "key.pem").string();
  const std::string cert = (dir / "cert.pem").string();
  std::string both = (dir / "both.pem").string();
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1 && cat " + cert + " " + key + " > " + both;
  if (std::system(command.c_str()) != 0) return "";
  return both;
}

// civetweb 1.15 resolves OpenSSL by its 1.1 names through dlopen("libssl.so") and calls a NULL pointer on the
// first handshake unless the sslcompat shim (SONAME "libssl.so") is already loaded. RTLD_NOLOAD asks exactly
// that without loading anything, so a missing shim skips this test instead of crashing the whole binary.
bool CivetwebTlsUsable() {
  void* ssl = ::dlopen("libssl.so", RTLD_LAZY | RTLD_NOLOAD);
  if (ssl == nullptr) return false;
  const bool usable = ::dlsym(ssl, "SSL_get_peer_certificate") != nullptr;
  ::dlclose(ssl);
  return usable;
}

TEST(CurlHttpClient, VerifiesTlsByDefault) {
  if (!CivetwebTlsUsable()) GTEST_SKIP() << "civetweb cannot do TLS here (no OpenSSL 1.1 name shim loaded)";
  const auto dir =
      std::filesystem::temp_directory_path() / ("http_client_test_tls_" + std::to_string(::getpid()));
  const std::string pem = MakeSelfSignedPem(dir);
  if (pem.empty()) GTEST_SKIP() << "openssl cannot make a test certificate";
  FakeUpstream::Options fake;
  fake.tls_cert_pem = pem;
  FakeUpstream upstream(fake);
  if (auto started = upstream.Start(); !started.ok())
    GTEST_SKIP() << "no TLS in FakeUpstream: " << started.error();
  upstream.Route("GET", "/ok", [](const FakeRequest&) { return Text(200, "secure"); });
  ASSERT_EQ(upstream.base_url().rfind("https://", 0), 0u);
  CurlHttpClient client;

  ClientOptions options = FastRetries();
  auto rejected = client.Do(Get(upstream.base_url() + "/ok"), options, Generous());
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.error().find("TLS"), std::string::npos) << rejected.error();
  EXPECT_EQ(upstream.RequestCount(), 0u);

  options.ca_file = pem;
  auto trusted = client.Do(Get(upstream.base_url() + "/ok"), options, Generous());
  ASSERT_TRUE(trusted.ok()) << trusted.error();
  EXPECT_EQ(trusted->body, "secure");

  ClientOptions insecure = FastRetries();
  insecure.source = "insecure-source";
  insecure.insecure_skip_verify = true;
  ::testing::internal::CaptureStderr();
  auto skipped = client.Do(Get(upstream.base_url() + "/ok"), insecure, Generous());
  auto skipped_again = client.Do(Get(upstream.base_url() + "/ok"), insecure, Generous());
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(skipped.ok()) << skipped.error();
  ASSERT_TRUE(skipped_again.ok()) << skipped_again.error();
  EXPECT_EQ(skipped->body, "secure");
  std::size_t warnings = 0;
  for (std::size_t pos = log.find("insecure-source"); pos != std::string::npos;
       pos = log.find("insecure-source", pos + 1)) {
    ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << log;
  upstream.Stop();
  std::filesystem::remove_all(dir);
}

// --- Retry-After -------------------------------------------------------------------------------------------

std::string HttpDate(std::time_t when) {
  std::tm tm{};
  gmtime_r(&when, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

TEST(ParseRetryAfter, DeltaSeconds) {
  EXPECT_DOUBLE_EQ(ParseRetryAfter("0"), 0);
  EXPECT_DOUBLE_EQ(ParseRetryAfter("1"), 1);
  EXPECT_DOUBLE_EQ(ParseRetryAfter(" 120 "), 120);
  EXPECT_GT(ParseRetryAfter("99999999999999999999"), 1e18);
}

TEST(ParseRetryAfter, HttpDates) {
  const std::time_t now = std::time(nullptr);
  EXPECT_NEAR(ParseRetryAfter(HttpDate(now + 100)), 100, 2.5);
  EXPECT_DOUBLE_EQ(ParseRetryAfter(HttpDate(now - 100)), 0);  // in the past: retry now
  EXPECT_DOUBLE_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT"), 0);
  EXPECT_GT(ParseRetryAfter("Wed, 21 Oct 2099 07:28:00 GMT"), 1e9);
  EXPECT_GT(ParseRetryAfter("Wednesday, 21-Oct-99 07:28:00 GMT"), -1);  // RFC 850 form parses
}

TEST(ParseRetryAfter, RejectsGarbage) {
  for (const char* bad : {"", "   ", "soon", "-5", "1.5", "1 2", "12abc", "Nov"}) {
    EXPECT_LT(ParseRetryAfter(bad), 0) << bad;
  }
}

// --- metrics -----------------------------------------------------------------------------------------------

double SampleValue(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> have;
      for (const auto& pair : metric.label) have[pair.name] = pair.value;
      if (have != labels) continue;
      if (family.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(metric.histogram.sample_count);
      }
      return metric.counter.value;
    }
  }
  return -1;
}

TEST(CurlHttpClient, CountsRequestsBySourceAndCode) {
  auto upstream = StartUpstream();
  prometheus::Registry registry;
  CurlHttpClient client({}, &registry);
  ClientOptions options = FastRetries();
  options.source = "bmc";
  upstream->AddFault(StatusFault(503, 1));
  ASSERT_TRUE(client.Do(Get(upstream->base_url() + "/ok"), options, Generous()).ok());
  ASSERT_TRUE(client.Do(Get(upstream->base_url() + "/ok"), options, Generous()).ok());
  options.max_retries = 0;
  const std::string refused = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  ASSERT_FALSE(client.Do(Get(refused), options, Generous()).ok());

  const auto families = registry.Collect();
  EXPECT_EQ(SampleValue(families, "estate_upstream_requests_total", {{"source", "bmc"}, {"code", "200"}}), 2);
  EXPECT_EQ(SampleValue(families, "estate_upstream_requests_total", {{"source", "bmc"}, {"code", "503"}}), 1);
  EXPECT_EQ(SampleValue(families, "estate_upstream_requests_total", {{"source", "bmc"}, {"code", "error"}}),
            1);
  EXPECT_EQ(SampleValue(families, "estate_upstream_request_duration_seconds", {}), 4);
}

}  // namespace
}  // namespace estate::http
