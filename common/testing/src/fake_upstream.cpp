#include "estate/testing/fake_upstream.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "estate/json_util.h"

// From common/sslcompat: referencing it keeps the OpenSSL 1.1 name shim linked in, without which civetweb
// 1.15 crashes on the first TLS handshake under OpenSSL 3.
extern "C" int estate_sslcompat_loaded(void);

namespace estate::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxLoggedRequests = 100000;
constexpr std::size_t kMaxRequestBody = 64u << 20;
constexpr std::size_t kWriteChunk = 64u << 10;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Recorded responses are mostly JSON, and many are stored without an extension ("<root>/api/v1/status").
std::string ContentTypeFor(const fs::path& file) {
  std::string ext = Lower(file.extension().string());
  if (ext == ".xml") return "application/xml";
  if (ext == ".txt" || ext == ".prom") return "text/plain; charset=utf-8";
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".csv") return "text/csv";
  return "application/json";
}

bool ReadWholeFile(const fs::path& file, std::string* out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *out = std::move(buffer).str();
  return true;
}

bool IsRegularFile(const fs::path& file) {
  std::error_code ec;
  return fs::is_regular_file(file, ec);
}

std::string ErrorBody(int status, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", status}, {"message", message}}}};
  return DumpJson(body);  // the message may carry a request's path: any bytes
}

// Bytes that are neither JSON nor valid UTF-8: stray continuation bytes, an overlong encoding, a NUL.
std::string GarbageBody() {
  static constexpr unsigned char kBytes[] = {0xff, 0xfe, '{',  '"', 0xc3, 0x28, '"',  ':',  0x80, 0x81,
                                             0xc0, 0xaf, 0x00, '<', 0xf8, 0x88, 0x80, 0x80, 0x80, '}'};
  std::string out;
  for (int i = 0; i < 16; ++i) out.append(reinterpret_cast<const char*>(kBytes), sizeof kBytes);
  return out;
}

// A request path split into segments must not climb out of the root (civetweb cleans local_uri, but the
// tree lookup must not depend on that).
bool SafePath(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return path.find('\0') == std::string_view::npos;
}

void WakeListener(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1) {
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  }
  ::close(fd);
}

}  // namespace

struct FakeUpstream::Impl {
  struct RouteEntry {
    std::string method;
    std::string path;
    std::shared_ptr<const RouteHandler> handler;
  };

  explicit Impl(Options o) : options(std::move(o)) {}

  Options options;
  mg_context* ctx = nullptr;
  int port = 0;
  bool tls = false;
  std::string expected_authorization;  // "Basic <base64>" when basic auth is on
  // Lower-cased "/relative/path" -> file, for lenient lookups. Written in Start() only.
  std::unordered_map<std::string, fs::path> file_index;

  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;

  mutable std::mutex mu;
  std::vector<RouteEntry> routes;
  std::vector<Fault> faults;
  std::deque<FakeRequest> log;
  std::size_t request_count = 0;

  // Where a client on this machine reaches the listener.
  std::string ConnectHost() const {
    std::size_t colon = options.listen.rfind(':');
    std::string host = colon == std::string::npos ? "" : options.listen.substr(0, colon);
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    return host;
  }

  // Sleeps unless Stop() is called first; false when stopping.
  bool SleepFor(std::chrono::duration<double> duration) {
    std::unique_lock lock(stop_mu);
    return !stop_cv.wait_for(lock, duration, [this] { return stopping.load(); });
  }

  static int OnBeginRequest(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    auto* self = static_cast<Impl*>(info->user_data);
    try {
      return self->Handle(conn, *info);
    } catch (const std::exception&) {
      // Exceptions never leave a civetweb callback; what the client sees depends on what was written.
      return 500;
    }
  }
  static int OnLogMessage(const mg_connection*, const char*) { return 1; }  // keep test output quiet

  void BuildIndex() {
    file_index.clear();
    if (options.root_dir.empty()) return;
    std::error_code ec;
    fs::path root(options.root_dir);
    for (auto it =
             fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string key = "/" + Lower(it->path().lexically_relative(root).generic_string());
      file_index.emplace(std::move(key), it->path());
    }
  }

