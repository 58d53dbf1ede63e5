#include "servicenow_client.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <utility>

#include "estate/log.h"
#include "estate/url.h"

namespace estate::registry {

namespace {

// Consecutive pages that bring no new record before the collect is taken for a paging loop.
constexpr int kMaxPagesWithoutProgress = 3;
constexpr int kMaxPageSize = 10000;  // ServiceNow's own maximum sysparm_limit

double NowUnix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  return buf;
}

std::string BudgetReason(const Budget& budget) {
  return budget.cancel.Cancelled() ? "cancelled" : "deadline exceeded";
}

// Sleeps in short slices so that a cancel is noticed; false when cancelled or out of time first.
bool SleepWithin(double seconds, const Budget& budget) {
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < until) {
    if (budget.Expired()) return false;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50)));
  }
  return !budget.Expired();
}

double Backoff(const http::ClientOptions& options, int retry) {
  double wait = options.backoff_initial_seconds;
  for (int i = 1; i < retry && wait < options.backoff_max_seconds; ++i) wait *= 2;
  return std::max(0.0, std::min(wait, options.backoff_max_seconds));
}

bool RetryableStatus(long status) { return status >= 500 && status <= 599 && status != 501; }

// The value a person reads: the display value when the instance sent one (sysparm_display_value=true/all,
// a reference's name rather than its sys_id), else the value.
std::string Shown(SnowField& field) {
  return field.display.empty() ? std::move(field.value) : std::move(field.display);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

}  // namespace

ServiceNowClient::ServiceNowClient(http::HttpClient& http, ServiceNowOptions options)
    : http_(http), options_(std::move(options)) {
  options_.page_size = std::min(options_.page_size, kMaxPageSize);  // below 2: Collect refuses
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

std::map<std::string, long> ServiceNowClient::requests_by_status() const {
  std::lock_guard lock(status_mu_);
  return by_status_;
}

void ServiceNowClient::Count(const std::string& status) {
  std::lock_guard lock(status_mu_);
  ++by_status_[status];
}

Result<http::Response> ServiceNowClient::Get(const std::string& target, const std::string& what,
                                             const Budget& budget) {
  auto u = url::Resolve(options_.url, target);
  if (!u) return MakeError(what + ": " + u.error());
  http::Request request;
  request.url = u->ToString();
  request.headers = {{"Accept", "application/json"}};
  // This client owns the retries (see the header): the HTTP client would wait out 429s on its own, uncounted
  // and beyond max_retry_after_seconds.
  http::ClientOptions options = options_.http;
  options.max_retries = 0;

  int failures = 0;
  int rate_waits = 0;
  for (;;) {
    if (const auto now = Clock::now(); quota_wait_until_ > now) {
      const double wait = std::chrono::duration<double>(quota_wait_until_ - now).count();
      if (wait >= budget.SecondsLeft()) {
        return MakeError(what + ": the rate-limit quota is used up for " + FormatSeconds(wait) +
                         " s more (X-RateLimit-Reset), beyond the time left");
      }
      if (!SleepWithin(wait, budget)) return MakeError(what + ": " + BudgetReason(budget));
    }
    if (budget.Expired()) return MakeError(what + ": " + BudgetReason(budget));
    ++requests_;
    auto response = http_.Do(request, options, budget);
    if (!response) {
      Count("error");
      // The HTTP client's message names the request (method, scheme, host, port, path; no query).
      if (budget.Expired() || failures >= options_.http.max_retries) return MakeError(response.error());
      if (!SleepWithin(Backoff(options_.http, ++failures), budget)) return MakeError(response.error());
      continue;
    }
    Count(std::to_string(response->status));

    const double quota_wait = RateLimitResetWait(response->Header("x-ratelimit-remaining"),
                                                 response->Header("x-ratelimit-reset"), NowUnix());
    if (quota_wait > 0) {
      const double capped = std::min(quota_wait, options_.max_retry_after_seconds);
      quota_wait_until_ =
          Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(capped));
    }

    if (response->status == 429) {
      ++rate_limited_;
      double wait = http::ParseRetryAfter(response->Header("retry-after"));
      std::string why = wait >= 0 ? "Retry-After " + FormatSeconds(wait) + " s" : "no Retry-After";
      if (wait < 0) wait = quota_wait > 0 ? quota_wait : Backoff(options_.http, rate_waits + 1);
      if (rate_waits >= options_.max_rate_limit_waits) {
        return MakeError(what + ": rate limited (HTTP 429, " + why + ") " + std::to_string(rate_waits + 1) +
                         " times in a row");
      }
      if (wait > options_.max_retry_after_seconds) {
        return MakeError(what + ": rate limited (HTTP 429, " + why +
                         "), longer than max_retry_after_seconds " +
                         FormatSeconds(options_.max_retry_after_seconds));
      }
      if (wait >= budget.SecondsLeft()) {
        return MakeError(what + ": rate limited (HTTP 429, " + why + "), longer than the time left");
      }
      ++rate_waits;
      quota_wait_until_ = {};  // this wait covers it
      if (!SleepWithin(wait, budget)) {
        return MakeError(what + ": " + BudgetReason(budget) + " while waiting out a rate limit (HTTP 429)");
      }
      continue;
    }
    if (RetryableStatus(response->status) && failures < options_.http.max_retries && !budget.Expired()) {
      if (SleepWithin(Backoff(options_.http, ++failures), budget)) continue;
    }
    return response;
  }
}

