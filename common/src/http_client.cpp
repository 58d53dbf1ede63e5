// CurlHttpClient: libcurl behind estate::http::HttpClient.
//
// Connection reuse. Each pooled connection is one easy handle driven by its own multi handle; the multi
// handle owns libcurl's connection (and DNS / TLS session) cache, so a keep-alive connection survives between
// requests as long as the pair is reused for the same scheme://host:port. Idle pairs wait in a small pool
// keyed by that host key; a request takes one for its host (or makes a new one) and gives it back afterwards,
// so a pair is only ever used by one thread at a time, which is libcurl's threading rule.
//
// We do not use a CURLSH share with CURL_LOCK_DATA_CONNECT: libcurl documents a shared connection cache as
// not thread-safe (known bug "A shared connection cache is not thread-safe", curl#4915) even with lock
// callbacks, because the cache points at connections that other threads are using.
//
// Why a private multi handle instead of curl_easy_perform: curl_easy_perform waits up to a second between
// progress callbacks when nothing arrives, so cancelling a request to a stalled BMC would take that long. Our
// own loop polls in 50 ms slices and checks the CancelToken between them (and in the progress callback).
//
// Redirects are not followed: a custom auth header (X-Auth-Token, bearer) would go to whatever host a
// redirect names. Callers see the 3xx and decide.
//
// Errors name the request as "METHOD scheme://host:port/path": userinfo, query and fragment are dropped,
// since any of them may carry a credential. Metrics count every attempt, so retries show up as traffic.
#include "estate/http_client.h"

#include <curl/curl.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <thread>

#include "estate/app.h"
#include "estate/log.h"

