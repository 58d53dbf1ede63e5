// The JSON family of compliance reports: InSpec exec JSON (1.x-6.x), the Automate envelope (the automate
// reporter and Chef Infra's compliance phase), MITRE HDF (also converted from other tools) and json-min
// (degraded). One pass of nlohmann's parser with a callback: each result is folded into its control and each
// control into a compact Control as soon as it is complete, and bulky fields (control code, source locations,
// backtraces, HDF passthrough, profile inputs and groups) are dropped while parsing. The document tree never
// holds more than one control, so a 200 MB report does not become a multi-GB DOM.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <new>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estate/json_util.h"
#include "estate/time_util.h"
#include "report_parse.h"

namespace estate::compliance {
namespace {

using Json = nlohmann::json;
using Event = Json::parse_event_t;

constexpr std::size_t kMaxMessages = 8;
constexpr std::size_t kMaxMessageBytes = 1024;
constexpr std::size_t kMaxTitleBytes = 1024;
constexpr std::size_t kMaxDescriptionBytes = 64 * 1024;
constexpr std::size_t kMaxIds = 32;

// --- small accessors that never throw ------------------------------------------------------------------

const Json* Member(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

// A string, a number written as text, or "".
std::string Text(const Json* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return v->get_ref<const std::string&>();
  if (v->is_number_integer()) return std::to_string(v->get<long long>());
  if (v->is_number_unsigned()) return std::to_string(v->get<unsigned long long>());
  if (v->is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v->get<double>());
    return buf;
  }
  return {};
}

std::string Str(const Json& j, std::string_view key) { return Text(Member(j, key)); }

bool Truthy(const Json* v) {
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) return v->get_ref<const std::string&>() == "true";
  return false;
}

// A number, or a number written as text; NaN when neither.
double Num(const Json& j, std::string_view key) {
  const Json* v = Member(j, key);
  if (v == nullptr) return NAN;
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return d;
  }
  return NAN;
}

