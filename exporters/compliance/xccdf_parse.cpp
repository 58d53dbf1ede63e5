// OpenSCAP results: XCCDF 1.1 and 1.2 TestResult (standalone or inside its Benchmark, as `oscap xccdf eval
// --results` writes it) and ARF 1.1 (`--results-arf`: the evaluated data stream in report-requests, the
// TestResult in reports, the asset's names in assets).
//
// Untrusted input: a DOCTYPE (and so any ENTITY declaration) is refused before parsing, whatever it declares.
// pugixml would not expand entities anyway, but a file that tries is hostile or broken and the operator must
// hear about it. Input must be UTF-8 (oscap writes nothing else). Nesting is bounded; every walk below is
// iterative or bounded by the format's own shape, so no input can exhaust the stack.
//
// Result mapping (docs/compliance.md has the table):
//   pass -> passed, fixed -> passed (it failed and the scan remediated it; the system is compliant now)
//   fail -> failed
//   error -> error; unknown -> error: the check ran but its outcome cannot be interpreted, so the check (not
//   the
//     host) needs attention. Counting it as failed would blame the host; dropping it would hide a broken
//     check. It stays in the compliance ratio's denominator, as failed does. (compliance-operator maps it the
//     same.)
//   notapplicable -> not_applicable
//   notchecked -> not_reviewed (no automated check: manual review)
//   informational -> not_reviewed: the scanner reached no verdict, the output is for an auditor to read.
//     Counting it as passed would claim a compliance nobody asserted (the same reason notapplicable is not
//     passed).
//   notselected -> dropped (not in the evaluated profile; real results carry hundreds of them)
//   anything else -> error, with the unrecognised value as the control's message
// A rule with several rule-results (multi-check) takes the worst: failed > error > not_reviewed > passed >
// not_applicable.
#include "xccdf_parse.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>
#include <exception>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "estate/json_util.h"
#include "estate/time_util.h"

namespace estate::compliance {
namespace {

using pugi::xml_node;

constexpr std::size_t kMaxMessages = 8;
constexpr std::size_t kMaxMessageBytes = 1024;
constexpr std::size_t kMaxDescriptionBytes = 8 * 1024;
constexpr std::size_t kMaxTitleBytes = 512;
constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxIds = 32;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool Contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

// ---- the prolog, read by hand: refusal comes before pugixml sees the document ----

struct Prolog {
  bool doctype = false;  // <!DOCTYPE (and with it any <!ENTITY) before the root element
  bool entity = false;   // a bare <!ENTITY outside a DOCTYPE
  bool other = false;    // another declaration (<![CDATA[, <!ELEMENT) before the root: not a results file
  std::size_t root = std::string_view::npos;  // offset of the root element's '<'
  std::string_view encoding;                  // from <?xml ... encoding="..."?>, empty when not declared
};

Prolog ScanProlog(std::string_view s) {
  Prolog p;
  std::size_t i = StartsWith(s, kUtf8Bom) ? kUtf8Bom.size() : 0;
  for (;;) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i >= s.size() || s[i] != '<') return p;
    const std::string_view rest = s.substr(i);
    if (StartsWith(rest, "<?")) {
      const std::size_t end = rest.find("?>");
      if (end == std::string_view::npos) return p;
      const std::string_view pi = rest.substr(0, end);
      if (StartsWith(pi, "<?xml ")) {
        const std::size_t e = pi.find("encoding");
        if (e != std::string_view::npos) {
          std::size_t q = pi.find_first_of("\"'", e);
          if (q != std::string_view::npos) {
            const std::size_t close = pi.find(pi[q], q + 1);
            if (close != std::string_view::npos) p.encoding = pi.substr(q + 1, close - q - 1);
          }
        }
      }
      i += end + 2;
    } else if (StartsWith(rest, "<!--")) {
      const std::size_t end = rest.find("-->", 4);
      if (end == std::string_view::npos) return p;
      i += end + 3;
    } else if (StartsWith(rest, "<!")) {
      // <!DOCTYPE in any case: XML's is upper case, but a lower-case one is no less an attempt.
      std::string word(rest.substr(2, 7));
      for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (StartsWith(word, "DOCTYPE")) {
        p.doctype = true;
      } else if (StartsWith(word, "ENTITY")) {
        p.entity = true;
      } else {
        p.other = true;
      }
      return p;
    } else {
      p.root = i;
      return p;
    }
  }
}

