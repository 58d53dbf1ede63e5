// Redfish collection for one BMC, in two layers:
//
//  * RedfishCollector walks the Redfish tree (DMTF, HPE iLO 4 "/rest/v1" and iLO 5/6, Dell, Lenovo,
//    Supermicro) through a Getter and fills the hardware model. It owns the request economy: topology
//    discovery runs only on the slow cycle and is reused by the fast one, collections are read with $expand
//    where the service advertises it, event logs are read incrementally (only entries not seen before), and a
//    body fetched once in a cycle is never fetched again. It does no I/O itself, so tests can drive it from a
//    fixture tree.
//  * RedfishClient is the transport: every request goes through estate::http::HttpClient, with a Redfish
//    session (POST SessionService/Sessions, X-Auth-Token) created once and reused across polls, a new login
//    on 401 (after a best-effort DELETE of the old session), a fall back to basic auth only when the service
//    has no session support (a refused login fails the poll and is retried with a session on the next one),
//    and DELETE of the session on Logout(). It counts requests for the per-poll request metrics. Every URL it
//    requests comes from url::Resolve against the configured base URL: a link from the BMC (@odata.id,
//    Links.Sessions, a session's Location) that leaves the BMC's scheme, host and port is refused and logged,
//    so neither the session token nor the user name and password can be sent anywhere else.
//
// Thread-safety: RedfishClient is thread-safe (the fast and slow jobs of a target share one). A
// RedfishCollector is used by one poll at a time; the LogCursors it updates belong to the caller.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "estate/url.h"
#include "hardware_model.h"
#include "redfish_parse.h"

namespace estate::hardware {

// Where the data of one BMC lives, found by Discover() on the slow cycle and reused by fast polls.
struct Topology {
  redfish::ServiceRoot root;
  std::string api_root;  // "/redfish/v1" or "/rest/v1"
  std::vector<std::string> systems;
  std::vector<std::string> managers;
  struct Chassis {
    std::string uri;
    std::string thermal, power;                               // legacy, one GET each for everything
    std::string thermal_subsystem, power_subsystem, sensors;  // DMTF 2020+ model
  };
  std::vector<Chassis> chassis;
  std::vector<std::string> storage;            // DMTF Storage members of the first system
  std::vector<std::string> array_controllers;  // HPE SmartStorage ArrayControllers
  std::string memory, processors, firmware_inventory;
  std::vector<std::pair<std::string, std::string>> logs;  // {log name, entries collection}
  bool valid = false;
};

// What has been counted of one event log, so later polls count only new entries.
struct LogCursor {
  std::set<std::string> seen;  // entry ids already counted
  LogSummary totals;           // monotonic counts since the exporter started
};

// True for an error that says the resource is not there: it ends in ": HTTP 404" or ": HTTP 410" (as
// RedfishClient::Get words them), or it is the collector's own "not present" for a Redfish error body.
bool NotThere(const std::string& error);

class RedfishCollector {
 public:
  // Returns the parsed body of a GET of `uri` (which may carry a query), or an error (HTTP status, transport,
  // invalid JSON). The collector itself turns a Redfish error body (HTTP 200 with {"error": ...}) into a
  // "not present" error, as for a 404 (see NotThere).
  using Getter = std::function<Result<redfish::Json>(const std::string& uri)>;

  struct Options {
    bool use_expand = true;       // use $expand when the service advertises it
    int max_log_entry_gets = 32;  // per log and poll, when a log's entries do not come expanded
  };

  RedfishCollector(Getter get, Options options);

  // Reads the service root (at api_root) and every collection needed to locate the data.
  Result<Topology> Discover(const std::string& api_root);
  // Power state, reported rollups, fans, temperatures, PSUs, redundancy, power draw.
  Result<Findings> CollectFast(const Topology& topology);
  // Identity, storage (controllers, caches, batteries, drives, volumes), network adapters and ports,
  // assemblies, DIMMs, CPUs, firmware, event logs.
  Result<Findings> CollectSlow(const Topology& topology, std::map<std::string, LogCursor>& logs);

  // Resources (PathKeys) that served data in an earlier poll: a 404 for one of them is a failure, not "not
  // there" (it is gone only when discovery stops listing it). Set before collecting.
  void SetKnown(std::set<std::string> known) { known_ = std::move(known); }

