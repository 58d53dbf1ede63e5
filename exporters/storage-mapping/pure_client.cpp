#include "pure_client.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <unordered_set>
#include <utility>

#include "estate/log.h"
#include "estate/openstack/upstream_util.h"
#include "estate/url.h"

namespace estate::storage {

using openstack::BudgetReason;
using openstack::NowUnix;
using openstack::Ok2xx;
using openstack::Pages;
using openstack::StatusError;
using openstack::UrlEncode;

namespace {

std::string BaseUrl(const std::string& address) {
  std::string url = address.find("://") == std::string::npos ? "https://" + address : address;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  return buf;
}

// How long the array asks us to wait after a 429, and why. Retry-After wins; without it the rate-limit
// headers tell which bucket is empty: the per-minute one refills within a minute, the per-second one within a
// second (py-pure-client waits the same).
std::pair<double, std::string> RateLimitWait(const http::Response& response) {
  const double retry_after = http::ParseRetryAfter(response.Header("retry-after"));
  if (retry_after >= 0) return {retry_after, "Retry-After " + FormatSeconds(retry_after) + " s"};
  if (response.Header("x-ratelimit-remaining-minute") == "0")
    return {60.0, "per-minute request quota used up"};
  if (response.Header("x-ratelimit-remaining-second") == "0")
    return {1.0, "per-second request quota used up"};
  return {1.0, "no Retry-After"};
}

// Sleeps in short slices so that a cancel is noticed; false when cancelled or out of time.
bool SleepWithin(double seconds, const Budget& budget) {
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < until) {
    if (budget.Expired()) return false;
    const auto slice = std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50));
    std::this_thread::sleep_for(slice);
  }
  return !budget.Expired();
}

}  // namespace

PureClient::PureClient(http::HttpClient& http, PureOptions options)
    : http_(http), options_(std::move(options)), base_url_(BaseUrl(options_.address)) {
  if (options_.page_size <= 0) options_.page_size = 500;
}

int PureClient::MaxPages() const { return std::max(1, options_.max_items / options_.page_size) + 10; }

Result<url::Url> PureClient::UrlFor(const std::string& path) const {
  auto u = url::Resolve(base_url_, path);
  if (!u) log::Warn("refused a request path", {{"source", options_.array}, {"err", u.error()}});
  return u;
}

Result<http::Response> PureClient::Send(const http::Request& request, const std::string& what,
                                        const http::ClientOptions& options, const Budget& budget) {
  for (int waits = 0;; ++waits) {
    ++requests_;
    auto resp = http_.Do(request, options, budget);
    if (!resp) return MakeError(what + ": " + resp.error());
    if (resp->status != 429) return resp;
    const auto [wait, why] = RateLimitWait(*resp);
    if (waits >= options_.max_rate_limit_waits) {
      return MakeError(what + ": rate limited by the array (HTTP 429, " + why + ") " +
                       std::to_string(waits + 1) + " times in a row");
    }
    if (wait >= budget.SecondsLeft()) {
      return MakeError(what + ": rate limited by the array (HTTP 429, " + why + "); waiting " +
                       FormatSeconds(wait) + " s would exceed the budget (" +
                       FormatSeconds(std::max(0.0, budget.SecondsLeft())) + " s left)");
    }
    if (!SleepWithin(wait, budget)) {
      return MakeError(what + ": " + BudgetReason(budget) + " while waiting out a rate limit (HTTP 429)");
    }
  }
}