std::string Bounded(std::string_view s, std::size_t max_bytes) {
  return s.size() <= max_bytes ? std::string(s) : Utf8Excerpt(s, max_bytes);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// --- time ----------------------------------------------------------------------------------------------

// The times InSpec and its envelopes write: RFC 3339 ("2018-02-09T23:59:50Z", "…+00:00", fractions), Ruby's
// Time#to_s ("2018-01-05 11:43:04 -0500") and a waiver's YAML date ("2025-06-01", midnight UTC). 0 = none.
double ParseTime(std::string_view text) {
  const std::string_view s = Trim(text);
  const auto t = ParseIsoPrefix(s);
  if (!t || t->year < 1970 || t->used != s.size()) return 0;
  return t->unix;
}

// --- what the callback collects ------------------------------------------------------------------------

struct ResultFold {
  int total = 0, passed = 0, failed = 0, skipped = 0, errors = 0;
  double run_time = 0;
  double latest_start = 0;
  std::vector<std::string> messages;
  std::size_t messages_dropped = 0;

  void AddMessage(std::string m) {
    if (m.empty()) return;
    if (messages.size() >= kMaxMessages) {
      ++messages_dropped;
      return;
    }
    messages.push_back(Bounded(m, kMaxMessageBytes));
  }
};

struct RawProfile {
  std::string name, version, title, status, status_message, parent;
  std::vector<std::string> depends;
};

struct RawControl {
  std::size_t profile = 0;  // index into the profiles as listed (json-min: the profile_id's)
  Control control;
  int results = 0;
};

enum class Kind {
  kOther,
  kRoot,
  kRootArray,  // json-min written as a bare array of rows
  kProfiles,
  kProfile,
  kControls,  // profiles[].controls
  kControl,
  kResults,
  kResult,
  kRootControls,  // json-min rows, or an InSpec profile's controls
  kRow,
};

struct Frame {
  Kind kind = Kind::kOther;
  std::string key;  // objects: the key being read
};

class Collector {
 public:
  explicit Collector(bool keep_text) : keep_text_(keep_text) {}
  // nlohmann's callback. depth is the number of open containers before a start event, and while reading a
  // key or value; one less than that at an end event. The frame stack is re-synchronised from it on every
  // event, because nlohmann skips the end events of containers that were dropped (a dropped key's value).
  bool operator()(int depth, Event event, Json& parsed) {
    const auto d = static_cast<std::size_t>(depth < 0 ? 0 : depth);
    switch (event) {
      case Event::object_start:
      case Event::array_start: {
        frames_.resize(d);
        const Kind kind = ChildKind(event == Event::object_start);
        if (kind == Kind::kResult || kind == Kind::kRow) backtrace_ = false;
        if (kind == Kind::kControl) fold_ = ResultFold{};
        if (InBacktrace()) backtrace_ = true;  // an array or object: not null
        frames_.push_back(Frame{kind, {}});
        return true;
      }
      case Event::key: {
        frames_.resize(d);
        if (frames_.empty() || !parsed.is_string()) return true;
        Frame& f = frames_.back();
        f.key = parsed.get_ref<const std::string&>();
        return Keep(f);
      }
      case Event::value: {
        frames_.resize(d);
        if (InBacktrace()) {
          backtrace_ = !parsed.is_null();
          return false;
        }
        return true;
      }
      case Event::object_end:
      case Event::array_end: {
        frames_.resize(d + 1);
        const Kind kind = frames_.back().kind;
        frames_.pop_back();
        switch (kind) {
          case Kind::kResult:
            FoldResult(parsed, fold_);
            return false;
          case Kind::kControl:
            EndControl(parsed);
            return false;
          case Kind::kProfile:
            EndProfile(parsed);
            return false;
          case Kind::kRow:
            EndRow(parsed);
            return false;
          default:
            return true;
        }
      }
    }
    return true;
  }

  std::vector<RawProfile> profiles;
  std::vector<RawControl> controls;
  // json-min rows, folded by (profile_id, control id) in the order first seen.
  std::vector<std::pair<std::string, std::string>> row_keys;
  std::map<std::pair<std::string, std::string>, std::size_t> row_index;
  std::vector<ResultFold> row_folds;
  // What says what the document is.
  bool saw_profiles = false, saw_root_controls = false, saw_passthrough = false, saw_hdf_marks = false;
  int profile_like_rows = 0;  // root controls with code/impact but no status: an InSpec profile's
  double latest_start = 0;
  std::size_t messages_dropped = 0;

 private:
  bool keep_text_ = true;

  bool InBacktrace() const {
    return !frames_.empty() && frames_.back().key == "backtrace" &&
           (frames_.back().kind == Kind::kResult || frames_.back().kind == Kind::kRow);
  }

  Kind ChildKind(bool object) const {
    if (frames_.empty()) return object ? Kind::kRoot : Kind::kRootArray;
    const Frame& p = frames_.back();
    switch (p.kind) {
      case Kind::kRoot:
        if (!object && p.key == "profiles") return Kind::kProfiles;
        if (!object && p.key == "controls") return Kind::kRootControls;
        return Kind::kOther;
      case Kind::kProfiles:
        return object ? Kind::kProfile : Kind::kOther;
      case Kind::kProfile:
        return !object && p.key == "controls" ? Kind::kControls : Kind::kOther;
      case Kind::kControls:
        return object ? Kind::kControl : Kind::kOther;
      case Kind::kControl:
        return !object && p.key == "results" ? Kind::kResults : Kind::kOther;
      case Kind::kResults:
        return object ? Kind::kResult : Kind::kOther;
      case Kind::kRootControls:
      case Kind::kRootArray:
        return object ? Kind::kRow : Kind::kOther;
      default:
        return Kind::kOther;
    }
  }

  // Keys dropped while parsing: never needed, and the bulk of a large report.
  bool Keep(Frame& f) {
    const std::string& k = f.key;
    switch (f.kind) {
      case Kind::kRoot:
        if (k == "profiles") saw_profiles = true;
        if (k == "controls") saw_root_controls = true;
        if (k == "passthrough") {
          saw_passthrough = true;
          return false;
        }
        return true;
      case Kind::kProfile:
        return k != "attributes" && k != "inputs" && k != "groups" && k != "supports" && k != "sha256_full";
      case Kind::kControl:
        if (k == "attestation_data") saw_hdf_marks = true;
        return k != "code" && k != "source_location";
      case Kind::kResult:
      case Kind::kRow:
        return k != "backtrace" && k != "resource" && k != "resource_params" && k != "code";
      default:
        return true;
    }
  }

  void FoldResult(const Json& r, ResultFold& fold) {
    ++fold.total;
    const std::string status = Str(r, "status");
    const std::string exception = Str(r, "exception");
    const std::string code_desc = std::string(Trim(Str(r, "code_desc")));
    if (status == "error") saw_hdf_marks = true;  // HDF adds it; InSpec writes "failed"
    const bool error =
        status == "error" || (!exception.empty() && backtrace_ && Str(r, "resource_class") != "noop");
    if (const double t = Num(r, "run_time"); std::isfinite(t) && t > 0) fold.run_time += t;
    if (const double t = ParseTime(Str(r, "start_time")); t > fold.latest_start) fold.latest_start = t;
    if (fold.latest_start > latest_start) latest_start = fold.latest_start;
    if (error) {
      ++fold.errors;
      std::string m = exception.empty() ? std::string("error") : exception;
      const std::string msg(Trim(Str(r, "message")));
      if (!msg.empty()) m.append(": ").append(msg);
      if (!code_desc.empty()) m = code_desc + ": " + m;
      fold.AddMessage(std::move(m));
    } else if (status == "failed") {
      ++fold.failed;
      const std::string msg(Trim(Str(r, "message")));
      std::string m = code_desc;
      if (!msg.empty()) m.append(m.empty() ? "" : ": ").append(msg);
      fold.AddMessage(std::move(m));
    } else if (status == "skipped") {
      ++fold.skipped;
      std::string m(Trim(Str(r, "skip_message")));
      if (m.empty()) m = code_desc;
      fold.AddMessage(std::move(m));
    } else if (status == "passed") {
      ++fold.passed;
    } else {
      ++fold.skipped;  // an unknown status: nothing was shown to pass
      fold.AddMessage("result status \"" + Bounded(status, 64) + "\"" +
                      (code_desc.empty() ? "" : ": " + code_desc));
    }
  }

  void EndProfile(const Json& p) {
    RawProfile rp;
    rp.name = Str(p, "name");
    rp.version = Str(p, "version");
    rp.title = Bounded(Str(p, "title"), kMaxTitleBytes);
    rp.status = Str(p, "status");
    rp.status_message = Str(p, "status_message");
    if (rp.status_message.empty()) rp.status_message = Str(p, "skip_message");
    rp.status_message = Bounded(rp.status_message, kMaxMessageBytes);
    rp.parent = Str(p, "parent_profile");
    if (const Json* deps = Member(p, "depends"); deps != nullptr && deps->is_array()) {
      for (const Json& dep : *deps) {
        if (std::string n = Str(dep, "name"); !n.empty()) rp.depends.push_back(std::move(n));
      }
    }
    profiles.push_back(std::move(rp));
  }

  void EndControl(const Json& c);
  void EndRow(const Json& row);

  std::vector<Frame> frames_;
  ResultFold fold_;
  bool backtrace_ = false;
};

// --- a control's metadata ----------------------------------------------------------------------------------

void AddId(Control& c, std::string kind, std::string_view value) {
  const std::string_view v = Trim(value);
  if (v.empty() || c.ids.size() >= kMaxIds) return;
  for (const auto& [k, x] : c.ids) {
    if (k == kind && x == v) return;
  }
  c.ids.emplace_back(std::move(kind), Bounded(v, 256));
}

// A tag's value as identifiers: a string, a number, or an array of those (nested arrays flattened once).
void AddTagIds(Control& c, const Json& tags, std::string_view tag, const std::string& kind) {
  const Json* v = Member(tags, tag);
  if (v == nullptr) return;
  auto one = [&](const Json& x) {
    if (x.is_string()) {
      const std::string& s = x.get_ref<const std::string&>();
      if (kind == "nist" && s.rfind("Rev_", 0) == 0) return;  // MITRE's revision marker, not a control
      AddId(c, kind, s);
    } else if (x.is_number()) {
      AddId(c, kind, Text(&x));
    }
  };
  if (v->is_array()) {
    for (const Json& x : *v) {
      if (x.is_array()) {
        for (const Json& y : x) one(y);
      } else {
        one(x);
      }
    }
  } else {
    one(*v);
  }
}

bool LooksLikeUrl(std::string_view s) { return s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0; }

// refs: [{"ref": "...", "url": "..."}], sometimes {"uri": ...} or {"ref": [{...}]}: the first http(s) link.
std::string DocUrl(const Json& refs) {
  if (!refs.is_array()) return {};
  for (const Json& r : refs) {
    for (const char* k : {"url", "uri"}) {
      if (std::string u = Str(r, k); LooksLikeUrl(u)) return Bounded(u, 2048);
    }
    if (const Json* nested = Member(r, "ref"); nested != nullptr && nested->is_array()) {
      if (std::string u = DocUrl(*nested); !u.empty()) return u;
    }
  }
  return {};
}

// impact: a number 0..1, or (in hand-written data) a number as text or a severity name.
double Impact(const Json& c) {
  const double n = Num(c, "impact");
  if (std::isfinite(n)) return std::clamp(n, 0.0, 1.0);
  const std::string s = Str(c, "impact");
  if (s == "none") return 0.0;
  if (s == "low") return 0.3;
  if (s == "medium") return 0.5;
  if (s == "high") return 0.7;
  if (s == "critical") return 1.0;
  return -1;
}

// The status of a control from its folded results, impact and waiver (docs/compliance.md, the status table):
// error > not_applicable (impact 0) > not_reviewed (no results, or all skipped) > failed > passed.
Status StatusOf(const ResultFold& f, double impact) {
  if (f.errors > 0) return Status::kError;
  if (impact == 0.0) return Status::kNotApplicable;
  if (f.total == 0 || f.skipped == f.total) return Status::kNotReviewed;
  if (f.failed > 0) return Status::kFailed;
  return Status::kPassed;
}

void Collector::EndControl(const Json& j) {
  RawControl rc;
  rc.profile = profiles.size();  // the profile being read: its object ends after its controls
  rc.results = fold_.total;
  Control& c = rc.control;
  c.id = Bounded(Str(j, "id"), kMaxTitleBytes);
  c.title = Bounded(Str(j, "title"), kMaxTitleBytes);
  std::string desc = Str(j, "desc");
  if (const Json* descs = Member(j, "descriptions"); desc.empty() && descs != nullptr && descs->is_array()) {
    for (const Json& d : *descs) {
      if (Str(d, "label") == "default") desc = Str(d, "data");
    }
  }
  if (keep_text_) c.description = Bounded(Trim(desc), kMaxDescriptionBytes);
  c.impact = Impact(j);
  c.severity = c.impact < 0 ? Severity::kUnknown : SeverityFromImpact(c.impact);
  // Chef Infra's compliance phase truncates long result lists and counts what it removed.
  if (const Json* removed = Member(j, "removed_results_counts"); removed != nullptr && removed->is_object()) {
    auto count = [&](const char* k) {
      const double n = Num(*removed, k);
      return std::isfinite(n) && n > 0 ? static_cast<int>(std::min(n, 1e6)) : 0;
    };
    const int failed = count("failed"), skipped = count("skipped"), passed = count("passed");
    fold_.failed += failed;
    fold_.skipped += skipped;
    fold_.passed += passed;
    fold_.total += failed + skipped + passed;
  }
  c.duration_seconds = fold_.run_time;
  c.status = StatusOf(fold_, c.impact);
  if (const Json* w = Member(j, "waiver_data"); w != nullptr && w->is_object() && !w->empty()) {
    c.waiver_justification = Bounded(Str(*w, "justification"), kMaxMessageBytes);
    c.waiver_expires_unix = ParseTime(Str(*w, "expiration_date"));
    const std::string message = Str(*w, "message");
    const bool expired = message.find("expired") != std::string::npos;
    if (Truthy(Member(*w, "skipped_due_to_waiver"))) {
      c.status = Status::kWaived;
      c.waived = true;
    } else if (!expired && !c.waiver_justification.empty()) {
      c.waived = true;  // ran under a waiver: failed stays failed, with waived = true
    }
    if (expired) fold_.AddMessage(Bounded(Trim(message), kMaxMessageBytes));
  }
  if (const Json* tags = Member(j, "tags"); tags != nullptr && tags->is_object()) {
    AddTagIds(c, *tags, "gid", "stig");
    if (c.id.rfind("V-", 0) == 0) AddId(c, "stig", c.id);
    AddTagIds(c, *tags, "stig_id", "stig_id");
    AddTagIds(c, *tags, "rid", "rid");
    AddTagIds(c, *tags, "cis_rid", "cis");
    AddTagIds(c, *tags, "cis_control_number", "cis");
    AddTagIds(c, *tags, "cis", "cis");
    AddTagIds(c, *tags, "nist", "nist");
    AddTagIds(c, *tags, "cci", "cci");
    AddTagIds(c, *tags, "cce", "cce");
    AddTagIds(c, *tags, "cce_id", "cce");
    if (std::string u = Str(*tags, "url"); LooksLikeUrl(u)) c.doc_url = Bounded(u, 2048);
  }
  if (const Json* refs = Member(j, "refs"); refs != nullptr) {
    if (std::string u = DocUrl(*refs); !u.empty()) c.doc_url = std::move(u);
  }
  messages_dropped += fold_.messages_dropped;
  if (keep_text_) {
    c.messages = std::move(fold_.messages);
  } else if ((c.status == Status::kPassed || c.status == Status::kNotApplicable) &&
             c.waiver_expires_unix <= 0) {
    std::string().swap(c.title);
    std::string().swap(c.doc_url);
    std::string().swap(c.waiver_justification);
    std::vector<std::pair<std::string, std::string>>().swap(c.ids);
  }
  fold_ = ResultFold{};
  controls.push_back(std::move(rc));
}

void Collector::EndRow(const Json& row) {
  const bool result_like = Member(row, "status") != nullptr || Member(row, "code_desc") != nullptr;
  if (!result_like) {
    if (Member(row, "impact") != nullptr || Member(row, "title") != nullptr ||
        Member(row, "tags") != nullptr) {
      ++profile_like_rows;
    }
    return;
  }
  auto key = std::make_pair(Str(row, "profile_id"), Str(row, "id"));
  auto [it, fresh] = row_index.emplace(key, row_folds.size());
  if (fresh) {
    row_keys.push_back(key);
    row_folds.emplace_back();
  }
  FoldResult(row, row_folds[it->second]);
}

// --- after parsing: identity, de-duplication ---------------------------------------------------------------

// A profile listed twice has the same name and version (compliance_model.h); hand-edited reports give
// different profiles the same sha256, so it is not part of the key.
std::string ProfileKey(const RawProfile& p) { return p.name + '\n' + p.version; }

std::string ProfileLabel(const RawProfile& p) {
  if (!p.name.empty()) return p.name;
  if (!p.title.empty()) return p.title;
  return "unnamed";
}

// Only leaf controls with results count. A profile listed twice (same name and version) counts once: the key
// of a control is (profile, id). A copy without results is dropped when the id has results anywhere (the
// overlay and wrapper copies). Otherwise it is not_reviewed, once: in a dependency profile it is kept only
// through a wrapper that lists it (a dependency's control no wrapper includes was not selected), and a
// wrapper's copy of a dependency's control is credited to that dependency.
void BuildControls(Collector& col, Report& report) {
  std::vector<std::size_t> canon(col.profiles.size() + 1);
  std::map<std::string, std::size_t> by_key;
  std::vector<std::size_t> listed;  // canonical profile indexes in order
  for (std::size_t i = 0; i < col.profiles.size(); ++i) {
    auto [it, fresh] = by_key.emplace(ProfileKey(col.profiles[i]), i);
    canon[i] = it->second;
    if (fresh) listed.push_back(i);
  }
  canon[col.profiles.size()] = col.profiles.size();  // controls outside any profile (malformed): own bucket

  std::set<std::string> depended;
  for (const RawProfile& p : col.profiles) {
    for (const std::string& d : p.depends) {
      if (d != p.name) depended.insert(d);
    }
  }
  auto is_dependency = [&](std::size_t i) {
    if (i >= col.profiles.size()) return false;
    return !col.profiles[i].parent.empty() || depended.count(col.profiles[i].name) > 0;
  };

  std::set<std::string> with_results;
  // control id -> the dependency profile listing it, a leaf (one without depends) rather than a middle layer
  std::map<std::string, std::size_t> dependency_of;
  for (const RawControl& rc : col.controls) {
    if (rc.results > 0) with_results.insert(rc.control.id);
    const std::size_t p = canon[rc.profile];
    if (!is_dependency(p)) continue;
    auto [it, fresh] = dependency_of.emplace(rc.control.id, p);
    if (!fresh && !col.profiles[it->second].depends.empty() && col.profiles[p].depends.empty())
      it->second = p;
  }

  std::set<std::pair<std::size_t, std::string>> seen;
  std::map<std::size_t, int> counted;
  std::size_t overlay_copies = 0, repeated = 0, unselected = 0;
  for (RawControl& rc : col.controls) {
    std::size_t p = canon[rc.profile];
    if (rc.results == 0) {
      if (with_results.count(rc.control.id) > 0) {
        ++overlay_copies;
        continue;
      }
      if (is_dependency(p)) {
        ++unselected;  // counted below through the wrapper's copy, if a wrapper lists it
        continue;
      }
      if (auto d = dependency_of.find(rc.control.id); d != dependency_of.end()) p = d->second;
    }
    if (!seen.emplace(p, rc.control.id).second) {
      ++repeated;
      continue;
    }
    rc.control.profile = p < col.profiles.size() ? ProfileLabel(col.profiles[p]) : "unnamed";
    ++counted[p];
    report.controls.push_back(std::move(rc.control));
  }

  for (std::size_t i : listed) {
    const RawProfile& rp = col.profiles[i];
    Profile p;
    p.name = ProfileLabel(rp);
    p.version = rp.version;
    p.title = rp.title;
    p.status = rp.status.empty() ? "loaded" : rp.status;
    p.status_message = rp.status_message;
    p.controls = counted[i];
    report.profiles.push_back(std::move(p));
  }
  if (col.profiles.size() > listed.size()) {
    report.notes.push_back(std::to_string(col.profiles.size() - listed.size()) +
                           " profile(s) listed more than once counted once");
  }
  if (overlay_copies > 0) {
    report.notes.push_back(
        std::to_string(overlay_copies) +
        " overlay/wrapper control copies without results dropped (their results are the leaf's)");
  }
  if (repeated > 0) report.notes.push_back(std::to_string(repeated) + " repeated control(s) counted once");
  if (unselected > 0) {
    report.notes.push_back(std::to_string(unselected) +
                           " control(s) of dependency profiles that no wrapper ran (no results) not counted");
  }
}

void BuildFromRows(Collector& col, Report& report) {
  std::map<std::string, int> counted;
  std::vector<std::string> order;
  for (std::size_t i = 0; i < col.row_keys.size(); ++i) {
    ResultFold& f = col.row_folds[i];
    Control c;
    c.profile = col.row_keys[i].first.empty() ? "unnamed" : col.row_keys[i].first;
    c.id = Bounded(col.row_keys[i].second, kMaxTitleBytes);
    c.status = StatusOf(f, -1);
    c.duration_seconds = f.run_time;
    c.messages = std::move(f.messages);
    if (counted[c.profile]++ == 0) order.push_back(c.profile);
    report.controls.push_back(std::move(c));
  }
  for (const std::string& name : order) {
    Profile p;
    p.name = name;
    p.status = "loaded";
    p.controls = counted[name];
    report.profiles.push_back(std::move(p));
  }
  report.degraded = true;
  report.notes.push_back(
      "json-min: one row per result and no impacts, titles, waivers, platform or profile versions; severity "
      "is "
      "unknown, a waived or impact-0 control counts as not_reviewed (skipped) or by its results");
}

Result<Report> Build(Collector& col, const Json& root) {
  Report report;
  const bool automate = Member(root, "report_uuid") != nullptr || Member(root, "node_uuid") != nullptr ||
                        Str(root, "type") == "inspec_report";
  if (!col.saw_profiles) {
    const bool profile_root = Member(root, "name") != nullptr &&
                              (Member(root, "supports") != nullptr || Member(root, "sha256") != nullptr ||
                               Member(root, "maintainer") != nullptr);
    if ((col.profile_like_rows > 0 || profile_root) && col.row_keys.empty()) {
      return MakeError("an InSpec profile (inspec json), not results: run inspec exec --reporter json");
    }
    if (!col.saw_root_controls) {
      if (!Str(root, "message_type").empty()) {
        return MakeError("a Chef Infra data-collector message (" + Bounded(Str(root, "message_type"), 64) +
                         "), not a compliance report");
      }
      if (Member(root, "examples") != nullptr && Member(root, "summary") != nullptr) {
        return MakeError("an RSpec report (--reporter json-rspec), not InSpec results: use --reporter json");
      }
      if (Member(root, "$schema") != nullptr || Member(root, "definitions") != nullptr) {
        return MakeError("a JSON Schema, not a compliance report");
      }
      return MakeError("JSON without \"profiles\" or \"controls\": not an InSpec, Automate or HDF report");
    }
  }
  const Json* platform = Member(root, "platform");
  const std::string platform_name = platform ? Str(*platform, "name") : "";
  if (col.saw_profiles) {
    if (automate)
      report.format = Format::kAutomate;
    else if (col.saw_passthrough || col.saw_hdf_marks || platform_name == "Heimdall Tools")
      report.format = Format::kHdf;
    else
      report.format = Format::kInspecJson;
    BuildControls(col, report);
  } else {
    report.format = Format::kJsonMin;
    BuildFromRows(col, report);
  }

  if (platform != nullptr) {
    report.platform_name = platform_name;
    report.platform_release = Str(*platform, "release");
  }
  report.tool = "inspec";
  report.tool_version = Str(root, "version");
  if (platform_name == "Heimdall Tools") {
    // Converted from another tool: the "platform" is the converter, not a host.
    report.tool = platform_name;
    report.tool_version = report.platform_release;
    report.platform_name.clear();
    report.platform_release.clear();
  }
  if (std::string n = Str(root, "node_name"); !n.empty()) {
    report.host = Bounded(n, 256);
    report.host_source = "node_name";
  } else if (std::string t = platform ? Str(*platform, "target_id") : ""; !t.empty()) {
    report.host = Bounded(t, 256);
    report.host_source = "target_id";
  }
  report.time_unix = ParseTime(Str(root, "end_time"));
  if (report.time_unix == 0) report.time_unix = col.latest_start;
  if (const Json* stats = Member(root, "statistics"); stats != nullptr) {
    if (const double d = Num(*stats, "duration"); std::isfinite(d) && d >= 0) report.duration_seconds = d;
  }
  if (col.messages_dropped > 0) {
    report.notes.push_back(std::to_string(col.messages_dropped) + " result message(s) beyond " +
                           std::to_string(kMaxMessages) + " per control dropped");
  }
  return report;
}

}  // namespace