namespace estate::http {
namespace {

using Seconds = std::chrono::duration<double>;

// How often a waiting request (in a transfer, for a slot, or between retries) looks at its CancelToken.
constexpr auto kPollSlice = std::chrono::milliseconds(50);
constexpr int kPollSliceMs = 50;
// Idle connections older than this are closed rather than reused: servers (and libcurl's own
// CURLOPT_MAXAGE_CONN default of 118 s) drop them about then anyway.
constexpr auto kIdleMaxAge = std::chrono::seconds(110);

std::once_flag g_curl_init_once;
CURLcode g_curl_init_result = CURLE_OK;

void CurlGlobalInit() {
  std::call_once(g_curl_init_once, [] { g_curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string FormatSeconds(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", seconds);
  return buf;
}

long ToMillis(double seconds) { return std::max(1L, std::lround(seconds * 1000.0)); }

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// The parts of a URL we need: the pool / concurrency key and a form that is safe to put in an error message.
struct UrlInfo {
  std::string host_key;  // scheme://host:port, lower-cased
  std::string redacted;  // without userinfo, query and fragment (any of them may carry a secret)
};

std::optional<UrlInfo> InspectUrl(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  auto get = [&](CURLUPart part, unsigned int flags) {
    char* part_text = nullptr;
    std::string out;
    if (curl_url_get(u.get(), part, &part_text, flags) == CURLUE_OK && part_text != nullptr) out = part_text;
    curl_free(part_text);
    return out;
  };
  std::string scheme = Lower(get(CURLUPART_SCHEME, 0));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  UrlInfo info;
  info.host_key =
      scheme + "://" + Lower(get(CURLUPART_HOST, 0)) + ":" + get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  for (CURLUPart part :
       {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY, CURLUPART_FRAGMENT}) {
    curl_url_set(u.get(), part, nullptr, 0);
  }
  info.redacted = get(CURLUPART_URL, 0);
  return info;
}

// Defence in depth: our messages are built from libcurl's error text, which never holds credentials, but a
// secret must not reach a log line or a metric even if that changes.
std::string Scrub(std::string message, const ClientOptions& options) {
  for (const std::string* secret :
       {&options.auth.password, &options.auth.token, &options.auth.header_value}) {
    if (secret->empty()) continue;
    constexpr std::string_view kRedacted = "<redacted>";
    for (std::size_t pos = message.find(*secret); pos != std::string::npos;
         pos = message.find(*secret, pos + kRedacted.size())) {
      message.replace(pos, secret->size(), kRedacted);
    }
  }
  return message;
}

bool IsIdempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

bool IsRetryableStatus(long status) {
  return status == 429 || (status >= 500 && status <= 599 && status != 501);
}

// One pooled connection: see the comment at the top of the file.
struct Conn {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
};

void DestroyConn(Conn conn) {
  if (conn.multi != nullptr) curl_multi_cleanup(conn.multi);
  if (conn.easy != nullptr) curl_easy_cleanup(conn.easy);
}

// What the libcurl callbacks of one attempt write into.
struct Transfer {
  std::string body;
  std::map<std::string, std::string> headers;
  std::size_t max_body = 0;
  bool too_large = false;
  const CancelToken* cancel = nullptr;
  bool cancelled = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  if (len > t->max_body - t->body.size()) {
    t->too_large = true;
    return 0;  // anything but len aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * count;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {
    t->headers.clear();  // a new response begins (after a 1xx): keep only the final one's headers
  } else if (auto colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
    t->headers[Lower(Trim(line.substr(0, colon)))] = std::string(Trim(line.substr(colon + 1)));
  }
  return len;
}

int OnProgress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel->Cancelled()) {
    t->cancelled = true;
    return 1;  // aborts with CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

// What one attempt produced: a complete response, or an error message.
struct Outcome {
  bool ok = false;
  Response response;
  std::string error;
  bool retryable = false;  // a connection-level failure an idempotent request may repeat
};

Outcome Failed(std::string message) {
  Outcome out;
  out.error = std::move(message);
  return out;
}

struct AttemptLimits {
  double timeout = 0;          // total for this attempt
  double connect_timeout = 0;  // <= timeout
  bool capped_by_deadline = false;
};

bool IsTlsError(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// Turns a failed transfer into a message (never a credential: libcurl's error text holds none) and whether
// repeating it is safe for an idempotent request.
Outcome FailureOutcome(CURLcode code, const char* errbuf, const Transfer& transfer,
                       const AttemptLimits& limits, double elapsed, bool request_sent, std::size_t max_body) {
  Outcome out;
  const std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(code));
  if (transfer.cancelled || code == CURLE_ABORTED_BY_CALLBACK) {
    out.error = "cancelled";
  } else if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    out.error = "response body exceeds " + std::to_string(max_body) + " bytes";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    // Ending well before the total limit means the connect timeout fired.
    const bool connect_phase = !request_sent && elapsed < limits.timeout - 0.05;
    out.error = connect_phase ? "connect timed out after " + FormatSeconds(limits.connect_timeout) + " s"
                              : "timed out after " + FormatSeconds(limits.timeout) + " s";
    if (limits.capped_by_deadline && !connect_phase) out.error += " (limited by the deadline)";
    // A connect that timed out never reached the server; a slow server would only be slow again.
    out.retryable = !request_sent && !limits.capped_by_deadline;
  } else if (code == CURLE_COULDNT_CONNECT) {
    out.error = "connection failed: " + detail;
    out.retryable = true;
  } else if (code == CURLE_COULDNT_RESOLVE_HOST) {
    out.error = "DNS lookup failed: " + detail;
  } else if (IsTlsError(code)) {
    out.error = "TLS error: " + detail;
  } else if (code == CURLE_GOT_NOTHING) {
    out.error = "connection closed without a response";
    out.retryable = true;
  } else if (code == CURLE_PARTIAL_FILE) {
    out.error = "response truncated: " + detail;
    out.retryable = true;
  } else if (code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR || code == CURLE_HTTP2 ||
             code == CURLE_HTTP2_STREAM) {
    out.error = "connection error: " + detail;
    out.retryable = true;
  } else {
    out.error = detail;
  }
  return out;
}

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
  bool Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) return false;
    list = next;
    return true;
  }
};

std::string HeaderLine(const std::string& name, const std::string& value) {
  // "Name:" would make libcurl drop the header; "Name;" sends it with an empty value.
  return value.empty() ? name + ";" : name + ": " + value;
}

}  // namespace

struct CurlHttpClient::Impl {
  explicit Impl(CurlLimits l, prometheus::Registry* registry) : limits(l) {
    limits.max_concurrent_total = std::max(1, limits.max_concurrent_total);
    if (registry != nullptr) {
      requests = &prometheus::BuildCounter()
                      .Name("estate_upstream_requests_total")
                      .Help(
                          "Requests sent to upstreams (each retry counts), by source and HTTP status code; "
                          "code is \"error\" when no response arrived.")
                      .Register(*registry);
      duration = &prometheus::BuildHistogram()
                      .Name("estate_upstream_request_duration_seconds")
                      .Help(
                          "Time taken by each request to an upstream, in seconds (all sources together: a "
                          "histogram per source would add 15 series per BMC).")
                      .Register(*registry);
    }
  }

  ~Impl() {
    for (auto& idle_conn : idle) DestroyConn(idle_conn.conn);
  }

