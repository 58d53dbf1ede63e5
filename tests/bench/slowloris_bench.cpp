// slowloris_bench: /metrics latency of a normal client while many slow-loris connections are open against the
// real estate-example-exporter, on 127.0.0.1 only. For plain HTTP, and for TLS with basic auth, it opens N
// connections (default 200) of one kind and keeps them at N (a closed one is reopened, as an attacker would):
//   - idle: connect and send nothing (over TLS: not even a ClientHello);
//   - drip: send an unfinished request header one byte a second (over TLS: after the handshake);
//   - hello-drip (TLS only): send a real ClientHello one byte a second;
//   - wrong-password-clients (TLS only): 16 clients sending random passwords back to back;
// and meanwhile a normal client GETs /metrics on a fresh connection every 50 ms (TLS handshake and a cached
// basic-auth check included). Each scenario prints p50/p99/max and errors; the target is p99 < 100 ms.
// Exit status: 0 when every target is met, 1 when one is missed, 2 when the benchmark could not run.
// Bounded in time: about (setup + --seconds) per scenario, 8 scenarios (a request gives up after 20 s).
// --exporter=PATH measures another build, e.g. one from before the fix.
#include <arpa/inet.h>
#include <crypt.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"

namespace {

using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::kExitBroken;
using estate::bench::kExitMissed;
using estate::bench::Percentile;
using estate::testing::ChildProcess;
using estate::testing::TempDir;
using Clock = std::chrono::steady_clock;

struct Args {
  int connections = 200;
  double seconds = 10;
  double max_p99_ms = 100;
  std::string exporter;  // another build of the exporter, e.g. an older one to compare with
};

int Connect(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(s);
    return -1;
  }
  timeval tv{2, 0};  // a send that blocks (full buffers) must not stall the whole drip loop
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

enum class Kind { kIdle, kDrip, kHelloDrip, kWrongPasswords };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kIdle:
      return "idle";
    case Kind::kDrip:
      return "drip";
    case Kind::kHelloDrip:
      return "hello-drip";
    case Kind::kWrongPasswords:
      return "wrong-password-clients";
  }
  return "?";
}

