#include "sim_servicenow.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "sim_http.h"
#include "sim_storage_model.h"

namespace estate::simestate {

namespace {

using json = nlohmann::json;
using testing::FakeRequest;
using testing::FakeResponse;

constexpr char kTablePrefix[] = "/api/now/table/";

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(std::max(0, n)));
  return out;
}

FakeResponse SnowError(int status, const std::string& message, const std::string& detail) {
  return Json(status, {{"error", {{"message", message}, {"detail", detail}}}, {"status", "failure"}});
}

std::string InstallStatusChoice(const std::string& value) {
  static const std::map<std::string, std::string> kNames = {
      {"0", "Implementing"}, {"1", "In Production"}, {"2", "Pilot"},     {"4", "Limited Service"},
      {"7", "Retired"},      {"21", "Archived"},     {"22", "Cancelled"}};
  auto it = kNames.find(value);
  return it == kNames.end() ? value : it->second;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return out;
}

std::optional<long> ParseNonNegative(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  long n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// One AND-ed condition of sysparm_query.
struct Condition {
  std::string field;
  std::string op;
  std::string value;

  bool Matches(const SnowRecord& record) const {
    auto it = record.find(field);
    const std::string have = it == record.end() ? "" : it->second;
    if (op == "=") return have == value;
    if (op == "!=") return have != value;
    if (op == "STARTSWITH") return have.starts_with(value);
    if (op == "ISEMPTY") return have.empty();
    if (op == "ISNOTEMPTY") return !have.empty();
    if (op == "IN") {
      const auto values = Split(value, ',');
      return std::find(values.begin(), values.end(), have) != values.end();
    }
    if (op == "<") return have < value;
    if (op == "<=") return have <= value;
    if (op == ">") return have > value;
    if (op == ">=") return have >= value;
    return false;
  }
};

struct Query {
  std::vector<Condition> conditions;
  std::vector<std::pair<std::string, bool>> order;  // field, descending
};

// An encoded query; an error text for what this sim does not know (OR, NQ, other operators).
std::optional<std::string> ParseQuery(const std::string& text, Query* query) {
  if (text.empty()) return std::nullopt;
  for (const std::string& clause : Split(text, '^')) {
    if (clause.empty() || clause == "EQ") continue;
    if (clause.starts_with("ORDERBYDESC")) {
      query->order.emplace_back(clause.substr(11), true);
      continue;
    }
    if (clause.starts_with("ORDERBY")) {
      query->order.emplace_back(clause.substr(7), false);
      continue;
    }
    std::size_t end = 0;
    while (end < clause.size() &&
           ((clause[end] >= 'a' && clause[end] <= 'z') || (clause[end] >= '0' && clause[end] <= '9') ||
            clause[end] == '_' || clause[end] == '.')) {
      ++end;
    }
    Condition c;
    c.field = clause.substr(0, end);
    const std::string rest = clause.substr(end);
    for (const char* op : {"ISNOTEMPTY", "ISEMPTY", "STARTSWITH", "IN", "!=", ">=", "<=", "=", ">", "<"}) {
      if (rest.starts_with(op)) {
        c.op = op;
        c.value = rest.substr(c.op.size());
        break;
      }
    }
    if (c.field.empty() || c.op.empty()) return "unsupported query clause";
    query->conditions.push_back(std::move(c));
  }
  return std::nullopt;
}

}  // namespace

struct SimServiceNow::State {
  ServiceNowSimOptions options;
  std::string expected_basic;   // "Basic <base64>"
  std::string expected_bearer;  // "Bearer <token>"

  mutable std::mutex mu;
  std::map<std::string, std::map<std::string, SnowRecord>> tables;  // table -> sys_id -> record
  std::map<std::string, std::vector<std::string>> insertion;        // table -> sys_ids in insertion order
  std::vector<testing::FakeUpstream*> servers;
  long requests = 0;
  long rate_limited = 0;
  std::chrono::steady_clock::time_point window_start{};
  int window_count = 0;

  void Route(testing::FakeUpstream& server, const std::string& table, const std::shared_ptr<State>& self) {
    std::weak_ptr<State> weak = self;
    server.Route("GET", kTablePrefix + table, [weak, table](const FakeRequest& req) {
      auto state = weak.lock();
      if (!state) return SnowError(503, "Service unavailable", "");
      return state->Serve(req, table);
    });
  }

  bool Authorised(const FakeRequest& req) const {
    if (expected_basic.empty() && expected_bearer.empty()) return true;
    auto it = req.headers.find("authorization");
    if (it == req.headers.end()) return false;
    return (!expected_basic.empty() && it->second == expected_basic) ||
           (!expected_bearer.empty() && it->second == expected_bearer);
  }