  FakeRequest ReadRequest(mg_connection* conn, const mg_request_info& info) {
    FakeRequest req;
    req.method = info.request_method ? info.request_method : "";
    req.path = info.local_uri ? info.local_uri : (info.request_uri ? info.request_uri : "/");
    req.query = info.query_string ? info.query_string : "";
    req.tls = info.is_ssl != 0;
    req.local_port = info.server_port;
    for (int i = 0; i < info.num_headers; ++i) {
      req.headers[Lower(info.http_headers[i].name)] = info.http_headers[i].value;
    }
    char buf[8192];
    for (;;) {
      int n = mg_read(conn, buf, sizeof buf);
      if (n <= 0) break;
      if (req.body.size() < kMaxRequestBody) req.body.append(buf, static_cast<std::size_t>(n));
    }
    return req;
  }

  void Record(const FakeRequest& req) {
    std::lock_guard lock(mu);
    ++request_count;
    log.push_back(req);
    if (log.size() > kMaxLoggedRequests) log.pop_front();
  }

  // The first fault (in the order added) that matches; its remaining count is spent here.
  Fault TakeFault(const std::string& path) {
    std::lock_guard lock(mu);
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->path_prefix.empty() && path.rfind(it->path_prefix, 0) != 0) continue;
      Fault fault = *it;
      if (it->remaining > 0 && --it->remaining == 0) faults.erase(it);
      return fault;
    }
    return Fault{};
  }

  std::shared_ptr<const RouteHandler> FindRoute(const FakeRequest& req) {
    std::lock_guard lock(mu);
    for (const auto& route : routes) {
      if (route.path == req.path && (route.method == "*" || route.method == req.method)) return route.handler;
    }
    return nullptr;
  }

  std::optional<fs::path> FindFile(const std::string& request_path) const {
    if (options.root_dir.empty() || request_path.empty() || request_path[0] != '/' ||
        !SafePath(request_path)) {
      return std::nullopt;
    }
    // Relative to the root, so that "//etc/passwd" cannot become an absolute path.
    std::string rel = request_path.substr(std::min(request_path.size(), request_path.find_first_not_of('/')));
    if (options.lenient_paths) {
      while (!rel.empty() && rel.back() == '/') rel.pop_back();
    }
    bool names_dir = rel.empty() || rel.back() == '/';
    fs::path root(options.root_dir);
    fs::path as_dir = root / rel / "index.json";
    if (IsRegularFile(as_dir)) return as_dir;
    if (!names_dir) {
      fs::path as_file = root / rel;
      if (IsRegularFile(as_file)) return as_file;
    }
    if (!options.lenient_paths) return std::nullopt;
    std::string key = "/" + Lower(rel);
    if (key == "/") key.clear();
    if (auto it = file_index.find(key + "/index.json"); it != file_index.end()) return it->second;
    if (auto it = file_index.find(key); it != file_index.end() && !key.empty()) return it->second;
    return std::nullopt;
  }

  FakeResponse Answer(const FakeRequest& req) {
    FakeResponse resp;
    if (auto handler = FindRoute(req)) {
      try {
        return (*handler)(req);
      } catch (const std::exception& e) {
        resp.status = 500;
        resp.body = ErrorBody(500, std::string("route handler threw: ") + e.what());
        return resp;
      }
    }
    auto file = FindFile(req.path);
    if (!file) {
      resp.status = 404;
      resp.body = ErrorBody(404, "no recorded response for " + req.path);
      return resp;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      resp.status = 405;
      resp.headers.emplace_back("Allow", "GET, HEAD");
      resp.body = ErrorBody(405, "recorded responses are read-only");
      return resp;
    }
    if (!ReadWholeFile(*file, &resp.body)) {
      resp.status = 500;
      resp.body = ErrorBody(500, "cannot read recorded response");
      return resp;
    }
    resp.content_type = ContentTypeFor(*file);
    return resp;
  }

  static bool WriteAll(mg_connection* conn, std::string_view data) {
    while (!data.empty()) {
      std::size_t n = std::min(data.size(), kWriteChunk);
      if (mg_write(conn, data.data(), n) <= 0) return false;
      data.remove_prefix(n);
    }
    return true;
  }

  static bool WriteHead(mg_connection* conn, int status, const std::string& content_type,
                        const std::vector<std::pair<std::string, std::string>>& extra_a,
                        const std::vector<std::pair<std::string, std::string>>& extra_b,
                        std::size_t content_length) {
    std::string head =
        "HTTP/1.1 " + std::to_string(status) + " " + mg_get_response_code_text(conn, status) + "\r\n";
    if (!content_type.empty()) head += "Content-Type: " + content_type + "\r\n";
    head += "Content-Length: " + std::to_string(content_length) + "\r\n";
    head += "Connection: close\r\n";
    for (const auto* extra : {&extra_a, &extra_b}) {
      for (const auto& [name, value] : *extra) head += name + ": " + value + "\r\n";
    }
    head += "\r\n";
    return WriteAll(conn, head);
  }

  int Send(mg_connection* conn, const FakeRequest& req, const FakeResponse& resp,
           const std::vector<std::pair<std::string, std::string>>& fault_headers) {
    if (resp.stream && req.method != "HEAD") return SendStream(conn, resp);
    WriteHead(conn, resp.status, resp.content_type, resp.headers, fault_headers, resp.body.size());
    if (req.method != "HEAD") WriteAll(conn, resp.body);
    return resp.status;
  }

  int SendStream(mg_connection* conn, const FakeResponse& resp) {
    std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                       mg_get_response_code_text(conn, resp.status) + "\r\n";
    if (!resp.content_type.empty()) head += "Content-Type: " + resp.content_type + "\r\n";
    head += "Cache-Control: no-cache\r\nConnection: close\r\n";
    for (const auto& [name, value] : resp.headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
    bool alive = WriteAll(conn, head);
    const FakeResponse::Writer write = [&](std::string_view piece) {
      if (!alive || stopping.load()) return false;
      if (!piece.empty()) alive = WriteAll(conn, piece);
      return alive;
    };
    try {
      resp.stream(write);
    } catch (const std::exception&) {
      // the connection just closes
    }
    return resp.status;
  }

  int Handle(mg_connection* conn, const mg_request_info& info) {
    FakeRequest req = ReadRequest(conn, info);
    Record(req);
    Fault fault = TakeFault(req.path);

    if (fault.latency_seconds > 0 && !SleepFor(std::chrono::duration<double>(fault.latency_seconds))) {
      return 1;  // stopping: give up without an answer
    }
    // Nothing written: with keep-alive off, civetweb closes the socket and the client sees an empty reply.
    if (fault.kind == Fault::Kind::kDropConnection) return 1;
    if (fault.kind == Fault::Kind::kResetConnection) {
      ResetConnection(info);
      return 1;
    }

    if (!expected_authorization.empty()) {
      auto it = req.headers.find("authorization");
      if (it == req.headers.end() || it->second != expected_authorization) {
        FakeResponse resp;
        resp.status = 401;
        resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"fake-upstream\"");
        resp.body = ErrorBody(401, "authentication required");
        return Send(conn, req, resp, {});
      }
    }

    switch (fault.kind) {
      case Fault::Kind::kStatus: {
        FakeResponse resp;
        resp.status = fault.status;
        resp.body = ErrorBody(fault.status, "injected fault");
        return Send(conn, req, resp, fault.headers);
      }
      case Fault::Kind::kGarbage: {
        FakeResponse resp;
        resp.body = GarbageBody();
        return Send(conn, req, resp, fault.headers);
      }
      case Fault::Kind::kHuge:
        return SendHuge(conn, req, fault);
      default:
        break;
    }

    FakeResponse resp = Answer(req);
    if (req.method == "HEAD") return Send(conn, req, resp, fault.headers);
    switch (fault.kind) {
      case Fault::Kind::kTruncated:
        WriteHead(conn, resp.status, resp.content_type, resp.headers, fault.headers, resp.body.size());
        WriteAll(conn, std::string_view(resp.body).substr(0, resp.body.size() / 2));
        return resp.status;
      case Fault::Kind::kSlowDrip:
        return SendSlowDrip(conn, resp, fault);
      default:
        return Send(conn, req, resp, fault.headers);
    }
  }

  // civetweb closes a connection gracefully (shutdown(SHUT_WR), a FIN) and does not expose its socket, so the
  // socket is found by its two ports, set to linger 0 and replaced under civetweb's feet by a fresh
  // unconnected socket: dup2() closes the original, which with linger 0 aborts it (RST), and civetweb's own
  // close later acts on the placeholder. The connection belongs to this worker thread, so nobody else touches
  // the fd.
  void ResetConnection(const mg_request_info& info) const {
    int fd = FindConnectionSocket(info.server_port > 0 ? info.server_port : port, info.remote_port);
    if (fd < 0) return;  // not found: civetweb closes it cleanly instead
    linger abort{};
    abort.l_onoff = 1;
    abort.l_linger = 0;
    (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    int placeholder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (placeholder < 0) return;
    (void)::dup3(placeholder, fd, O_CLOEXEC);
    ::close(placeholder);
  }

  static int FindConnectionSocket(int local_port, int remote_port) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd", ec)) {
      int fd = -1;
      try {
        fd = std::stoi(entry.path().filename().string());
      } catch (const std::exception&) {
        continue;
      }
      sockaddr_storage local{};
      sockaddr_storage peer{};
      socklen_t local_len = sizeof local;
      socklen_t peer_len = sizeof peer;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
          ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
        continue;
      }
      if (PortOf(local) == local_port && PortOf(peer) == remote_port) return fd;
    }
    return -1;
  }

  static int PortOf(const sockaddr_storage& addr) {
    if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
    return -1;
  }

  // Streams the filler so that an 80 MiB answer never needs 80 MiB here.
  int SendHuge(mg_connection* conn, const FakeRequest& req, const Fault& fault) {
    WriteHead(conn, 200, "application/json", {}, fault.headers, fault.huge_bytes);
    if (req.method == "HEAD") return 200;
    std::string chunk(kWriteChunk, 'x');
    chunk[0] = '[';
    for (std::size_t left = fault.huge_bytes; left > 0 && !stopping.load();) {
      std::size_t n = std::min(left, chunk.size());
      if (mg_write(conn, chunk.data(), n) <= 0) break;
      left -= n;
      chunk[0] = 'x';
    }
    return 200;
  }

  int SendSlowDrip(mg_connection* conn, const FakeResponse& resp, const Fault& fault) {
    WriteHead(conn, resp.status, resp.content_type, resp.headers, fault.headers, resp.body.size());
    std::string_view body = resp.body;
    std::size_t step = std::max<std::size_t>(1, fault.drip_bytes);
    auto interval = std::chrono::milliseconds(std::max(0, fault.drip_interval_ms));
    for (bool first = true; !body.empty(); first = false) {
      if (!first && !SleepFor(interval)) break;
      std::size_t n = std::min(step, body.size());
      if (mg_write(conn, body.data(), n) <= 0) break;
      body.remove_prefix(n);
    }
    return resp.status;
  }
};