Format FormatOfNamespace(std::string_view local, std::string_view ns) {
  if (local == "asset-report-collection") return Format::kArf;
  if (local != "Benchmark" && local != "TestResult") return Format::kUnknown;
  if (Contains(ns, "checklists.nist.gov/xccdf/1.1")) return Format::kXccdf11;
  if (Contains(ns, "checklists.nist.gov/xccdf")) return Format::kXccdf12;
  return Format::kUnknown;
}

std::string_view Local(std::string_view name) {
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// ---- pugixml helpers: producers differ in prefixes (cdf: in DISA SCC output, none in oscap's) ----

bool Is(xml_node n, std::string_view local) {
  return n.type() == pugi::node_element && Local(n.name()) == local;
}

xml_node Child(xml_node n, std::string_view local) {
  for (xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (Is(c, local)) return c;
  }
  return {};
}

template <typename F>
void EachChild(xml_node n, std::string_view local, F&& f) {
  for (xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (Is(c, local)) f(c);
  }
}

std::string_view Attr(xml_node n, const char* name) { return n.attribute(name).value(); }

// The namespace URI of an element: its prefix's (or the default) xmlns on it or the nearest ancestor.
std::string_view NamespaceOf(xml_node n) {
  const std::string_view name = n.name();
  const std::size_t colon = name.find(':');
  const std::string attr =
      colon == std::string_view::npos ? "xmlns" : "xmlns:" + std::string(name.substr(0, colon));
  for (xml_node a = n; a; a = a.parent()) {
    if (a.type() != pugi::node_element) continue;
    if (pugi::xml_attribute at = a.attribute(attr.c_str())) return at.value();
  }
  return {};
}

// Direct text (pcdata and CDATA children), trimmed.
std::string TextOf(xml_node n, std::size_t max) {
  std::string out;
  for (xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
    if (out.size() > max * 2) break;
  }
  return Utf8Excerpt(Trim(out), max);
}

// The deepest nesting (counting stops past limit) and whether pugixml found a DOCTYPE anywhere: the prolog
// check refuses the usual place; one after the root element is harmless but no less refused.
struct Shape {
  std::size_t depth = 0;
  bool doctype = false;
};

Shape ShapeOf(const pugi::xml_document& doc, std::size_t limit) {
  Shape shape;
  xml_node n = doc.first_child();
  std::size_t depth = 1;
  if (n) shape.depth = 1;
  while (n) {
    if (n.type() == pugi::node_doctype) shape.doctype = true;
    if (n.first_child()) {
      n = n.first_child();
      if (++depth > shape.depth && (shape.depth = depth) > limit) return shape;
      continue;
    }
    while (n && !n.next_sibling()) {
      n = n.parent();
      --depth;
      if (n == doc) return shape;
    }
    if (n) n = n.next_sibling();
  }
  return shape;
}

// ---- time ----

// xs:dateTime: YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM]. Without a zone (oscap before 1.3 writes none) the
// time is taken as UTC: documented, and the file's mtime is no better guess.
std::optional<double> ParseTime(std::string_view s) {
  const auto t = ParseIsoPrefix(Trim(s));
  if (!t || !t->has_seconds || t->year < 1970) return std::nullopt;
  return t->unix;
}

// ---- the benchmark's rules, for titles, descriptions and identifiers ----

struct RuleIndex {
  xml_node benchmark;
  std::unordered_map<std::string_view, xml_node> rules, values, profiles;
};

RuleIndex IndexBenchmark(xml_node benchmark) {
  RuleIndex idx;
  idx.benchmark = benchmark;
  if (!benchmark) return idx;
  std::vector<xml_node> stack{benchmark};
  while (!stack.empty()) {
    const xml_node n = stack.back();
    stack.pop_back();
    for (xml_node c = n.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view local = Local(c.name());
      const std::string_view id = Attr(c, "id");
      if (local == "Group") {
        stack.push_back(c);
      } else if (local == "Rule") {
        idx.rules.emplace(id, c);
      } else if (local == "Value") {
        idx.values.emplace(id, c);
      } else if (local == "Profile") {
        idx.profiles.emplace(id, c);
      }
    }
  }
  return idx;
}

using SetValues = std::unordered_map<std::string_view, std::string_view>;

// XHTML-bearing text (descriptions) as plain text: paragraphs and line breaks become newlines, runs of
// whitespace one space, <sub idref> the value the scan used.
std::string PlainText(xml_node n, const SetValues& set_values, const RuleIndex& idx, std::size_t max) {
  std::string raw;
  auto block = [&raw] {
    if (!raw.empty() && raw.back() != '\n') raw += '\n';
  };
  // Iterative walk of n's subtree.
  xml_node c = n.first_child();
  while (c && raw.size() < max * 4) {
    bool descend = false;
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      // Line breaks in the source are layout, not text, except inside <pre>.
      bool pre = false;
      for (xml_node a = c.parent(); a && a != n && !pre; a = a.parent()) pre = Local(a.name()) == "pre";
      const std::size_t from = raw.size();
      raw += c.value();
      if (!pre) std::replace(raw.begin() + static_cast<std::ptrdiff_t>(from), raw.end(), '\n', ' ');
    } else if (c.type() == pugi::node_element) {
      const std::string_view local = Local(c.name());
      if (local == "br") {
        raw += '\n';
      } else if (local == "sub") {
        const std::string_view ref = Attr(c, "idref");
        if (auto it = set_values.find(ref); it != set_values.end()) {
          raw += it->second;
        } else if (auto v = idx.values.find(ref); v != idx.values.end()) {
          xml_node chosen;
          EachChild(v->second, "value", [&chosen](xml_node val) {
            if (!chosen || !val.attribute("selector")) chosen = val;
          });
          raw += TextOf(chosen, kMaxIdBytes);
        } else {
          raw += ref;
        }
      } else {
        if (local == "p" || local == "li" || local == "pre" || local == "div" || local == "ul" ||
            local == "ol" || local == "table" || local == "tr") {
          block();
        }
        descend = static_cast<bool>(c.first_child());
      }
    }
    if (descend) {
      c = c.first_child();
      continue;
    }
    while (c && c != n && !c.next_sibling()) {
      c = c.parent();
      if (c != n && c.type() == pugi::node_element) {
        const std::string_view local = Local(c.name());
        if (local == "p" || local == "pre" || local == "div" || local == "li") block();
      }
    }
    if (!c || c == n) break;
    c = c.next_sibling();
  }
  // Normalise: collapse blanks within lines, trim lines, at most one empty line in a row.
  std::string out;
  out.reserve(std::min(raw.size(), max + 16));
  bool space = false;
  int newlines = 0;
  for (char ch : raw) {
    if (ch == '\n') {
      ++newlines;
      space = false;
      continue;
    }
    if (ch == ' ' || ch == '\t' || ch == '\r') {
      space = true;
      continue;
    }
    if (!out.empty()) {
      if (newlines > 0)
        out.append(newlines > 1 ? "\n\n" : "\n");
      else if (space)
        out += ' ';
    }
    newlines = 0;
    space = false;
    out += ch;
  }
  return Utf8Excerpt(out, max);
}