  // --- concurrency slots ---------------------------------------------------------------------------------
  // One mutex and condition variable for both limits, so a request takes its host slot and a total slot
  // together and never sits on one while waiting for the other.
  std::optional<std::string> AcquireSlot(const std::string& host_key, int per_host_limit,
                                         const Budget& budget) {
    per_host_limit = std::max(1, per_host_limit);
    std::unique_lock lock(slots_mu);
    for (;;) {
      int& host_used = host_in_use[host_key];
      if (host_used < per_host_limit && total_in_use < limits.max_concurrent_total) {
        ++host_used;
        ++total_in_use;
        return std::nullopt;
      }
      const auto now = Clock::now();
      if (budget.cancel.Cancelled() || now >= budget.deadline) {
        if (host_used == 0) host_in_use.erase(host_key);
        return budget.cancel.Cancelled() ? "cancelled while waiting for a connection slot"
                                         : "deadline exceeded while waiting for a connection slot";
      }
      // CancelToken cannot wake us, so wake up in slices to look at it.
      slots_cv.wait_until(lock, std::min(budget.deadline, now + kPollSlice));
    }
  }

  void ReleaseSlot(const std::string& host_key) {
    {
      std::lock_guard lock(slots_mu);
      --total_in_use;
      auto it = host_in_use.find(host_key);
      if (--it->second == 0) host_in_use.erase(it);  // /probe targets are open-ended: keep the map small
    }
    slots_cv.notify_all();
  }

  // --- connection pool -----------------------------------------------------------------------------------
  Conn TakeConn(const std::string& host_key) {
    std::vector<Conn> expired;
    Conn conn;
    {
      std::lock_guard lock(pool_mu);
      const auto now = Clock::now();
      while (!idle.empty() && now - idle.front().since > kIdleMaxAge) {
        expired.push_back(idle.front().conn);
        idle.pop_front();
      }
      // Newest first: the most recently used connection is the likeliest to still be open.
      for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
        if (it->host_key == host_key) {
          conn = it->conn;
          idle.erase(std::next(it).base());
          break;
        }
      }
    }
    for (Conn c : expired) DestroyConn(c);  // closing may do I/O (TLS close_notify): outside the lock
    if (conn.easy == nullptr) {
      conn.easy = curl_easy_init();
      conn.multi = curl_multi_init();
      if (conn.easy == nullptr || conn.multi == nullptr) {
        DestroyConn(conn);
        return {};
      }
    }
    return conn;
  }

  void ReturnConn(const std::string& host_key, Conn conn) {
    std::vector<Conn> evicted;
    {
      std::lock_guard lock(pool_mu);
      idle.push_back(IdleConn{host_key, conn, Clock::now()});
      // No more idle connections than could ever be busy at once; the oldest go first.
      while (idle.size() > static_cast<std::size_t>(limits.max_concurrent_total)) {
        evicted.push_back(idle.front().conn);
        idle.pop_front();
      }
    }
    for (Conn c : evicted) DestroyConn(c);
  }

  // --- metrics and logging -------------------------------------------------------------------------------
  void Record(const std::string& source, const std::string& code, double seconds) {
    if (requests == nullptr) return;
    prometheus::Counter* counter = nullptr;
    prometheus::Histogram* histogram = nullptr;
    {
      // Family::Add hashes and looks up the label set under its own lock; cache the result per series.
      std::lock_guard lock(metrics_mu);
      auto& c = counters[{source, code}];
      if (c == nullptr) c = &requests->Add({{"source", source}, {"code", code}});
      auto& h = histograms[std::string()];
      if (h == nullptr) {
        h = &duration->Add({},
                           prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                   1, 2.5, 5, 10, 20, 30, 60});
      }
      counter = c;
      histogram = h;
    }
    counter->Increment();
    histogram->Observe(seconds);
  }

  void WarnInsecureOnce(const std::string& source) {
    {
      std::lock_guard lock(warned_mu);
      if (!warned_insecure.insert(source).second) return;
    }
    log::Warn("TLS certificate verification is disabled for this upstream (insecure_skip_verify)",
              {{"source", source}});
  }

  CurlLimits limits;

  std::mutex slots_mu;
  std::condition_variable slots_cv;
  int total_in_use = 0;
  std::map<std::string, int> host_in_use;

  struct IdleConn {
    std::string host_key;
    Conn conn;
    Clock::time_point since;
  };
  std::mutex pool_mu;
  std::list<IdleConn> idle;  // oldest first

  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* duration = nullptr;
  std::mutex metrics_mu;
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> counters;
  std::map<std::string, prometheus::Histogram*> histograms;

  std::mutex warned_mu;
  std::set<std::string> warned_insecure;
};