FakeUpstream::FakeUpstream(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

FakeUpstream::~FakeUpstream() { Stop(); }

Result<Ok> FakeUpstream::Start() {
  if (impl_->ctx != nullptr) return MakeError("fake upstream already started");
  const Options& o = impl_->options;
  if (!o.root_dir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(o.root_dir, ec))
      return MakeError("fake upstream root is not a directory: " + o.root_dir);
  }
  if (!o.basic_auth.empty()) {
    if (o.basic_auth.find(':') == std::string::npos) return MakeError("basic_auth must be user:password");
    impl_->expected_authorization = "Basic " + Base64(o.basic_auth);
  }
  impl_->tls = !o.tls_cert_pem.empty();
  if (impl_->tls && !IsRegularFile(o.tls_cert_pem)) {
    return MakeError("fake upstream TLS certificate not found: " + o.tls_cert_pem);
  }
  if (impl_->tls && estate_sslcompat_loaded() != 1) {
    return MakeError("fake upstream TLS needs the estate sslcompat shim (civetweb 1.15 with OpenSSL 3)");
  }
  impl_->BuildIndex();
  impl_->stopping = false;

  std::string listen = o.listen + (impl_->tls ? "s" : "");
  std::string threads = std::to_string(std::max(1, o.threads));
  std::vector<const char*> config = {
      "listening_ports",   listen.c_str(), "num_threads",        threads.c_str(),
      "enable_keep_alive", "no",           "request_timeout_ms", "30000"};
  if (impl_->tls) {
    config.push_back("ssl_certificate");
    config.push_back(o.tls_cert_pem.c_str());
    config.push_back("ssl_protocol_version");
    config.push_back("4");  // TLS 1.2 and newer
  }
  config.push_back(nullptr);

  mg_callbacks callbacks{};
  callbacks.begin_request = &Impl::OnBeginRequest;
  callbacks.log_message = &Impl::OnLogMessage;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = impl_.get();
  init.configuration_options = config.data();
  char error_text[256] = {};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;

  impl_->ctx = mg_start2(&init, &error);
  if (impl_->ctx == nullptr) {
    return MakeError("fake upstream cannot listen on " + o.listen + ": " +
                     (error_text[0] != '\0' ? std::string(error_text) : "civetweb failed to start"));
  }
  mg_server_port ports[4] = {};
  int n = mg_get_server_ports(impl_->ctx, 4, ports);
  if (n < 1 || ports[0].port <= 0) {
    Stop();
    return MakeError("fake upstream cannot learn its port");
  }
  impl_->port = ports[0].port;
  return Ok{};
}