// One slow-loris connection. Over TLS, kDrip completes the handshake and drips encrypted header bytes;
// kHelloDrip drips the raw bytes of a ClientHello produced by a memory-BIO handshake.
struct Loris {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string pending;  // kHelloDrip: the ClientHello bytes still to send
  std::size_t sent = 0;
  ~Loris() { Close(); }
  void Close() {
    if (ssl != nullptr) SSL_free(ssl);
    ssl = nullptr;
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

std::string ClientHello(SSL_CTX* ctx) {
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  SSL_set_connect_state(ssl);
  (void)SSL_do_handshake(ssl);  // wants to read the ServerHello; the ClientHello is in `out`
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(std::max(0L, n)));
  SSL_free(ssl);
  return hello;
}

bool Open(Loris& l, Kind kind, int port, SSL_CTX* tls, const std::string& hello) {
  l.Close();
  l.fd = Connect(port);
  if (l.fd < 0) return false;
  l.sent = 0;
  if (tls != nullptr && kind == Kind::kDrip) {
    l.ssl = SSL_new(tls);
    SSL_set_fd(l.ssl, l.fd);
    if (SSL_connect(l.ssl) != 1) {
      ERR_clear_error();
      l.Close();
      return false;
    }
  }
  if (kind == Kind::kHelloDrip) l.pending = hello;
  return true;
}

// Sends the next byte; false when the server closed the connection.
bool DripOne(Loris& l, Kind kind) {
  static const std::string kHeader = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  char c = 'a';
  if (kind == Kind::kHelloDrip) {
    if (l.sent >= l.pending.size()) return true;  // all sent; the server must answer or time it out
    c = l.pending[l.sent];
  } else if (l.sent < kHeader.size()) {
    c = kHeader[l.sent];
  }
  ++l.sent;
  if (l.ssl != nullptr) {
    if (SSL_write(l.ssl, &c, 1) != 1) {
      ERR_clear_error();
      return false;
    }
    return true;
  }
  return send(l.fd, &c, 1, MSG_NOSIGNAL) == 1;
}

// True when the server has closed an idle connection (EOF or reset), without blocking.
bool ClosedByPeer(int fd) {
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

struct Attack {
  std::atomic<bool> stop{false};
  std::atomic<long> reopened{0};
  std::atomic<int> open_now{0};
  std::thread thread;
};

// Keeps `n` connections of `kind` open until stopped: reopens closed ones, drips a byte a second into each.
void RunAttack(Attack& a, Kind kind, int n, int port, SSL_CTX* tls, const std::string& hello) {
  std::vector<Loris> conns(static_cast<std::size_t>(n));
  for (auto& l : conns) Open(l, kind, port, tls, hello);
  auto next_drip = Clock::now();
  while (!a.stop) {
    int open = 0;
    const bool drip = kind != Kind::kIdle && Clock::now() >= next_drip;
    if (drip) next_drip += std::chrono::seconds(1);
    for (auto& l : conns) {
      if (a.stop) break;
      bool alive = l.fd >= 0;
      if (alive && drip) alive = DripOne(l, kind);
      if (alive && l.ssl == nullptr) alive = !ClosedByPeer(l.fd);
      if (!alive) {
        ++a.reopened;
        Open(l, kind, port, tls, hello);
      }
      if (l.fd >= 0) ++open;
    }
    a.open_now = open;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::size_t Discard(char*, std::size_t size, std::size_t n, void*) { return size * n; }

// `n` clients that GET url back to back, each with a new random password (so no answer is cached), until
// stopped; attack.reopened counts their requests.
void RunPasswordFlood(Attack& a, int n, const std::string& url, const std::string& ca) {
  std::vector<std::thread> clients;
  for (int c = 0; c < n; ++c) {
    clients.emplace_back([&a, &url, &ca, c] {
      CURL* curl = curl_easy_init();
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
      curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
      for (long i = 0; !a.stop; ++i) {
        const std::string userpwd = "prometheus:guess-" + std::to_string(c) + "-" + std::to_string(i);
        curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
        curl_easy_perform(curl);
        ++a.reopened;
      }
      curl_easy_cleanup(curl);
    });
  }
  a.open_now = n;
  for (auto& t : clients) t.join();
}

struct Latency {
  std::vector<double> ms;
  int errors = 0;
};

// A normal client: a GET on a fresh connection every 50 ms for `seconds`.
Latency Measure(const std::string& url, const std::string& ca, const std::string& userpwd, double seconds) {
  Latency out;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  if (!ca.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  if (!userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd.c_str());
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < until) {
    const auto start = Clock::now();
    CURLcode rc = curl_easy_perform(curl);
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (rc != CURLE_OK || code != 200) ++out.errors;
    out.ms.push_back(ms);  // a failure counts with the time it took
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  curl_easy_cleanup(curl);
  return out;
}

int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--connections=", 0) == 0)
      args.connections = std::atoi(a.c_str() + 14);
    else if (a.rfind("--seconds=", 0) == 0)
      args.seconds = std::atof(a.c_str() + 10);
    else if (a.rfind("--exporter=", 0) == 0)
      args.exporter = a.substr(11);
    else {
      std::fprintf(stderr, "usage: slowloris_bench [--connections=N] [--seconds=S] [--exporter=PATH]\n");
      return kExitBroken;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_ALL);
  TempDir dir;
  const std::string d = dir.path();
  // A self-signed certificate for 127.0.0.1 and a cost-10 bcrypt user (htpasswd -B's default).
  if (Sh("cd " + d +
         " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout k.pem "
         "-out c.pem -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "slowloris_bench: openssl could not make a certificate\n");
    return kExitBroken;
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  crypt_data cd{};
  const char* hash =
      crypt_gensalt_rn("$2b$", 10, nullptr, 0, salt, sizeof salt) ? crypt_r("s3cret", salt, &cd) : nullptr;
  if (hash == nullptr) return kExitBroken;
  const std::string web =
      dir.Write("web.yml", "tls_server_config:\n  cert_file: " + d + "/c.pem\n  key_file: " + d +
                               "/k.pem\nbasic_auth_users:\n  prometheus: '" + hash + "'\n");

  estate::testing::FakeUpstream upstream(estate::testing::FakeUpstream::Options{});
  upstream.Route("GET", "/status", [](const estate::testing::FakeRequest&) {
    estate::testing::FakeResponse r;
    r.body = R"({"temperature": 41.5, "fans": 6})";
    return r;
  });
  if (!upstream.Start()) return kExitBroken;
  const std::string config = dir.Write(
      "c.yml", "targets:\n  - name: a\n    url: " + upstream.base_url() + "/status\n    interval: 1s\n");

  SSL_CTX* tls = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, nullptr);
  const std::string hello = ClientHello(tls);

  struct Scenario {
    bool tls;
    Kind kind;
    int n;
  };
  const int n = args.connections;
  const std::vector<Scenario> scenarios = {{false, Kind::kIdle, 0},     {false, Kind::kIdle, n},
                                           {false, Kind::kDrip, n},     {true, Kind::kIdle, 0},
                                           {true, Kind::kIdle, n},      {true, Kind::kDrip, n},
                                           {true, Kind::kHelloDrip, n}, {true, Kind::kWrongPasswords, 16}};
  Info("estate-example-exporter with its defaults (--web.max-requests=16, --web.max-connections=512); " +
       std::to_string(n) +
       " slow-loris connections per scenario, a normal GET /metrics on a fresh connection "
       "every 50 ms for " +
       std::to_string(static_cast<int>(args.seconds)) + " s");
  bool missed = false;
  for (bool with_tls : {false, true}) {
    ChildProcess exporter;
    const int port = estate::testing::FreePort();
    const std::string exe =
        args.exporter.empty() ? estate::testing::BinaryPath("estate-example-exporter") : args.exporter;
    std::vector<std::string> argv = {exe, "--config.file=" + config,
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                     "--log.level=warn"};
    if (with_tls) argv.push_back("--web.config.file=" + web);
    if (!exporter.Start(argv, d + "/exporter.log")) return kExitBroken;
    const std::string url =
        std::string(with_tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port) + "/metrics";
    const std::string ca = with_tls ? d + "/c.pem" : "";
    const std::string userpwd = with_tls ? "prometheus:s3cret" : "";
    // Wait for it to answer (and verify the credentials once, so they are cached as for a real scraper).
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      up = Measure(url, ca, userpwd, 0.01).errors == 0;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) {
      std::fprintf(stderr, "slowloris_bench: the exporter did not answer; log:\n%s\n",
                   exporter.Log().c_str());
      return kExitBroken;
    }
    for (const auto& s : scenarios) {
      if (s.tls != with_tls) continue;
      Attack attack;
      if (s.n > 0) {
        attack.thread = std::thread([&, s] {
          if (s.kind == Kind::kWrongPasswords) {
            RunPasswordFlood(attack, s.n, url, ca);
          } else {
            RunAttack(attack, s.kind, s.n, port, with_tls ? tls : nullptr, hello);
          }
        });
        std::this_thread::sleep_for(std::chrono::seconds(2));  // let every connection open and take a thread
      }
      Latency lat = Measure(url, ca, userpwd, args.seconds);
      const int open = attack.open_now;
      attack.stop = true;
      if (attack.thread.joinable()) attack.thread.join();
      const std::string name =
          std::string(with_tls ? "tls+auth" : "plain") + "_" +
          (s.n == 0 ? std::string("baseline") : std::to_string(s.n) + "_" + KindName(s.kind));
      Info(name + ": " + std::to_string(lat.ms.size()) + " requests, " + std::to_string(lat.errors) +
           " errors, " + std::to_string(open) + " slow connections open at the end, " +
           std::to_string(attack.reopened.load()) +
           (s.kind == Kind::kWrongPasswords ? " requests with a wrong password"
                                            : " closed by the server and reopened"));
      const double p99 = Percentile(lat.ms, 0.99);
      Figure("metrics_p50_ms_" + name, Percentile(lat.ms, 0.5), "ms", "info");
      Figure("metrics_p99_ms_" + name, p99, "ms",
             "target < " + std::to_string(static_cast<int>(args.max_p99_ms)));
      Figure("metrics_max_ms_" + name, Percentile(lat.ms, 1.0), "ms", "info");
      const bool ok = p99 < args.max_p99_ms && lat.errors == 0;
      std::printf("%s: %s p99 %.1f ms, %d errors\n", ok ? "PASS" : "FAIL", name.c_str(), p99, lat.errors);
      missed = missed || !ok;
    }
    exporter.Stop();
  }
  SSL_CTX_free(tls);
  curl_global_cleanup();
  return missed ? kExitMissed : 0;
}