void AddId(std::vector<std::pair<std::string, std::string>>& ids, std::string kind, std::string_view value) {
  value = Trim(value);
  if (value.empty() || ids.size() >= kMaxIds) return;
  std::string v = Utf8Excerpt(value, kMaxIdBytes);
  for (const auto& [k, existing] : ids) {
    if (k == kind && existing == v) return;
  }
  ids.emplace_back(std::move(kind), std::move(v));
}

// <ident system="...">: CCE, CCI and DISA vulnerability ids; others are kept under their system's last word.
void AddIdent(std::vector<std::pair<std::string, std::string>>& ids, xml_node ident) {
  const std::string_view system = Attr(ident, "system");
  const std::string text = TextOf(ident, kMaxIdBytes);
  if (Contains(system, "cce") || StartsWith(text, "CCE-")) {
    AddId(ids, "cce", text);
  } else if (Contains(system, "cci") || StartsWith(text, "CCI-")) {
    AddId(ids, "cci", text);
  } else if (StartsWith(text, "V-") || StartsWith(text, "SV-") || Contains(system, "cyber.mil/legacy")) {
    AddId(ids, "stig", text);
  } else if (Contains(system, "cisecurity")) {
    AddId(ids, "cis", text);
  }
}

// <reference href="...">text</reference> of SSG rules: the href names the standard, the text the item. Kinds
// for documentation links: cis (a CIS Benchmark recommendation), cis_controls, stig_id (a STIG rule id such
// as RHEL-08-010010), srg, cci, nist (SP 800-53), anssi, pcidss; other standards are not kept.
void AddReference(std::vector<std::pair<std::string, std::string>>& ids, xml_node ref) {
  const std::string_view href = Attr(ref, "href");
  const std::string text = TextOf(ref, kMaxIdBytes);
  if (text.empty() || Contains(text, "\n")) return;
  if (StartsWith(text, "CCI-")) {
    AddId(ids, "cci", text);
  } else if (StartsWith(text, "SRG-")) {
    AddId(ids, "srg", text);
  } else if (Contains(href, "cisecurity.org/controls")) {
    AddId(ids, "cis_controls", text);
  } else if (Contains(href, "cisecurity.org")) {
    AddId(ids, "cis", text);
  } else if (Contains(href, "cyber.mil/stigs") || Contains(href, "iase.disa.mil/stigs")) {
    AddId(ids, "stig_id", text);
  } else if (Contains(href, "nist.gov") && Contains(href, "800-53")) {
    AddId(ids, "nist", text);
  } else if (Contains(href, "ssi.gouv.fr")) {
    AddId(ids, "anssi", text);
  } else if (Contains(href, "pcisecuritystandards.org")) {
    AddId(ids, "pcidss", text);
  }
}