  // Under mu. Adds the X-RateLimit-* headers; true when this request is over the limit.
  bool RateLimit(FakeResponse* out) {
    if (options.rate_limit_requests <= 0) return false;
    const auto now = std::chrono::steady_clock::now();
    const auto window = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(options.rate_limit_window_seconds));
    if (window_count == 0 || now - window_start >= window) {
      window_start = now;
      window_count = 0;
    }
    const bool over = window_count >= options.rate_limit_requests;
    if (!over) ++window_count;
    const double left = std::chrono::duration<double>(window_start + window - now).count();
    const double reset_unix =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() + left;
    out->headers.emplace_back("X-RateLimit-Limit", std::to_string(options.rate_limit_requests));
    out->headers.emplace_back("X-RateLimit-Remaining",
                              std::to_string(std::max(0, options.rate_limit_requests - window_count)));
    out->headers.emplace_back("X-RateLimit-Reset",
                              std::to_string(static_cast<long long>(std::ceil(reset_unix))));
    out->headers.emplace_back("X-RateLimit-Rule", "simulated Table API rule");
    if (over) {
      ++rate_limited;
      out->headers.emplace_back("Retry-After", std::to_string(std::max(1L, std::lround(std::ceil(left)))));
    }
    return over;
  }

  FakeResponse Serve(const FakeRequest& req, const std::string& table) {
    std::lock_guard lock(mu);
    ++requests;
    if (options.html_login) {
      FakeResponse html;
      html.content_type = "text/html;charset=UTF-8";
      html.body =
          "<!DOCTYPE html><html><head><title>Log in | ServiceNow</title></head><body><form "
          "action=\"/login.do\" method=\"post\"><input name=\"user_name\"><input name=\"user_password\" "
          "type=\"password\"></form></body></html>";
      return html;
    }
    if (!Authorised(req)) {
      FakeResponse denied = SnowError(401, "User Not Authenticated", "Required to provide Auth information");
      denied.headers.emplace_back("WWW-Authenticate", "BASIC realm=\"Service-now\"");
      return denied;
    }
    FakeResponse limits;
    if (RateLimit(&limits)) {
      FakeResponse refused = SnowError(429, "Rate limit exceeded", "Too many requests; retry later");
      refused.headers = std::move(limits.headers);
      return refused;
    }
    auto found = tables.find(table);
    if (found == tables.end()) {
      FakeResponse bad = SnowError(400, "Invalid table " + table, "");
      bad.headers = std::move(limits.headers);
      return bad;
    }

    Query query;
    if (auto err = ParseQuery(QueryParam(req.query, "sysparm_query"), &query)) {
      FakeResponse bad = SnowError(400, "Invalid query", *err);
      bad.headers = std::move(limits.headers);
      return bad;
    }
    std::vector<const SnowRecord*> matching;
    for (const auto& sys_id : insertion[table]) {
      const SnowRecord& record = found->second.at(sys_id);
      if (std::all_of(query.conditions.begin(), query.conditions.end(),
                      [&](const Condition& c) { return c.Matches(record); })) {
        matching.push_back(&record);
      }
    }
    for (auto it = query.order.rbegin(); it != query.order.rend(); ++it) {
      const auto& [field, descending] = *it;
      std::stable_sort(matching.begin(), matching.end(), [&](const SnowRecord* a, const SnowRecord* b) {
        auto av = a->find(field);
        auto bv = b->find(field);
        const std::string as = av == a->end() ? "" : av->second;
        const std::string bs = bv == b->end() ? "" : bv->second;
        return descending ? bs < as : as < bs;
      });
    }

    const long total = static_cast<long>(matching.size());
    const long limit = std::max(
        1L, ParseNonNegative(QueryParam(req.query, "sysparm_limit")).value_or(options.default_limit));
    const long offset = ParseNonNegative(QueryParam(req.query, "sysparm_offset")).value_or(0);
    const std::string display = QueryParam(req.query, "sysparm_display_value");
    std::vector<std::string> fields;
    if (const std::string list = QueryParam(req.query, "sysparm_fields"); !list.empty())
      fields = Split(list, ',');

    json result = json::array();
    for (long i = offset; i < std::min(total, offset + limit); ++i) {
      const SnowRecord& record = *matching[static_cast<std::size_t>(i)];
      json out = json::object();
      auto emit = [&](const std::string& field, const std::string& value) {
        const std::string shown = field == "install_status" ? InstallStatusChoice(value) : value;
        if (display == "all") {
          out[field] = {{"display_value", shown}, {"value", value}};
        } else {
          out[field] = display == "true" ? shown : value;
        }
      };
      if (fields.empty()) {
        for (const auto& [field, value] : record) emit(field, value);
      } else {
        for (const auto& field : fields) {
          auto it = record.find(field);
          emit(field, it == record.end() ? "" : it->second);
        }
      }
      result.push_back(std::move(out));
    }

    FakeResponse ok = Json(200, {{"result", std::move(result)}});
    ok.headers = std::move(limits.headers);
    ok.headers.emplace_back("X-Total-Count", std::to_string(total));
    const std::string base = (req.tls ? "https://" : "http://") + Host(req) + kTablePrefix + table + "?" +
                             WithoutQueryParam(req.query, "sysparm_offset");
    auto link = [&](long at, const char* rel) {
      return "<" + base + (base.back() == '?' ? "" : "&") + "sysparm_offset=" + std::to_string(at) +
             ">;rel=\"" + rel + "\"";
    };
    std::string links = link(0, "first");
    if (offset > 0) links += "," + link(std::max(0L, offset - limit), "prev");
    if (offset + limit < total) links += "," + link(offset + limit, "next");
    links += "," + link(total == 0 ? 0 : ((total - 1) / limit) * limit, "last");
    ok.headers.emplace_back("Link", links);
    return ok;
  }

  static std::string Host(const FakeRequest& req) {
    auto it = req.headers.find("host");
    return it == req.headers.end() ? "localhost" : it->second;
  }
};