Result<std::vector<SnowRow>> ServiceNowClient::ReadTable(const std::string& table,
                                                         const std::vector<std::string>& fields,
                                                         const std::string& query, const Budget& budget) {
  const std::int64_t limit = options_.page_size;
  const std::string path = "/api/now/table/" + table;
  const std::string fixed = "?sysparm_query=" + url::EncodeComponent(OrderedQuery(query)) +
                            "&sysparm_fields=" + url::EncodeComponent(Join(fields)) +
                            "&sysparm_limit=" + std::to_string(limit) +
                            "&sysparm_exclude_reference_link=true&sysparm_display_value=" +
                            url::EncodeComponent(options_.display_value);
  // Every page once, every page read again after a step back, and a few to spare.
  const std::int64_t max_pages = 2 * (options_.max_records / limit + 1) + 10;

  std::vector<SnowRow> kept_rows;
  std::string last;  // sys_id of the last record kept: the anchor
  std::optional<std::int64_t> total;
  std::int64_t offset = 0;
  int without_progress = 0;
  bool warned_link = false;
  for (std::int64_t page_no = 0;; ++page_no) {
    const std::string what = "GET " + path + " (offset " + std::to_string(offset) + ")";
    if (page_no >= max_pages) {
      return MakeError(what + ": paging loop: more than " + std::to_string(max_pages) +
                       " pages for at most max_records " + std::to_string(options_.max_records) + " records");
    }
    auto response = Get(path + fixed + "&sysparm_offset=" + std::to_string(offset), what, budget);
    if (!response) return MakeError(response.error());
    if (response->status != 200) {
      std::string message = what + ": HTTP " + std::to_string(response->status);
      if (auto html = CheckNotHtml(response->Header("content-type"), response->body); !html) {
        message += ": " + html.error();
      } else if (std::string said = ErrorDocumentMessage(response->body); !said.empty()) {
        message += ": " + said;
      }
      return MakeError(message);
    }
    auto page = ParseTablePage(response->Header("content-type"), response->body, fields);
    if (!page) return MakeError(what + ": " + page.error());
    std::vector<SnowRow>& rows = page->rows;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i][0].value.empty()) return MakeError(what + ": a record without sys_id");
      if (i > 0 && !(rows[i - 1][0].value < rows[i][0].value)) {
        return MakeError(what + ": records not in sys_id order (ORDERBYsys_id ignored?)");
      }
    }
    if (auto count = ParseTotalCount(response->Header("x-total-count"))) total = count;
    bool link_present = false;
    std::string next;
    if (std::string header = response->Header("link"); !header.empty()) {
      if (auto links = ParseLinkHeader(header)) {
        link_present = true;
        next = LinkWithRel(*links, "next");
      }
    }
    if (!next.empty() && !warned_link) {
      if (auto resolved = url::Resolve(options_.url, next); !resolved) {
        warned_link = true;
        log::Warn("refused a Link rel=next from ServiceNow (pages are requested on the configured URL only)",
                  {{"source", options_.http.source}, {"table", table}, {"err", resolved.error()}});
      }
    }

    // The page must start at or before the anchor; otherwise records before it went away and the rest moved
    // down past it: read again from a page earlier.
    const bool anchored = offset == 0 || (!rows.empty() && !(last < rows[0][0].value));
    if (!anchored) {
      offset = std::max<std::int64_t>(0, offset - limit);
      continue;
    }
    std::size_t kept = 0;
    for (auto& row : rows) {
      if (!last.empty() && !(last < row[0].value)) continue;  // held already (or the anchor itself)
      kept_rows.push_back(std::move(row));
      ++kept;
    }
    if (kept > 0) last = kept_rows.back()[0].value;
    if (kept_rows.size() > static_cast<std::size_t>(options_.max_records)) {
      return MakeError(what + ": more than max_records " + std::to_string(options_.max_records) + " records");
    }

    const std::int64_t end = offset + static_cast<std::int64_t>(rows.size());
    const bool short_page = static_cast<std::int64_t>(rows.size()) < limit;
    const bool total_says_more = total && end < *total;
    bool done = rows.empty();
    if (link_present && next.empty()) done = true;
    if (total && end >= *total) done = true;
    if (short_page && !total_says_more && next.empty()) done = true;
    if (short_page && kept == 0 && offset > 0) done = true;  // the confirming request found nothing new
    if (done) break;
    if (kept == 0 && ++without_progress >= kMaxPagesWithoutProgress) {
      return MakeError(what + ": paging loop: " + std::to_string(without_progress) +
                       " pages in a row brought no new record (sysparm_offset ignored?)");
    }
    if (kept > 0) without_progress = 0;
    offset = end - 1;  // the next page starts at the anchor
  }
  if (total && static_cast<std::int64_t>(kept_rows.size()) != *total) {
    log::Warn("ServiceNow X-Total-Count differs from the records received (records changed while paging?)",
              {{"source", options_.http.source},
               {"table", table},
               {"total", std::to_string(*total)},
               {"received", std::to_string(kept_rows.size())}});
  }
  return kept_rows;
}