// ---- one TestResult ----

int WorstRank(Status s) {
  switch (s) {
    case Status::kFailed:
      return 5;
    case Status::kError:
      return 4;
    case Status::kNotReviewed:
      return 3;
    case Status::kPassed:
      return 2;
    case Status::kNotApplicable:
      return 1;
    case Status::kWaived:
      return 0;
  }
  return 0;
}

struct Mapped {
  bool drop = false;
  Status status = Status::kError;
  const char* note = nullptr;  // a message explaining a mapping the user might not expect
};

Mapped MapResult(std::string_view r) {
  if (r == "pass") return {false, Status::kPassed, nullptr};
  if (r == "fail") return {false, Status::kFailed, nullptr};
  if (r == "error") return {false, Status::kError, nullptr};
  if (r == "unknown") {
    return {false, Status::kError,
            "XCCDF result unknown: the check ran but its outcome could not be interpreted"};
  }
  if (r == "notapplicable") return {false, Status::kNotApplicable, nullptr};
  if (r == "notchecked")
    return {false, Status::kNotReviewed, "XCCDF result notchecked: no automated check, review"};
  if (r == "informational") {
    return {false, Status::kNotReviewed, "XCCDF result informational: output for the auditor, no verdict"};
  }
  if (r == "fixed")
    return {false, Status::kPassed, "XCCDF result fixed: failed, then remediated by the scan"};
  if (r == "notselected") return {true, Status::kNotApplicable, nullptr};
  return {false, Status::kError, nullptr};
}

struct Run {
  Format format = Format::kXccdf12;
  Profile profile;
  std::vector<Control> controls;
  std::optional<double> start, end;
  std::string host;
  std::string tool, tool_version;
  std::size_t notselected = 0;
  std::size_t unrecognised = 0;
  bool metadata = false;
};

void ToolOf(xml_node tr, Run& run) {
  const std::string_view system = Trim(Attr(tr, "test-system"));
  if (StartsWith(system, "cpe:")) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= system.size() && parts.size() < 8; ++i) {
      if (i == system.size() || system[i] == ':') {
        parts.push_back(system.substr(start, i - start));
        start = i + 1;
      }
    }
    // cpe:/a:vendor:product:version (CPE 2.2) or cpe:2.3:a:vendor:product:version:... (CPE 2.3).
    const std::size_t product = parts.size() > 1 && parts[1] == "2.3" ? 4 : 3;
    if (parts.size() > product) {
      run.tool = parts[product] == "openscap" ? "oscap" : Utf8Excerpt(parts[product], 64);
      if (parts.size() > product + 1 && parts[product + 1] != "*" && parts[product + 1] != "-") {
        run.tool_version = Utf8Excerpt(parts[product + 1], 64);
      }
    }
  } else if (!system.empty()) {
    run.tool = Utf8Excerpt(system, 64);
  }
  // oscap before 1.2 wrote no test-system, but its TestResult ids say who wrote them.
  if (run.tool.empty() && StartsWith(Attr(tr, "id"), "xccdf_org.open-scap_testresult")) run.tool = "oscap";
}