void FakeUpstream::Stop() {
  if (impl_->ctx == nullptr) return;
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  // civetweb's accept loop polls with a 2 s timeout and only then notices mg_stop(); connecting to the
  // listening socket wakes it at once, so tests do not pay 2 s per server.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    while (!stopped.load()) {
      WakeListener(impl_->ConnectHost(), impl_->port);
      std::unique_lock lock(impl_->stop_mu);
      impl_->stop_cv.wait_for(lock, std::chrono::milliseconds(20), [&stopped] { return stopped.load(); });
    }
  });
  mg_stop(impl_->ctx);
  {
    std::lock_guard lock(impl_->stop_mu);
    stopped = true;
  }
  impl_->stop_cv.notify_all();
  waker.join();
  impl_->ctx = nullptr;
}

int FakeUpstream::port() const { return impl_->port; }

std::string FakeUpstream::base_url() const {
  std::string host = impl_->ConnectHost();
  return std::string(impl_->tls ? "https" : "http") + "://" + host + ":" + std::to_string(impl_->port);
}

void FakeUpstream::Route(const std::string& method, const std::string& path, RouteHandler handler) {
  auto shared = std::make_shared<const RouteHandler>(std::move(handler));
  std::lock_guard lock(impl_->mu);
  for (auto& route : impl_->routes) {
    if (route.method == method && route.path == path) {
      route.handler = std::move(shared);
      return;
    }
  }
  impl_->routes.push_back({method, path, std::move(shared)});
}

void FakeUpstream::AddFault(Fault fault) {
  if (fault.remaining == 0) return;
  std::lock_guard lock(impl_->mu);
  impl_->faults.push_back(std::move(fault));
}

void FakeUpstream::ClearFaults() {
  std::lock_guard lock(impl_->mu);
  impl_->faults.clear();
}

std::vector<FakeRequest> FakeUpstream::Requests() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->log.begin(), impl_->log.end()};
}

std::size_t FakeUpstream::RequestCount() const {
  std::lock_guard lock(impl_->mu);
  return impl_->request_count;
}

void FakeUpstream::ClearRequests() {
  std::lock_guard lock(impl_->mu);
  impl_->log.clear();
  impl_->request_count = 0;
}

}  // namespace estate::testing
