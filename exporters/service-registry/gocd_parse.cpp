#include "gocd_parse.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "estate/json_util.h"

namespace estate::registry::gocd {

namespace {

using Json = nlohmann::json;

const Json* Member(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string_view StringOf(const Json* j) {
  if (j == nullptr || !j->is_string()) return {};
  return j->get_ref<const std::string&>();
}

bool IsTrue(const Json* j) { return j != nullptr && j->is_boolean() && j->get<bool>(); }

// A positive counter from an integer, an integral double or a digit string; 0 when it is none of those.
std::int64_t CounterOf(const Json* j) {
  constexpr std::int64_t kMax = std::int64_t{1} << 53;
  if (j == nullptr) return 0;
  if (j->is_number_unsigned()) {
    auto v = j->get<std::uint64_t>();
    return v > 0 && v <= static_cast<std::uint64_t>(kMax) ? static_cast<std::int64_t>(v) : 0;
  }
  if (j->is_number_integer()) {
    auto v = j->get<std::int64_t>();
    return v > 0 && v <= kMax ? v : 0;
  }
  if (j->is_number_float()) {
    double v = j->get<double>();
    if (!std::isfinite(v) || v < 1 || v > static_cast<double>(kMax) || std::floor(v) != v) return 0;
    return static_cast<std::int64_t>(v);
  }
  if (j->is_string()) {
    const auto& s = j->get_ref<const std::string&>();
    if (s.empty() || s.size() > 15) return 0;
    std::int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return 0;
      v = v * 10 + (c - '0');
    }
    return v;
  }
  return 0;
}

// scheduled_date in ms since the epoch -> seconds; 0 when absent or not a plausible time (before 1970 or
// after year 10000).
double ScheduledUnix(const Json* j) {
  if (j == nullptr || !j->is_number()) return 0;
  double ms = j->get<double>();
  if (!std::isfinite(ms) || ms <= 0 || ms > 253402300800000.0) return 0;
  return ms / 1000;
}

bool IsPseudoUser(std::string_view s) {
  std::string lower;
  for (char c : s) lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return lower.empty() || lower == "changes" || lower == "timer" || lower == "anonymous" ||
         lower == "unknown";
}

// Control characters and commas to spaces, spaces collapsed and trimmed, invalid UTF-8 to U+FFFD, cut at a
// character boundary to kMaxUserBytes.
std::string Clean(std::string_view raw) {
  std::string out;
  bool space = false;
  for (std::size_t i = 0; i < raw.size();) {
    std::size_t n = Utf8SequenceLength(raw, i);
    std::string_view piece;
    if (n == 0) {
      piece = "\xEF\xBF\xBD";
      n = 1;
    } else {
      piece = raw.substr(i, n);
    }
    const unsigned char c = static_cast<unsigned char>(piece[0]);
    const bool blank = piece.size() == 1 && (c < 0x20 || c == 0x7f || c == ' ' || c == ',');
    i += n;
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (out.size() + (space ? 1 : 0) + piece.size() > kMaxUserBytes) break;
    if (space) out.push_back(' ');
    space = false;
    out.append(piece);
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool LooksLikeEmail(std::string_view s) {
  auto at = s.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < s.size() && s.find('@', at + 1) == s.npos &&
         s.find(' ') == s.npos;
}

void AddUser(std::vector<std::string>& users, std::string_view raw) {
  std::string u = DisplayUser(raw);
  if (u.empty()) return;
  if (std::find(users.begin(), users.end(), u) == users.end()) users.push_back(std::move(u));
}

// Pipeline names go into URL paths (percent-encoded) and into labels: skip what GoCD would never send.
bool UsableName(std::string_view name) {
  if (name.empty() || name.size() > kMaxPipelineNameBytes) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string MergeCommitterWithLogin(const std::string& user, const std::set<std::string>& logins) {
  const auto at = user.find('@');
  if (at == std::string::npos || at == 0 || user.find(' ') != std::string::npos) return user;
  const auto login = logins.find(user.substr(0, at));
  return login == logins.end() ? user : *login;
}

std::string DisplayUser(std::string_view raw) {
  std::string_view name = raw;
  std::string_view email;
  auto open = raw.rfind('<');
  if (open != std::string_view::npos) {
    auto close = raw.find('>', open);
    std::string_view inside = raw.substr(open + 1, (close == raw.npos ? raw.size() : close) - open - 1);
    name = raw.substr(0, open);
    email = inside;
  }
  std::string clean_email = Clean(email);
  if (LooksLikeEmail(clean_email)) return Lower(std::move(clean_email));
  std::string clean = Clean(name);
  if (clean.empty() && open != std::string_view::npos) clean = clean_email;  // "<jdoe>"
  if (IsPseudoUser(clean)) return {};
  return Lower(std::move(clean));  // GoCD's user names are case-insensitive
}

std::vector<std::string> RunUsers(const Json& entry) {
  std::vector<std::string> users;
  const Json* cause = Member(entry, "build_cause");
  if (cause != nullptr && cause->is_object()) {
    AddUser(users, StringOf(Member(*cause, "approver")));
    std::string_view message = StringOf(Member(*cause, "trigger_message"));
    constexpr std::string_view kForced = "Forced by ";
    if (message.substr(0, kForced.size()) == kForced) AddUser(users, message.substr(kForced.size()));
  }
  if (const Json* stages = Member(entry, "stages"); stages != nullptr && stages->is_array()) {
    for (const auto& stage : *stages) AddUser(users, StringOf(Member(stage, "approved_by")));
  }
  const Json* revisions = cause != nullptr ? Member(*cause, "material_revisions") : nullptr;
  if (revisions != nullptr && revisions->is_array()) {
    for (const auto& revision : *revisions) {
      const Json* changed = Member(revision, "changed");
      if (changed != nullptr && !IsTrue(changed)) continue;
      const Json* material = Member(revision, "material");
      if (material != nullptr && StringOf(Member(*material, "type")) == "Pipeline") continue;
      const Json* mods = Member(revision, "modifications");
      if (mods == nullptr || !mods->is_array()) continue;
      for (const auto& mod : *mods) {
        std::string_view user = StringOf(Member(mod, "user_name"));
        std::string_view email = StringOf(Member(mod, "email_address"));
        // P4 and TFS send the login in user_name and the address apart.
        if (user.find('<') == user.npos && LooksLikeEmail(Clean(email))) {
          std::string bracketed;  // built by append: GCC 12 -O3 warns falsely on "<" + std::string
          bracketed.reserve(email.size() + 2);
          bracketed.append("<").append(email).append(">");
          AddUser(users, bracketed);
        } else {
          AddUser(users, user);
        }
      }
    }
  }
  return users;
}

Result<std::vector<DashboardPipeline>> ParseDashboard(std::string_view body) {
  if (body.empty()) return MakeError("dashboard: empty body");
  auto parsed = ParseJsonText(body);
  if (!parsed) return MakeError("dashboard: " + parsed.error());
  const Json& doc = *parsed;
  const Json* embedded = Member(doc, "_embedded");
  const Json* groups = embedded != nullptr ? Member(*embedded, "pipeline_groups") : nullptr;
  const Json* pipelines = embedded != nullptr ? Member(*embedded, "pipelines") : nullptr;
  if ((groups == nullptr || !groups->is_array()) && (pipelines == nullptr || !pipelines->is_array())) {
    return MakeError("dashboard: no _embedded.pipeline_groups or _embedded.pipelines array");
  }

  std::vector<DashboardPipeline> out;
  std::unordered_map<std::string, std::size_t> index;  // name -> position in out
  auto add = [&](std::string_view name, std::string_view group) -> DashboardPipeline* {
    if (!UsableName(name)) return nullptr;
    auto [it, inserted] = index.emplace(std::string(name), out.size());
    if (inserted) out.push_back(DashboardPipeline{std::string(name), std::string(), 0});
    DashboardPipeline& p = out[it->second];
    if (p.group.empty() && UsableName(group)) p.group = std::string(group);
    return &p;
  };
  auto latest = [](const Json& pipeline) -> std::int64_t {
    const Json* e = Member(pipeline, "_embedded");
    const Json* instances = e != nullptr ? Member(*e, "instances") : nullptr;
    std::int64_t best = 0;
    if (instances != nullptr && instances->is_array()) {
      for (const auto& i : *instances) best = std::max(best, CounterOf(Member(i, "counter")));
    }
    return best;
  };

  if (groups != nullptr && groups->is_array()) {
    for (const auto& g : *groups) {
      std::string_view group = StringOf(Member(g, "name"));
      const Json* names = Member(g, "pipelines");
      if (names == nullptr) {  // older dashboards: the pipelines embedded in the group
        const Json* ge = Member(g, "_embedded");
        names = ge != nullptr ? Member(*ge, "pipelines") : nullptr;
      }
      if (names == nullptr || !names->is_array()) continue;
      for (const auto& n : *names) {
        if (n.is_string()) {
          add(n.get_ref<const std::string&>(), group);
        } else if (auto* p = add(StringOf(Member(n, "name")), group)) {
          p->latest_counter = std::max(p->latest_counter, latest(n));
        }
      }
    }
  }
  if (pipelines != nullptr && pipelines->is_array()) {
    for (const auto& p : *pipelines) {
      if (auto* dp = add(StringOf(Member(p, "name")), {}))
        dp->latest_counter = std::max(dp->latest_counter, latest(p));
    }
  }
  return out;
}

Result<HistoryPage> ParseHistoryPage(std::string_view body) {
  if (body.empty()) return MakeError("history: empty body");
  auto parsed = ParseJsonText(body);
  if (!parsed) return MakeError("history: " + parsed.error());
  const Json& doc = *parsed;
  const Json* entries = Member(doc, "pipelines");
  if (entries == nullptr || !entries->is_array()) return MakeError("history: no \"pipelines\" array");

  HistoryPage page;
  if (const Json* links = Member(doc, "_links")) {
    if (const Json* next = Member(*links, "next"))
      page.next_link = std::string(StringOf(Member(*next, "href")));
  }
  page.runs.reserve(entries->size());
  std::unordered_set<std::int64_t> seen;
  for (const auto& entry : *entries) {
    std::int64_t counter = CounterOf(Member(entry, "counter"));
    if (counter == 0 || !seen.insert(counter).second) {
      ++page.skipped;
      continue;
    }
    PipelineRun run;
    run.counter = counter;
    run.scheduled_unix = ScheduledUnix(Member(entry, "scheduled_date"));
    run.users = RunUsers(entry);
    page.runs.push_back(std::move(run));
  }
  return page;
}

std::string CursorOf(std::string_view link) {
  auto q = link.find('?');
  if (q == link.npos) return {};
  std::string_view query = link.substr(q + 1);
  if (auto hash = query.find('#'); hash != query.npos) query = query.substr(0, hash);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == query.npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, 6) != "after=") continue;
    std::string_view value = pair.substr(6);
    if (value.empty() || value.size() > 64) return {};
    for (char c : value) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '.' || c == '-';
      if (!ok) return {};
    }
    return std::string(value);
  }
  return {};
}

}  // namespace estate::registry::gocd