std::string HostOf(xml_node tr, std::string_view asset_name) {
  std::string host = TextOf(Child(tr, "target"), 255);
  if (!host.empty()) return host;
  std::string fqdn, hostname;
  if (xml_node facts = Child(tr, "target-facts")) {
    EachChild(facts, "fact", [&](xml_node f) {
      const std::string_view name = Attr(f, "name");
      if (fqdn.empty() && name == "urn:xccdf:fact:asset:identifier:fqdn") fqdn = TextOf(f, 255);
      if (hostname.empty() && name == "urn:xccdf:fact:asset:identifier:host_name") hostname = TextOf(f, 255);
    });
  }
  if (!fqdn.empty()) return fqdn;
  if (!hostname.empty()) return hostname;
  if (!asset_name.empty()) return std::string(asset_name);
  std::string address;
  EachChild(tr, "target-address", [&address](xml_node a) {
    const std::string t = TextOf(a, 255);
    const bool loopback = StartsWith(t, "127.") || t == "::1" || t == "0:0:0:0:0:0:0:1";
    if (address.empty() && !loopback) address = t;
  });
  return address;
}

Run ParseTestResult(xml_node tr, xml_node enclosing_benchmark, const std::vector<xml_node>& benchmarks,
                    std::string_view asset_name) {
  Run run;
  run.format = FormatOfNamespace("TestResult", NamespaceOf(tr)) == Format::kXccdf11 ? Format::kXccdf11
                                                                                    : Format::kXccdf12;
  const xml_node bref = Child(tr, "benchmark");
  const std::string_view bref_id = Attr(bref, "id");
  xml_node benchmark = enclosing_benchmark;
  if (!benchmark) {
    for (xml_node b : benchmarks) {
      if (!bref_id.empty() && Attr(b, "id") == bref_id) benchmark = b;
    }
    if (!benchmark && !benchmarks.empty()) benchmark = benchmarks.front();
  }
  const RuleIndex idx = IndexBenchmark(benchmark);
  run.metadata = !idx.rules.empty();

  // Identity of the profile: its idref (absent = the benchmark's default profile, named by the benchmark).
  const std::string_view profile_ref = Trim(Attr(Child(tr, "profile"), "idref"));
  std::string_view benchmark_id = bref_id.empty() ? Attr(benchmark, "id") : bref_id;
  if (!profile_ref.empty())
    run.profile.name = Utf8Excerpt(profile_ref, kMaxIdBytes);
  else if (!Trim(benchmark_id).empty())
    run.profile.name = Utf8Excerpt(Trim(benchmark_id), kMaxIdBytes);
  else if (!Trim(Attr(tr, "id")).empty())
    run.profile.name = Utf8Excerpt(Trim(Attr(tr, "id")), kMaxIdBytes);
  else
    run.profile.name = "xccdf";
  run.profile.version = TextOf(Child(benchmark, "version"), 64);
  if (run.profile.version.empty()) run.profile.version = Utf8Excerpt(Trim(Attr(tr, "version")), 64);
  if (auto p = idx.profiles.find(profile_ref); p != idx.profiles.end()) {
    run.profile.title = TextOf(Child(p->second, "title"), kMaxTitleBytes);
  }
  if (run.profile.title.empty()) run.profile.title = TextOf(Child(benchmark, "title"), kMaxTitleBytes);
  run.profile.status = "loaded";

  run.start = ParseTime(Attr(tr, "start-time"));
  run.end = ParseTime(Attr(tr, "end-time"));
  run.host = HostOf(tr, asset_name);
  ToolOf(tr, run);

  SetValues set_values;
  EachChild(tr, "set-value",
            [&set_values](xml_node v) { set_values.emplace(Attr(v, "idref"), v.child_value()); });

  std::unordered_map<std::string_view, std::size_t> by_id;
  for (xml_node rr = tr.first_child(); rr; rr = rr.next_sibling()) {
    if (!Is(rr, "rule-result")) continue;
    const std::string_view idref = Trim(Attr(rr, "idref"));
    const std::string result = TextOf(Child(rr, "result"), 64);
    const Mapped m = MapResult(result);
    if (m.drop) {
      ++run.notselected;
      continue;
    }
    const auto rule_it = idx.rules.find(idref);
    const xml_node rule = rule_it == idx.rules.end() ? xml_node() : rule_it->second;

    Control fresh;
    auto [slot, inserted] = by_id.emplace(idref, run.controls.size());
    Control& c = inserted ? run.controls.emplace_back(std::move(fresh)) : run.controls[slot->second];
    auto add_message = [&c](std::string_view text) {
      text = Trim(text);
      if (text.empty() || c.messages.size() >= kMaxMessages) return;
      std::string line = Utf8Excerpt(text, kMaxMessageBytes);
      if (std::find(c.messages.begin(), c.messages.end(), line) == c.messages.end())
        c.messages.push_back(std::move(line));
    };
    if (inserted) {
      c.id = Utf8Excerpt(idref, kMaxIdBytes);
      c.profile = run.profile.name;
      c.status = m.status;
      std::string_view sev = Attr(rr, "severity");
      if (sev.empty()) sev = Attr(rule, "severity");
      c.severity = SeverityFromXccdf(Trim(sev));
      c.title = TextOf(Child(rule, "title"), kMaxTitleBytes);
      if (xml_node d = Child(rule, "description"))
        c.description = PlainText(d, set_values, idx, kMaxDescriptionBytes);
      AddId(c.ids, "xccdf", idref);
      // DISA STIG benchmarks: the Group is the vulnerability (V-xxxxx), the Rule's version the STIG id.
      if (rule) {
        const xml_node group = rule.parent();
        if (Is(group, "Group") && StartsWith(Attr(group, "id"), "V-"))
          AddId(c.ids, "stig", Attr(group, "id"));
        const std::string version = TextOf(Child(rule, "version"), kMaxIdBytes);
        if (!version.empty() && Contains(std::string_view(Attr(benchmark, "id")), "stig")) {
          AddId(c.ids, "stig_id", version);
        }
        EachChild(rule, "ident", [&c](xml_node i) { AddIdent(c.ids, i); });
        EachChild(rule, "reference", [&c](xml_node r) { AddReference(c.ids, r); });
      }
    } else if (WorstRank(m.status) > WorstRank(c.status)) {
      c.status = m.status;
    }
    EachChild(rr, "ident", [&c](xml_node i) { AddIdent(c.ids, i); });
    if (m.note != nullptr) add_message(m.note);
    if (m.status == Status::kError && m.note == nullptr && result != "error") {
      ++run.unrecognised;
      add_message("unrecognised XCCDF result '" + result + "'");
    }
    if (m.status != Status::kPassed && m.status != Status::kNotApplicable) {
      EachChild(rr, "message", [&](xml_node msg) { add_message(TextOf(msg, kMaxMessageBytes)); });
    }
  }
  run.profile.controls = static_cast<int>(run.controls.size());
  return run;
}