SimServiceNow::SimServiceNow(ServiceNowSimOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  if (!state_->options.username.empty()) {
    state_->expected_basic = "Basic " + Base64(state_->options.username + ":" + state_->options.password);
  }
  if (!state_->options.bearer_token.empty())
    state_->expected_bearer = "Bearer " + state_->options.bearer_token;
}

void SimServiceNow::Install(testing::FakeUpstream& server) {
  std::lock_guard lock(state_->mu);
  state_->servers.push_back(&server);
  for (const auto& [table, records] : state_->tables) state_->Route(server, table, state_);
}

void SimServiceNow::AddTable(const std::string& table) {
  std::lock_guard lock(state_->mu);
  if (state_->tables.contains(table)) return;
  state_->tables[table];
  for (auto* server : state_->servers) state_->Route(*server, table, state_);
}

void SimServiceNow::PutRecord(const std::string& table, SnowRecord record) {
  AddTable(table);
  std::string& sys_id = record["sys_id"];
  if (sys_id.empty()) {
    std::string seed = table;
    for (const auto& [field, value] : record) seed += "|" + field + "=" + value;
    sys_id = SnowSysId(seed);
  }
  std::lock_guard lock(state_->mu);
  const std::string key = sys_id;
  auto& records = state_->tables[table];
  if (!records.contains(key)) state_->insertion[table].push_back(key);
  records[key] = std::move(record);
}

bool SimServiceNow::DeleteRecord(const std::string& table, const std::string& sys_id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->tables.find(table);
  if (it == state_->tables.end() || it->second.erase(sys_id) == 0) return false;
  auto& order = state_->insertion[table];
  order.erase(std::remove(order.begin(), order.end(), sys_id), order.end());
  return true;
}

std::vector<SnowRecord> SimServiceNow::Records(const std::string& table) const {
  std::lock_guard lock(state_->mu);
  std::vector<SnowRecord> out;
  auto it = state_->tables.find(table);
  if (it == state_->tables.end()) return out;
  for (const auto& sys_id : state_->insertion.at(table)) out.push_back(it->second.at(sys_id));
  return out;
}

void SimServiceNow::SetHtmlLogin(bool on) {
  std::lock_guard lock(state_->mu);
  state_->options.html_login = on;
}

long SimServiceNow::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->requests;
}

long SimServiceNow::rate_limited() const {
  std::lock_guard lock(state_->mu);
  return state_->rate_limited;
}

std::string SnowSysId(const std::string& seed) { return HexFrom("servicenow:" + seed, 32); }

std::string SnowDateTime(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

SnowRecord SnowBusinessApp(const std::string& tla, const std::string& name, const std::string& install_status,
                           const std::string& owner, const std::string& support_group, double created_unix) {
  std::string code = tla;
  for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {{"sys_id", SnowSysId("business_app:" + tla)},
          {"name", name},
          {"u_app_code", code},
          {"install_status", install_status},
          {"owned_by.user_name", owner},
          {"support_group.name", support_group},
          {"sys_class_name", "cmdb_ci_business_app"},
          {"sys_created_on", SnowDateTime(created_unix)}};
}

SnowRecord SnowServer(const std::string& name, const std::string& fqdn, const std::string& support_group) {
  return {{"sys_id", SnowSysId("server:" + name)},
          {"name", name},
          {"fqdn", fqdn},
          {"support_group.name", support_group},
          {"sys_class_name", "cmdb_ci_server"},
          {"install_status", "1"}};
}

}  // namespace estate::simestate