Result<Report> ParseInspecFamily(std::string_view body, const ParseLimits& limits) {
  const std::string family = "InSpec JSON";  // the family: exec JSON, Automate, HDF, json-min
  if (body.size() > limits.max_bytes) {
    return MakeError(family + ": " + std::to_string(body.size()) + " bytes, more than the limit of " +
                     std::to_string(limits.max_bytes));
  }
  if (Trim(body).empty()) return MakeError(family + ": empty");
  if (body.size() >= 2 &&
      ((body[0] == '\xff' && body[1] == '\xfe') || (body[0] == '\xfe' && body[1] == '\xff'))) {
    // PowerShell's ">" writes UTF-16: InSpec's own --reporter json:<file> writes UTF-8.
    return MakeError(family + ": UTF-16 text, not UTF-8 (write the report with --reporter json:<file>)");
  }
  try {
    Collector col(limits.keep_text);
    auto root = ParseJsonText(body, limits.max_depth, [&col](int depth, Event event, Json& parsed) {
      return col(depth, event, parsed);
    });
    if (!root) return MakeError(family + ": " + root.error());
    if (root->is_array()) {
      if (col.row_keys.empty() && col.profile_like_rows == 0) {
        return MakeError("JSON array without result rows: not an InSpec report");
      }
      col.saw_root_controls = true;
      return Build(col, Json::object());
    }
    if (!root->is_object())
      return MakeError("JSON " + std::string(root->type_name()) + ", not a report object");
    return Build(col, *root);
  } catch (const std::bad_alloc&) {
    return MakeError(family + ": too large to hold in memory (" + std::to_string(body.size()) + " bytes)");
  } catch (const std::exception& e) {
    return MakeError(family + ": " + Utf8Excerpt(e.what(), 200));
  }
}

}  // namespace estate::compliance