// ---- the document ----

struct Found {
  std::vector<std::pair<xml_node, std::string>> results;  // TestResult, the asset's name (ARF)
  std::vector<xml_node> benchmarks;                       // ARF: from report-requests
  bool enclosed = false;                                  // TestResults are children of the root Benchmark
};

std::string AssetName(xml_node device) {
  std::string name = TextOf(Child(device, "fqdn"), 255);
  if (name.empty()) name = TextOf(Child(device, "hostname"), 255);
  return name;
}

Result<Found> FindArf(xml_node root) {
  Found f;
  EachChild(Child(root, "report-requests"), "report-request", [&f](xml_node req) {
    const xml_node content = Child(req, "content");
    if (xml_node b = Child(content, "Benchmark")) f.benchmarks.push_back(b);
    EachChild(content, "data-stream-collection", [&f](xml_node dsc) {
      EachChild(dsc, "component", [&f](xml_node comp) {
        if (xml_node b = Child(comp, "Benchmark")) f.benchmarks.push_back(b);
      });
    });
  });
  std::unordered_map<std::string_view, std::string> assets;
  EachChild(Child(root, "assets"), "asset", [&assets](xml_node a) {
    if (xml_node device = Child(a, "computing-device")) assets.emplace(Attr(a, "id"), AssetName(device));
  });
  std::unordered_map<std::string_view, std::string_view> about;  // report id -> asset id
  EachChild(Child(root, "relationships"), "relationship", [&about](xml_node r) {
    if (Contains(Attr(r, "type"), "isAbout"))
      about.emplace(Attr(r, "subject"), Trim(Child(r, "ref").child_value()));
  });
  EachChild(Child(root, "reports"), "report", [&](xml_node report) {
    const xml_node content = Child(report, "content");
    std::string asset;
    if (auto a = about.find(Attr(report, "id")); a != about.end()) {
      if (auto n = assets.find(a->second); n != assets.end()) asset = n->second;
    }
    if (asset.empty() && assets.size() == 1) asset = assets.begin()->second;
    EachChild(content, "TestResult", [&](xml_node tr) { f.results.emplace_back(tr, asset); });
    EachChild(content, "Benchmark", [&](xml_node b) {
      EachChild(b, "TestResult", [&](xml_node tr) { f.results.emplace_back(tr, asset); });
      f.benchmarks.push_back(b);
    });
  });
  if (f.results.empty()) return MakeError("ARF: no XCCDF TestResult in arf:reports");
  return f;
}