Result<CmdbSnapshot> ServiceNowClient::Collect(const Budget& budget) {
  requests_ = 0;
  if (options_.page_size < 2) {
    return MakeError("servicenow: page_size " + std::to_string(options_.page_size) +
                     " is below 2 (each page after the first starts at the previous page's last record, so a "
                     "page of one record could never move on)");
  }
  if (auto base = url::Parse(options_.url); !base) return MakeError("servicenow url: " + base.error());
  for (const auto& table : options_.tables) {
    if (!ValidTableName(table)) return MakeError("servicenow: invalid table name " + url::Describe(table));
  }
  if (!options_.server_table.empty() && !ValidTableName(options_.server_table)) {
    return MakeError("servicenow: invalid server table name " + url::Describe(options_.server_table));
  }
  std::vector<std::string> app_fields = {
      "sys_id",         options_.name_field,  options_.app_code_field,
      "install_status", options_.owner_field, options_.support_group_field};
  std::vector<std::string> server_fields = {"sys_id", options_.server_name_field,
                                            options_.server_support_group_field};
  if (!options_.server_fqdn_field.empty()) server_fields.push_back(options_.server_fqdn_field);
  for (const std::vector<std::string>* list : {&app_fields, &server_fields}) {
    for (const auto& field : *list) {
      if (!ValidFieldName(field)) return MakeError("servicenow: invalid field name " + url::Describe(field));
    }
  }

  CmdbSnapshot snapshot;
  for (const auto& table : options_.tables) {
    auto rows = ReadTable(table, app_fields, options_.query, budget);
    if (!rows) return MakeError(rows.error());
    snapshot.records.reserve(snapshot.records.size() + rows->size());
    for (auto& row : *rows) {
      CmdbRecord record;
      record.table = table;
      record.sys_id = std::move(row[0].value);
      record.name = Shown(row[1]);
      record.app_code = NormaliseCode(row[2].value);
      record.install_status = std::move(row[3].value);
      record.owner = Shown(row[4]);
      record.support_group = Shown(row[5]);
      InstallVerdict verdict =
          ClassifyInstallStatus(record.install_status, options_.unregistered_install_status);
      record.registered = verdict.registered;
      record.not_registered_reason = std::move(verdict.reason);
      snapshot.records.push_back(std::move(record));
    }
  }

  if (!options_.server_table.empty()) {
    auto rows = ReadTable(options_.server_table, server_fields, "", budget);
    if (!rows) return MakeError(rows.error());
    for (auto& row : *rows) {
      const std::string group = Shown(row[2]);
      if (group.empty()) continue;
      std::vector<std::string> keys = HostKeys(Shown(row[1]));
      if (row.size() > 3) {
        for (auto& key : HostKeys(row[3].value)) keys.push_back(std::move(key));
      }
      // First in sys_id order wins: stable from one collect to the next.
      for (const auto& key : keys) snapshot.server_support_groups.emplace(key, group);
    }
  }
  snapshot.collected_unix = NowUnix();
  return snapshot;
}

}  // namespace estate::registry