namespace {

// Runs one attempt on conn. The caller holds the concurrency slot.
Outcome RunAttempt(Conn conn, const Request& request, const std::string& method, const ClientOptions& options,
                   const Budget& budget, const AttemptLimits& limits) {
  CURL* easy = conn.easy;
  curl_easy_reset(easy);  // keeps the connection cache, which lives in conn.multi anyway

  Transfer transfer;
  transfer.max_body = options.max_body_bytes;
  transfer.cancel = &budget.cancel;
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';
  static const std::string user_agent = std::string("estate-exporters/") + Version();

  curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // the body cap then applies to the decoded size
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, ToMillis(limits.timeout));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(limits.connect_timeout));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_body_bytes));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &transfer);

  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options.insecure_skip_verify ? 0L : 2L);
  if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());

  CurlSlist headers;
  bool headers_ok = headers.Append("Expect:");  // no 100-continue round trip before request bodies
  switch (options.auth.kind) {
    case Auth::Kind::kNone:
      break;
    case Auth::Kind::kBasic:
      curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(easy, CURLOPT_USERNAME, options.auth.username.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, options.auth.password.c_str());
      break;
    case Auth::Kind::kBearer:
      headers_ok = headers_ok && headers.Append("Authorization: Bearer " + options.auth.token);
      break;
    case Auth::Kind::kHeader:
      headers_ok =
          headers_ok && headers.Append(HeaderLine(options.auth.header_name, options.auth.header_value));
      break;
  }
  for (const auto& [name, value] : request.headers)
    headers_ok = headers_ok && headers.Append(HeaderLine(name, value));
  if (!headers_ok) return Failed("out of memory building request headers");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.list);

  if (method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (!request.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    }
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  const auto start = Clock::now();
  CURLcode code = CURLE_OK;
  std::string multi_error;
  if (CURLMcode mc = curl_multi_add_handle(conn.multi, easy); mc != CURLM_OK) {
    return Failed(std::string("libcurl: ") + curl_multi_strerror(mc));
  }
  for (;;) {
    int running = 0;
    CURLMcode mc = curl_multi_perform(conn.multi, &running);
    if (mc != CURLM_OK) {
      multi_error = curl_multi_strerror(mc);
      break;
    }
    if (running == 0) {
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(conn.multi, &queued)) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) code = msg->data.result;
      }
      break;
    }
    if (budget.cancel.Cancelled()) {
      transfer.cancelled = true;  // removing the handle below aborts the transfer and closes its connection
      break;
    }
    mc = curl_multi_poll(conn.multi, nullptr, 0, kPollSliceMs, nullptr);
    if (mc != CURLM_OK) {
      multi_error = curl_multi_strerror(mc);
      break;
    }
  }
  const double elapsed = Seconds(Clock::now() - start).count();
  long status = 0;
  long request_size = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
  curl_multi_remove_handle(conn.multi, easy);

  if (!multi_error.empty()) return Failed("libcurl: " + multi_error);
  if (transfer.cancelled || code != CURLE_OK) {
    return FailureOutcome(code, errbuf, transfer, limits, elapsed, request_size > 0, options.max_body_bytes);
  }
  Outcome out;
  out.ok = true;
  out.response.status = status;
  out.response.headers = std::move(transfer.headers);
  out.response.body = std::move(transfer.body);
  return out;
}

// Full jitter: a uniform delay in [0, min(max, initial * 2^(retry-1))].
double BackoffSeconds(const ClientOptions& options, int retry) {
  double cap = options.backoff_initial_seconds;
  for (int i = 1; i < retry && cap < options.backoff_max_seconds; ++i) cap *= 2;
  cap = std::min(cap, options.backoff_max_seconds);
  if (cap <= 0) return 0;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, cap)(rng);
}

// Sleeps in slices; false when the budget ran out or was cancelled first.
bool SleepWithin(double seconds, const Budget& budget) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(Seconds(seconds));
  for (;;) {
    if (budget.cancel.Cancelled()) return false;
    const auto now = Clock::now();
    if (now >= until) return true;
    if (now >= budget.deadline) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>({until - now, budget.deadline - now, kPollSlice}));
  }
}

}  // namespace

CurlHttpClient::CurlHttpClient(CurlLimits limits, prometheus::Registry* registry) {
  CurlGlobalInit();
  impl_ = std::make_unique<Impl>(limits, registry);
}

CurlHttpClient::~CurlHttpClient() = default;