Result<Report> ParseDocument(const char* data, std::size_t size, char* mutable_data,
                             const ParseLimits& limits) {
  const std::string_view text(data, size);
  if (size > limits.max_bytes) {
    return MakeError("XCCDF: " + std::to_string(size) + " bytes exceed the limit of " +
                     std::to_string(limits.max_bytes));
  }
  const Prolog prolog = ScanProlog(text);
  if (prolog.doctype) {
    return MakeError(
        "XCCDF: DOCTYPE refused (a document type declaration can define entities: XML bomb, "
        "external entity)");
  }
  if (prolog.entity) return MakeError("XCCDF: ENTITY declaration refused (XML bomb, external entity)");
  if (prolog.other) return MakeError("XCCDF: a declaration before the root element (not XML results)");
  if (prolog.root == std::string_view::npos) {
    return MakeError(Trim(text).empty() ? "XCCDF: empty document" : "XCCDF: no root element (not XML)");
  }
  for (std::size_t i = 0; i < size;) {
    if (static_cast<unsigned char>(data[i]) < 0x80) {
      if (data[i] == '\0') return MakeError("XCCDF: NUL byte at byte " + std::to_string(i));
      ++i;
      continue;
    }
    const std::size_t len = Utf8SequenceLength(text, i);
    if (len == 0) {
      std::string declared =
          prolog.encoding.empty() ? "" : " (declared encoding " + Utf8Excerpt(prolog.encoding, 32) + ")";
      return MakeError("XCCDF: invalid UTF-8 at byte " + std::to_string(i) + declared +
                       "; only UTF-8 is read");
    }
    i += len;
  }

  pugi::xml_document doc;
  // parse_doctype keeps a DOCTYPE as a node (never expanded: pugixml has no entity support) so that ShapeOf
  // finds one wherever it is.
  const unsigned options = pugi::parse_default | pugi::parse_doctype;
  const pugi::xml_parse_result r =
      mutable_data != nullptr ? doc.load_buffer_inplace(mutable_data, size, options, pugi::encoding_utf8)
                              : doc.load_buffer(data, size, options, pugi::encoding_utf8);
  if (!r) {
    // A document cut short fails at its end or leaves text that does not end a tag (pugixml reports the start
    // of the construct it could not finish, so the offset alone does not tell).
    const std::string_view trimmed = Trim(text);
    const bool at_end =
        static_cast<std::size_t>(r.offset) + 1 >= size || trimmed.empty() || trimmed.back() != '>';
    return MakeError(std::string("XCCDF: malformed XML at byte ") + std::to_string(r.offset) + " of " +
                     std::to_string(size) + ": " + r.description() + (at_end ? " (truncated?)" : ""));
  }
  const Shape shape = ShapeOf(doc, limits.max_depth);
  if (shape.doctype) return MakeError("XCCDF: DOCTYPE refused (found after the root element)");
  if (shape.depth > limits.max_depth) {
    return MakeError("XCCDF: XML nested deeper than " + std::to_string(limits.max_depth) + " levels");
  }

  const xml_node root = doc.document_element();
  const std::string_view local = Local(root.name());
  Report report;
  Found found;
  if (local == "asset-report-collection") {
    auto f = FindArf(root);
    if (!f) return MakeError(f.error());
    found = std::move(*f);
    report.format = Format::kArf;
  } else if (local == "Benchmark") {
    EachChild(root, "TestResult", [&found](xml_node tr) { found.results.emplace_back(tr, ""); });
    if (found.results.empty()) {
      return MakeError(
          "XCCDF: a Benchmark without TestResult (SCAP content, not results): evaluate it with "
          "oscap xccdf eval --results");
    }
    found.enclosed = true;
  } else if (local == "TestResult") {
    found.results.emplace_back(root, "");
  } else if (local == "data-stream-collection") {
    return MakeError(
        "XCCDF: an SCAP source data stream (content, not results): evaluate it with oscap xccdf "
        "eval --results-arf");
  } else {
    return MakeError("XML, but neither XCCDF results nor ARF (root element <" + Utf8Excerpt(root.name(), 64) +
                     ">)");
  }

  // Several TestResults (a results file evaluated twice, or several profiles): the newest per profile.
  std::vector<Run> runs;
  for (const auto& [tr, asset] : found.results) {
    Run run = ParseTestResult(tr, found.enclosed ? root : xml_node(), found.benchmarks, asset);
    auto same = std::find_if(runs.begin(), runs.end(),
                             [&run](const Run& o) { return o.profile.name == run.profile.name; });
    if (same == runs.end()) {
      runs.push_back(std::move(run));
    } else if (run.end.value_or(0) >= same->end.value_or(0)) {
      *same = std::move(run);
    }
  }

  std::size_t notselected = 0, unrecognised = 0;
  bool missing_metadata = false;
  std::optional<double> first_start;
  for (Run& run : runs) {
    if (report.format == Format::kUnknown) report.format = run.format;
    if (report.host.empty() && !run.host.empty()) {
      report.host = run.host;
      report.host_source = "xccdf_target";
    }
    if (report.tool.empty()) {
      report.tool = run.tool;
      report.tool_version = run.tool_version;
    }
    if (run.end && *run.end > report.time_unix) report.time_unix = *run.end;
    if (run.start && (!first_start || *run.start < *first_start)) first_start = run.start;
    notselected += run.notselected;
    unrecognised += run.unrecognised;
    if (!run.metadata && !run.controls.empty()) missing_metadata = true;
    report.profiles.push_back(std::move(run.profile));
    for (Control& c : run.controls) report.controls.push_back(std::move(c));
  }
  if (first_start && report.time_unix > 0 && report.time_unix >= *first_start) {
    report.duration_seconds = report.time_unix - *first_start;
  }
  if (notselected > 0)
    report.notes.push_back(std::to_string(notselected) + " notselected rule results dropped");
  if (unrecognised > 0) {
    report.notes.push_back(std::to_string(unrecognised) +
                           " rule results with an unrecognised value, counted as error");
  }
  if (missing_metadata) {
    report.notes.push_back("no Benchmark in the file: rule titles, descriptions and references are absent");
  }
  return report;
}