Result<PureClient::Session> PureClient::Login(const Budget& budget) {
  Session session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    session.version = session_.version;
  }
  if (session.version.empty()) session.version = options_.api_version;
  if (session.version.empty()) {
    auto target = UrlFor("/api/api_version");
    if (!target) return MakeError("GET /api/api_version: " + target.error());
    http::Request req;
    req.url = target->ToString();
    req.headers = {{"Accept", "application/json"}};
    http::ClientOptions http_options = options_.http;
    http_options.auth = http::Auth{};
    auto resp = Send(req, "GET " + target->Target(), http_options, budget);
    if (!resp) return MakeError(resp.error());
    if (!Ok2xx(*resp)) return MakeError(StatusError("GET /api/api_version", *resp));
    auto versions = ParsePureApiVersions(resp->body);
    if (!versions) return MakeError("GET /api/api_version: " + versions.error());
    auto picked = PickPureApiVersion(*versions);
    if (!picked) return MakeError("GET /api/api_version: " + picked.error());
    session.version = std::move(*picked);
  }

  // The version comes from the array: it is checked like any upstream link.
  auto target = UrlFor("/api/" + session.version + "/login");
  if (!target) return MakeError("POST login: " + target.error());
  http::Request req;
  req.method = "POST";
  req.url = target->ToString();
  req.headers = {{"Accept", "application/json"}};
  const std::string what = "POST " + target->Target();
  http::ClientOptions http_options = options_.http;
  http_options.auth.kind = http::Auth::Kind::kHeader;
  http_options.auth.header_name = "api-token";
  http_options.auth.header_value = options_.api_token;
  ++logins_;
  auto resp = Send(req, what, http_options, budget);
  if (!resp) return MakeError(resp.error());
  if (resp->status == 401 || resp->status == 403) {
    return MakeError(what + ": HTTP " + std::to_string(resp->status) + " (API token refused)");
  }
  if (!Ok2xx(*resp)) return MakeError(StatusError(what, *resp));
  session.token = resp->Header("x-auth-token");
  if (session.token.empty()) return MakeError(what + ": no x-auth-token header in the response");
  std::lock_guard<std::mutex> lock(mu_);
  session_ = session;
  return session;
}

Result<PureClient::Session> PureClient::CurrentSession(const Budget& budget) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!session_.token.empty()) return session_;
  }
  return Login(budget);
}

Result<http::Response> PureClient::Get(const std::string& path_query, const Budget& budget,
                                       std::string* requested) {
  Result<Session> session = CurrentSession(budget);
  for (int attempt = 0;; ++attempt) {
    if (!session) return MakeError(session.error());
    auto target = UrlFor("/api/" + session->version + path_query);
    if (!target) return MakeError("GET refused: " + target.error());
    http::Request req;
    req.url = target->ToString();
    req.headers = {{"Accept", "application/json"}};
    const std::string what = "GET " + target->Target();
    if (requested != nullptr) *requested = what;
    http::ClientOptions http_options = options_.http;
    http_options.auth.kind = http::Auth::Kind::kHeader;
    http_options.auth.header_name = "x-auth-token";
    http_options.auth.header_value = session->token;
    auto resp = Send(req, what, http_options, budget);
    if (!resp) return resp;
    if (resp->status == 401) {
      if (attempt > 0) return MakeError(what + ": HTTP 401 even with a new session");
      // The session expired (or the array restarted): log in again once. Only the session that was refused is
      // dropped; Logout may have run meanwhile.
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (session_.token == session->token) session_.token.clear();
      }
      session = Login(budget);
      continue;
    }
    return resp;
  }
}