Result<Response> CurlHttpClient::Do(const Request& request, const ClientOptions& options,
                                    const Budget& budget) {
  const auto start = Clock::now();
  const std::string method = request.method.empty() ? std::string("GET") : Upper(request.method);
  if (g_curl_init_result != CURLE_OK) {
    return MakeError(method + ": libcurl initialisation failed: " + curl_easy_strerror(g_curl_init_result));
  }
  // The URL itself is not echoed: it could not be parsed, so its userinfo could not be removed either.
  const std::optional<UrlInfo> url = InspectUrl(request.url);
  if (!url) return MakeError(method + ": invalid URL or not http(s)");
  const std::string what = method + " " + url->redacted;

  bool headers_valid = !HasLineBreak(method);
  for (const auto& [name, value] : request.headers)
    headers_valid = headers_valid && !HasLineBreak(name + value);
  if (options.auth.kind == Auth::Kind::kHeader) {
    headers_valid = headers_valid && !options.auth.header_name.empty() &&
                    !HasLineBreak(options.auth.header_name + options.auth.header_value);
  }
  if (options.auth.kind == Auth::Kind::kBearer)
    headers_valid = headers_valid && !HasLineBreak(options.auth.token);
  if (!headers_valid)
    return MakeError(what + ": invalid method, header or auth setting (line break or empty name)");

  if (options.insecure_skip_verify) impl_->WarnInsecureOnce(options.source);

  const bool idempotent = IsIdempotent(method);
  std::optional<Outcome> last;
  std::string gave_up;  // why no attempt could be made, when there is no last outcome
  int attempts = 0;
  for (;;) {
    if (budget.cancel.Cancelled()) {
      gave_up = "cancelled";
      break;
    }
    const double left = budget.SecondsLeft();
    if (left <= 0) {
      gave_up = "deadline exceeded before the request was sent";
      break;
    }
    if (auto why = impl_->AcquireSlot(url->host_key, options.max_concurrent_per_host, budget)) {
      gave_up = *why;
      break;
    }
    const Conn conn = impl_->TakeConn(url->host_key);
    if (conn.easy == nullptr) {
      impl_->ReleaseSlot(url->host_key);
      gave_up = "could not create a libcurl handle";
      break;
    }
    AttemptLimits limits;
    const double seconds_left = budget.SecondsLeft();  // again: waiting for the slot took some of it
    limits.timeout = std::max(0.001, std::min(options.timeout_seconds, seconds_left));
    limits.capped_by_deadline = seconds_left < options.timeout_seconds;
    limits.connect_timeout = std::min(options.connect_timeout_seconds, limits.timeout);
    const auto attempt_start = Clock::now();
    Outcome outcome = RunAttempt(conn, request, method, options, budget, limits);
    const double attempt_seconds = Seconds(Clock::now() - attempt_start).count();
    impl_->ReturnConn(url->host_key, conn);
    impl_->ReleaseSlot(url->host_key);
    ++attempts;
    impl_->Record(options.source, outcome.ok ? std::to_string(outcome.response.status) : "error",
                  attempt_seconds);
    last = std::move(outcome);

    const bool retry_wanted = last->ok ? IsRetryableStatus(last->response.status) : last->retryable;
    if (!idempotent || !retry_wanted || attempts > options.max_retries) break;
    double delay = BackoffSeconds(options, attempts);
    if (last->ok) {
      const double retry_after = ParseRetryAfter(last->response.Header("retry-after"));
      if (retry_after >= 0) {
        // Without a deadline, wait no longer than one attempt may take.
        const double limit =
            budget.deadline == Clock::time_point::max() ? options.timeout_seconds : budget.SecondsLeft();
        if (retry_after >= limit) break;
        delay = retry_after;
      }
    }
    if (delay >= budget.SecondsLeft()) break;
    if (!SleepWithin(delay, budget)) break;
  }

  if (!last) return MakeError(Scrub(what + ": " + gave_up, options));
  if (!last->ok) {
    std::string message = what + ": " + last->error;
    if (attempts > 1) message += " (after " + std::to_string(attempts) + " attempts)";
    return MakeError(Scrub(std::move(message), options));
  }
  Response response = std::move(last->response);
  response.attempts = attempts;
  response.seconds = Seconds(Clock::now() - start).count();
  return response;
}

double ParseRetryAfter(const std::string& value) {
  const std::string_view text = Trim(value);
  if (text.empty()) return -1;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    double seconds = 0;
    for (char c : text) seconds = seconds * 10 + (c - '0');
    return seconds;
  }
  // An HTTP-date (IMF-fixdate, RFC 850 or asctime form) always names a day or month; this keeps
  // curl_getdate's leniency from turning other text into a date.
  if (std::none_of(text.begin(), text.end(),
                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
    return -1;
  }
  const time_t when = curl_getdate(std::string(text).c_str(), nullptr);
  if (when == -1) return -1;
  const double now = Seconds(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::max(0.0, static_cast<double>(when) - now);
}

}  // namespace estate::http