Result<Report> Guarded(const char* data, std::size_t size, char* mutable_data, const ParseLimits& limits) {
  try {
    return ParseDocument(data, size, mutable_data, limits);
  } catch (const std::exception& e) {  // bad_alloc on a huge document: an error, never a crash
    return MakeError(std::string("XCCDF: ") + e.what());
  }
}

}  // namespace

Format SniffXml(std::string_view text) {
  const Prolog p = ScanProlog(text);
  if (p.doctype || p.entity || p.other || p.root == std::string_view::npos) return Format::kUnknown;
  std::string_view tag = text.substr(p.root + 1);
  const std::size_t end = tag.find('>');
  if (end == std::string_view::npos) return Format::kUnknown;
  tag = tag.substr(0, end);
  std::size_t i = 0;
  while (i < tag.size() && !IsSpace(tag[i]) && tag[i] != '/') ++i;
  const std::string_view name = tag.substr(0, i);
  const std::size_t colon = name.find(':');
  const std::string want =
      colon == std::string_view::npos ? "xmlns" : "xmlns:" + std::string(name.substr(0, colon));
  std::string_view ns;
  // Attributes: name = "value" | 'value'.
  while (i < tag.size()) {
    while (i < tag.size() && (IsSpace(tag[i]) || tag[i] == '/')) ++i;
    const std::size_t name_start = i;
    while (i < tag.size() && tag[i] != '=' && !IsSpace(tag[i])) ++i;
    const std::string_view attr = tag.substr(name_start, i - name_start);
    while (i < tag.size() && (IsSpace(tag[i]) || tag[i] == '=')) ++i;
    if (i >= tag.size() || (tag[i] != '"' && tag[i] != '\'')) break;
    const std::size_t close = tag.find(tag[i], i + 1);
    if (close == std::string_view::npos) break;
    if (attr == want) ns = tag.substr(i + 1, close - i - 1);
    i = close + 1;
  }
  return FormatOfNamespace(Local(name), ns);
}

Result<Report> ParseXccdfFamily(std::string_view body, const ParseLimits& limits) {
  return Guarded(body.data(), body.size(), nullptr, limits);
}

Result<Report> ParseXccdfOwned(std::string text, const ParseLimits& limits) {
  return Guarded(text.data(), text.size(), text.data(), limits);
}

}  // namespace estate::compliance