template <typename Page, typename Parse, typename Consume>
Result<bool> PureClient::ListAll(const std::string& what, const std::string& path, bool allow_missing,
                                 Parse parse, Consume consume, const Budget& budget) {
  const std::string first = path + (path.find('?') == std::string::npos ? "?" : "&") +
                            "limit=" + std::to_string(options_.page_size);
  std::unordered_set<std::string> seen;
  std::string token;
  for (int pages = 0;; ++pages) {
    if (budget.Expired()) {
      return MakeError(what + ": " + BudgetReason(budget) + " after " + std::to_string(pages) + " pages");
    }
    if (pages >= MaxPages()) {
      return MakeError(what + ": more than " + std::to_string(MaxPages()) +
                       " pages (paging loop, or more items than max_items)");
    }
    const std::string path_query = token.empty() ? first : first + "&continuation_token=" + UrlEncode(token);
    std::string requested;
    auto resp = Get(path_query, budget, &requested);
    if (!resp) return MakeError(resp.error());
    if (allow_missing && pages == 0 && (resp->status == 404 || resp->status == 400)) return false;
    if (!Ok2xx(*resp)) return MakeError(StatusError(requested, *resp));
    Result<Page> page = parse(resp->body);
    if (!page) return MakeError(requested + ": " + page.error());
    std::string next = std::move(page->next.token);
    if (next.empty()) next = resp->Header("x-next-token");
    const std::optional<bool> more = page->next.more_items_remaining;
    consume(std::move(*page));
    if (more.has_value() && !*more) return true;
    if (next.empty()) {
      if (more.value_or(false)) {
        return MakeError(requested + ": more_items_remaining is true but there is no continuation token");
      }
      return true;
    }
    if (!seen.insert(next).second) {
      return MakeError(what + ": continuation token returned twice (paging loop)");
    }
    token = std::move(next);
  }
}

Result<ArraySnapshot> PureClient::Collect(const Budget& budget) {
  requests_ = 0;
  ArraySnapshot snapshot;
  snapshot.array = options_.array;

  std::string requested;
  auto arrays = Get("/arrays", budget, &requested);
  if (!arrays) return MakeError(arrays.error());
  if (!Ok2xx(*arrays)) return MakeError(StatusError(requested, *arrays));
  auto name = ParsePureArrays(arrays->body);
  if (!name) return MakeError(requested + ": " + name.error());
  snapshot.array_name = std::move(*name);

  Pages<PureVolume> volume_pages;
  auto volumes = ListAll<PureVolumesPage>(
      "volumes", "/volumes", false, [](const std::string& body) { return ParsePureVolumesPage(body); },
      [&](PureVolumesPage&& page) { volume_pages.Add(std::move(page.volumes)); }, budget);
  if (!volumes) return MakeError(volumes.error());
  snapshot.volumes = volume_pages.Take();

  Pages<PureConnection> connection_pages;
  auto connected = ListAll<PureConnectionsPage>(
      "connections", "/connections", false,
      [](const std::string& body) { return ParsePureConnectionsPage(body); },
      [&](PureConnectionsPage&& page) { connection_pages.Add(std::move(page.connections)); }, budget);
  if (!connected) return MakeError(connected.error());
  ApplyPureConnections(snapshot.volumes, connection_pages.Take());

  if (options_.read_tags) {
    Pages<PureTag> tag_pages;
    auto tagged = ListAll<PureTagsPage>(
        "volume tags", std::string("/volumes/tags?namespaces=") + kPureOpenStackTagNamespace, true,
        [](const std::string& body) { return ParsePureTagsPage(body); },
        [&](PureTagsPage&& page) { tag_pages.Add(std::move(page.tags)); }, budget);
    if (!tagged) return MakeError(tagged.error());
    ApplyPureTags(snapshot.volumes, tag_pages.Take());
  }

  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot.api_version = session_.version;
  }
  snapshot.collected_unix = NowUnix();
  return snapshot;
}

void PureClient::Logout(const Budget& budget) {
  Session session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    session.version = session_.version;
    session.token = std::move(session_.token);
    session_.token.clear();
  }
  if (session.token.empty()) return;
  auto target = UrlFor("/api/" + session.version + "/logout");
  if (!target) return;
  http::Request req;
  req.method = "POST";
  req.url = target->ToString();
  http::ClientOptions http_options = options_.http;
  http_options.auth.kind = http::Auth::Kind::kHeader;
  http_options.auth.header_name = "x-auth-token";
  http_options.auth.header_value = session.token;
  http_options.max_retries = 0;
  ++requests_;
  (void)http_.Do(req, http_options, budget);  // best effort: an expired session is gone anyway
}

}  // namespace estate::storage