  // Sub-requests that failed (the poll went on without them) since construction: transport errors, HTTP
  // errors, bodies that are not JSON, and "not there" for a known resource.
  int failed() const { return failed_; }
  // The resources (PathKeys) whose reads failed, for CarryOver.
  const std::set<std::string>& failed_resources() const { return failed_keys_; }
  // Reads that found nothing there (404, 410, a Redfish error body) for a resource never seen: not failures.
  int not_present() const { return not_present_; }
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  Result<redfish::Json> Get(const std::string& uri);
  // The identity of a resource: its PathKey (after the HP REST rewrite).
  std::string Key(const std::string& uri) const;
  // Counts a read that failed, or that found nothing where nothing was known (see SetKnown).
  void NoteFailure(const std::string& uri, const std::string& error);
  // Get, remembering failures as problems instead of failing the poll.
  redfish::Json TryGet(const std::string& uri);
  // A collection, expanded when possible; members come back with their bodies (fetched one by one if needed).
  std::vector<redfish::Member> ReadMembers(const std::string& collection_uri, int levels, bool fetch_bodies);
  std::string Resolve(const std::string& uri) const;
  void ReadStorage(const Topology& t, Findings& f);
  void ReadLogs(const Topology& t, std::map<std::string, LogCursor>& logs, Findings& f);
  // Network adapters with their ports and controllers (DMTF, else HPE BaseNetworkAdapters), and assemblies.
  void ReadNetwork(const Topology& t, Findings& f);
  void ReadAssemblies(const Topology& t, Findings& f);

  Getter get_;
  Options options_;
  int expand_levels_ = 0;
  bool hp_rest_ = false;
  std::map<std::string, redfish::Json> cycle_cache_;  // bodies already fetched in this cycle, by PathKey
  int failed_ = 0;
  int not_present_ = 0;
  std::set<std::string> known_;
  std::set<std::string> failed_keys_;
  double read_unix_ = 0;  // when this cycle's reads were made (the items' Origin::read_unix)
  std::vector<std::string> problems_;
};

struct RedfishSettings {
  std::string base_url;         // "https://bmc.example:443"
  http::ClientOptions options;  // TLS, timeouts, source label; auth is set here from the credentials below
  std::string username;
  std::string password;
  std::string sessions_path;  // default "/redfish/v1/SessionService/Sessions"
  bool use_sessions = true;   // false = basic auth only
};

class RedfishClient {
 public:
  RedfishClient(http::HttpClient& http, RedfishSettings settings);
  ~RedfishClient() = default;
  RedfishClient(const RedfishClient&) = delete;
  RedfishClient& operator=(const RedfishClient&) = delete;

  // GET with the session (logging in first when needed, again once on 401). A refused login is an error.
  // Errors name the path and status, never credentials.
  Result<redfish::Json> Get(const std::string& uri, const Budget& budget);
  // GET without credentials (service root, detection); the raw response.
  Result<http::Response> GetAnonymous(const std::string& uri, const Budget& budget);
  // Deletes the session, if any. Safe to call repeatedly; the next Get logs in again.
  void Logout(const Budget& budget);

  // For requests this class does not shape itself (an SSE stream, event subscriptions): the URL of `link` on
  // this BMC (refused like any other link) and options that carry the session (logging in first when needed)
  // or basic auth. *token gets the session token used, for ForgetSession after a 401.
  Result<std::pair<url::Url, http::ClientOptions>> Prepare(const std::string& link, std::string_view where,
                                                           const Budget& budget, std::string* token);
  // Drops the session if it is still `token` (a request made with Prepare() got 401); the next request logs
  // in again.
  void ForgetSession(const std::string& token, const Budget& budget);
  // A request with a JSON body (or none) with the session, logging in again once on 401; the raw response.
  Result<http::Response> Send(const std::string& method, const std::string& link,
                              const std::string& json_body, const Budget& budget);

  // The service root's Links.Sessions; ignored (and logged) when it leaves the BMC.
  void SetSessionsPath(const std::string& path);
  bool has_session() const;
  bool basic_fallback() const;
  int requests() const { return requests_.load(); }
  int logins() const { return logins_.load(); }

 private:
  // POSTs a session (again with basic auth when the first POST gets 401/403). Falls back to basic auth only
  // when the service has no usable session support (404, 405, 501, or a 2xx without a token); refused
  // credentials (401/403 to both POSTs) and other statuses are errors, and the next call tries again.
  Result<Ok> Login(const Budget& budget);  // caller holds mu_
  // Puts the session token (logging in first when there is none) or basic auth on `options`; the token used,
  // if any, goes to `token`. Caller holds mu_.
  Result<Ok> AuthorizeLocked(http::ClientOptions& options, std::string* token, const Budget& budget);
  // DELETE of a session with its own token; best effort, no-op when either is empty. Caller does not hold
  // mu_.
  void DeleteSession(const std::string& token, const std::string& uri, const Budget& budget);
  Result<http::Response> Send(http::Request request, const http::ClientOptions& options,
                              const Budget& budget);
  // The URL of a link on this BMC (url::Resolve against base_url); a link to anywhere else is refused and
  // logged as a warning naming `where` it came from.
  Result<url::Url> UrlFor(const std::string& link, std::string_view where) const;

  http::HttpClient& http_;
  RedfishSettings settings_;
  mutable std::mutex mu_;
  std::string token_;
  std::string session_uri_;
  bool basic_ = false;
  std::atomic<int> requests_{0};
  std::atomic<int> logins_{0};
};

}  // namespace estate::hardware
