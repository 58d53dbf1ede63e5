// The push endpoint: POST /data-collector/v0/ (and without the trailing slash), as InSpec's `automate`
// reporter and Chef Infra's compliance phase speak it (docs/compliance-push.md has the client setup).
//
// What the clients send (inspec lib/inspec/reporters/automate.rb, chef
// lib/chef/compliance/reporter/automate.rb, lib/chef/data_collector.rb): a POST with Content-Type:
// application/json, x-data-collector-token: <token> and x-data-collector-auth: version=1.0; the body is the
// InSpec exec JSON enriched with type "inspec_report", node_uuid, node_name, report_uuid, end_time (and
// Chef's environment, roles, recipes, fqdn, ...), never gzipped by them (gzip is accepted all the same); any
// 2xx is success to both. Chef Infra's data collector also posts run_start / run_converge / action messages
// (top-level "message_type") to the same URL: they are answered 200 {"status":"ignored"} and dropped, so that
// chef-client logs no error on every run. Chef's compliance reporter first asks POST
// /compliance/profiles/metasearch which profile metadata the server already has; we answer that we have none,
// so every report carries its profiles' full metadata.
//
// Answers: 200 stored (or superseded by a newer report of the same host and profiles, or ignored), 401 token
// missing or wrong, 404 push disabled, 405 not a POST, 413 body over max_body_bytes (by its Content-Length
// before reading, while reading, or while inflating), 415 a Content-Encoding other than gzip/identity, 400 a
// body that is no report (the parser's reason), 500 the spool could not be written. Bodies are plain text
// except the 200s (JSON).
//
// An accepted report is in the spool directory, written atomically and fsync'ed (file and directory), before
// the 200: a restart or kill -9 loses nothing acknowledged. One file per (host, profile set), so the newest
// report replaces the older one; a report whose own time is older than the one stored (in this process's
// lifetime) does not replace it. Temporary files start with ".push-" (the store skips dot-files; leftovers of
// a crash are removed by the first Configure that enables push).
//
// Thread-safe: handlers run on server worker threads; Configure may run concurrently (reload).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "compliance_model.h"
#include "estate/http_server.h"
#include "estate/result.h"
#include "report_parse.h"

namespace estate::compliance {

struct DataCollectorOptions {
  bool enabled = false;
  std::string tokens_file;  // one token per line; blank lines and lines starting with # are ignored
  std::string spool_dir;    // created if missing
  std::size_t max_body_bytes = std::size_t{64} << 20;  // as sent and after inflating gzip
};

class DataCollector {
 public:
  // Parses a body; in production ReportParser() (compliance::ParseReport). Tests inject their own.
  using Parser = std::function<Result<Report>(std::string_view body)>;
  // Called after a report is durably in the spool (before the 200 is sent): the store should (re)read `path`
  // now; `report` is what it parsed to. Must not throw (an exception is logged and ignored) and should be
  // quick (it delays the answer).
  using OnStored = std::function<void(const std::string& path, const Report& report)>;

  // registry: where estate_compliance_push_requests_total{code} and estate_compliance_push_bytes_total are
  // registered (null: a private one, read through Requests()/Bytes()).
  DataCollector(Parser parser, prometheus::Registry* registry = nullptr);
  ~DataCollector();
  DataCollector(const DataCollector&) = delete;
  DataCollector& operator=(const DataCollector&) = delete;

  // Applies a (re)loaded config: reads the tokens file, creates the spool directory, checks that it can write
  // there and (the first time) removes leftover temporary files. On an error (enabled, and the file is
  // unreadable or holds no token, or the spool is unusable) nothing changes. Disabled: no file is touched.
  Result<Ok> Configure(const DataCollectorOptions& options);
  void SetOnStored(OnStored on_stored);

  // POST /data-collector/v0/, /data-collector/v0 and /compliance/profiles/metasearch. The server must outlive
  // this object's use of it (Configure re-adds the routes when max_body_bytes changes).
  void AddRoutes(web::HttpServer& server);

  // The whole exchange for one request (the route's precheck and handler together; for tests and the routes).
  // Never throws.
  web::HttpResponse Handle(const web::HttpRequest& req);
  // The headers-only part (before any body is read): an answer, or nullopt to go on. Never throws.
  std::optional<web::HttpResponse> Precheck(const web::HttpRequest& req);
  web::HttpResponse HandleMetasearch(const web::HttpRequest& req);

  double Requests(int code) const;
  double Bytes() const;

  // The spool file name (without directory) of a report of `host` with these profiles: "<host>_<hash>.<ext>",
  // host reduced to [A-Za-z0-9._-] (others become '_', no leading '.', at most 64 bytes), the hash (128 bits
  // of SHA-256, hex) over the exact host and the sorted, de-duplicated profile names; ext json, xml or
  // xml.bz2 by the body's format. Never contains '/' or NUL and never starts with '.'.
  static std::string SpoolStem(std::string_view host, const Report& report);
  static std::string SpoolExtension(std::string_view body, Format format);

 private:
  struct Settings;
  std::shared_ptr<const Settings> settings() const;
  web::HttpResponse Answer(int code, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
  web::HttpResponse HandleBody(const Settings& s, const web::HttpRequest& req);
  void RegisterRoutes(web::HttpServer& server, std::size_t max_body_bytes);
  Result<std::string> Store(const Settings& s, std::string_view body, const Report& report, bool* superseded);

  Parser parser_;
  std::unique_ptr<prometheus::Registry> own_registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Counter* bytes_ = nullptr;

  mutable std::mutex mu_;  // guards settings_, on_stored_, newest_
  std::shared_ptr<const Settings> settings_;
  OnStored on_stored_;
  web::HttpServer* server_ = nullptr;     // set by AddRoutes
  std::map<std::string, double> newest_;  // spool path -> the report time stored there
  std::array<std::mutex, 64> key_mu_;     // serialises writes of one spool file
  std::atomic<std::uint64_t> temp_seq_{0};
  std::atomic<bool> cleaned_{false};  // leftover temporary files removed (at the first enabled Configure)
};

// compliance::ParseReport as a DataCollector::Parser, with max_bytes raised to max_body_bytes.
inline DataCollector::Parser ReportParser(std::size_t max_body_bytes) {
  return [max_body_bytes](std::string_view body) {
    ParseLimits limits;
    limits.max_bytes = std::max(limits.max_bytes, max_body_bytes);
    return ParseReport(body, limits);
  };
}

}  // namespace estate::compliance
