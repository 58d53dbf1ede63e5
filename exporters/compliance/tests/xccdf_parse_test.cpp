// The XML family (XCCDF 1.1/1.2 results, ARF, bzip2) and format detection: the shared OpenSCAP fixtures with
// the counts their MANIFEST gives, the status mapping, identity and metadata, and hostile or broken input.
#include <bzlib.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "estate/testing/golden.h"
#include "report_parse.h"

namespace estate::compliance {
namespace {

namespace fs = std::filesystem;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Bzip2(const std::string& in) {
  unsigned int size = static_cast<unsigned int>(in.size() + in.size() / 100 + 600);
  std::string out(size, '\0');
  const int rc = BZ2_bzBuffToBuffCompress(out.data(), &size, const_cast<char*>(in.data()),
                                          static_cast<unsigned int>(in.size()), 9, 0, 0);
  EXPECT_EQ(rc, BZ_OK);
  out.resize(size);
  return out;
}

std::map<std::string, int> CountStatuses(const Report& r) {
  std::map<std::string, int> counts;
  for (const Control& c : r.controls) ++counts[StatusName(c.status)];
  return counts;
}

const Control* Find(const Report& r, const std::string& id) {
  for (const Control& c : r.controls) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

bool HasId(const Control& c, const std::string& kind, const std::string& value) {
  for (const auto& [k, v] : c.ids) {
    if (k == kind && v == value) return true;
  }
  return false;
}

// A results file as oscap writes it, with the TestResult's rule-results given.
std::string Xccdf12(const std::string& rule_results, const std::string& extra_rules = "") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" xmlns:xhtml="http://www.w3.org/1999/xhtml" id="xccdf_t_benchmark_b">
  <title>T benchmark</title>
  <version>2.1</version>
  <Profile id="xccdf_t_profile_p"><title>The P profile</title></Profile>
  <Group id="xccdf_t_group_g">
    <Rule id="xccdf_t_rule_a" severity="high">
      <title>Rule A</title>
      <description>Set <xhtml:code>X</xhtml:code>
        to <sub idref="xccdf_t_value_v"/>.<xhtml:br/>Then   restart:<xhtml:pre>a
b</xhtml:pre></description>
      <reference href="https://www.cisecurity.org/benchmark/debian_linux/">1.2.3</reference>
      <reference href="https://www.cisecurity.org/controls/">4.8</reference>
      <reference href="https://public.cyber.mil/stigs/cci/">CCI-000366</reference>
      <reference href="https://public.cyber.mil/stigs/downloads/?_dl_facet_stigs=operating-systems%2Cunix-linux">RHEL-08-010550</reference>
      <reference href="https://public.cyber.mil/stigs/downloads/?_dl_facet_stigs=operating-systems%2Cgeneral-purpose-os">SRG-OS-000480-GPOS-00227</reference>
      <reference href="http://nvlpubs.nist.gov/nistpubs/SpecialPublications/NIST.SP.800-53r4.pdf">CM-6(a)</reference>
      <reference href="http://www.ssi.gouv.fr/administration/bonnes-pratiques/">BP28(R10)</reference>
      <reference href="https://www.iso.org/standard/54534.html">4.3.3.5.8</reference>
      <ident system="https://nvd.nist.gov/cce/index.cfm">CCE-1234-5</ident>
    </Rule>
    <Value id="xccdf_t_value_v"><value>7</value><value selector="long">30</value></Value>
  </Group>)" +
         extra_rules +
         R"(
  <TestResult id="xccdf_org.open-scap_testresult_xccdf_t_profile_p" start-time="2026-12-04T10:00:00+01:00"
      end-time="2026-12-04T10:00:42+01:00" test-system="cpe:/a:redhat:openscap:1.3.7" version="2.1">
    <benchmark href="b.xml" id="xccdf_t_benchmark_b"/>
    <profile idref="xccdf_t_profile_p"/>
    <target>web-01.example</target>
    <target-address>127.0.0.1</target-address>
    <set-value idref="xccdf_t_value_v">9</set-value>
)" + rule_results +
         R"(
  </TestResult>
</Benchmark>
)";
}

std::string RuleResult(const std::string& id, const std::string& result, const std::string& extra = "") {
  return "<rule-result idref=\"" + id + "\" severity=\"medium\"><result>" + result + "</result>" + extra +
         "</rule-result>\n";
}

// ---- the shared fixtures (../shared/fixtures/compliance/xccdf) ----

// The MANIFEST's "result status" column of each XCCDF file: counts of rule-result/result values.
std::map<std::string, std::map<std::string, int>> ManifestResultCounts() {
  std::map<std::string, std::map<std::string, int>> out;
  std::istringstream manifest(Read(testing::FixturesDir() + "/compliance/MANIFEST.md"));
  std::string line, section;
  const std::regex pair(R"('([a-z_]+)': (\d+))");
  while (std::getline(manifest, line)) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    if (section.rfind("xccdf/", 0) != 0 || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, '|')) cells.push_back(cell);
    // cells[0] is before the first '|': file is 1, result status 10.
    if (cells.size() < 11) continue;
    const std::string name =
        cells[1].substr(cells[1].find('`') + 1, cells[1].rfind('`') - cells[1].find('`') - 1);
    const std::string file = section.substr(0, section.find_last_not_of(" /") + 1) + "/" + name;
    auto& counts = out[file];
    for (std::sregex_iterator it(cells[10].begin(), cells[10].end(), pair), end; it != end; ++it) {
      counts[(*it)[1]] = std::stoi((*it)[2]);
    }
  }
  return out;
}

// XCCDF result -> our status (xccdf_parse.cpp's table; notselected is dropped).
const char* OurStatus(const std::string& xccdf) {
  static const std::map<std::string, const char*> kMap = {{"pass", "passed"},
                                                          {"fixed", "passed"},
                                                          {"fail", "failed"},
                                                          {"error", "error"},
                                                          {"unknown", "error"},
                                                          {"notapplicable", "not_applicable"},
                                                          {"notchecked", "not_reviewed"},
                                                          {"informational", "not_reviewed"},
                                                          {"notselected", nullptr}};
  auto it = kMap.find(xccdf);
  return it == kMap.end() ? "error" : it->second;
}

TEST(XccdfFixtures, EveryFileMatchesItsManifestCounts) {
  if (!testing::HaveFixtures("compliance/xccdf")) GTEST_SKIP() << "no shared fixtures";
  const auto manifest = ManifestResultCounts();
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(testing::FixturesDir() + "/compliance/xccdf")) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), testing::FixturesDir() + "/compliance").string();
    SCOPED_TRACE(rel);
    auto row = manifest.find(rel);
    ASSERT_NE(row, manifest.end()) << "no MANIFEST row";
    auto report = ParseReport(Read(entry.path()));
    ASSERT_TRUE(report.ok()) << report.error();
    std::map<std::string, int> expected;
    for (const auto& [xccdf, n] : row->second) {
      if (const char* ours = OurStatus(xccdf)) expected[ours] += n;
    }
    EXPECT_EQ(CountStatuses(*report), expected);
    const int dropped = row->second.count("notselected") ? row->second.at("notselected") : 0;
    if (dropped > 0) {
      ASSERT_FALSE(report->notes.empty());
      EXPECT_EQ(report->notes.front(), std::to_string(dropped) + " notselected rule results dropped");
    }
    ++files;
  }
  EXPECT_EQ(files, 5);
  EXPECT_EQ(manifest.size(), 5u);
}

TEST(XccdfFixtures, ArfResolvesRulesFromTheEmbeddedDataStream) {
  if (!testing::HaveFixtures("compliance/xccdf/openscap")) GTEST_SKIP() << "no shared fixtures";
  auto r =
      ParseReport(Read(testing::FixturesDir() + "/compliance/xccdf/openscap/test_xccdf_overrides.arf.xml"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->format, Format::kArf);
  EXPECT_EQ(r->host, "localhost.localdomain");
  EXPECT_EQ(r->host_source, "xccdf_target");
  EXPECT_EQ(r->tool, "oscap");  // no test-system attribute: from the open-scap TestResult id
  ASSERT_EQ(r->profiles.size(), 1u);
  EXPECT_EQ(r->profiles[0].name, "xccdf_org.ssgproject.content_profile_common");
  EXPECT_EQ(r->profiles[0].status, "loaded");
  EXPECT_EQ(r->profiles[0].controls, 24);
  EXPECT_FALSE(r->profiles[0].title.empty());
  EXPECT_DOUBLE_EQ(r->time_unix, 1413536875);  // 2014-10-17T09:07:55, no zone: UTC
  EXPECT_DOUBLE_EQ(r->duration_seconds, 12);
  std::map<std::string, int> severities;
  for (const Control& c : r->controls) {
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.description.empty()) << c.id;
    EXPECT_EQ(c.profile, r->profiles[0].name);
    EXPECT_TRUE(HasId(c, "xccdf", c.id));
    EXPECT_EQ(c.description.find('<'), std::string::npos) << c.description;
    ++severities[SeverityName(c.severity)];
  }
  EXPECT_GT(severities["high"] + severities["medium"] + severities["low"], 0);
  EXPECT_EQ(
      DetectFormat(Read(testing::FixturesDir() + "/compliance/xccdf/openscap/test_xccdf_overrides.arf.xml")),
      Format::kArf);
}

TEST(XccdfFixtures, Xccdf11BenchmarkWithResults) {
  if (!testing::HaveFixtures("compliance/xccdf/openscap")) GTEST_SKIP() << "no shared fixtures";
  const std::string text = Read(testing::FixturesDir() + "/compliance/xccdf/openscap/xccdf11-results.xml");
  EXPECT_EQ(DetectFormat(text), Format::kXccdf11);
  auto r = ParseReport(text);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->format, Format::kXccdf11);
  EXPECT_EQ(r->host, "mars");
  ASSERT_EQ(r->profiles.size(), 1u);
  EXPECT_EQ(r->profiles[0].name, "RHEL-6");  // no profile element: the benchmark's default profile
  EXPECT_EQ(r->profiles[0].version, "0.1");
  ASSERT_EQ(r->controls.size(), 1u);
  EXPECT_EQ(r->controls[0].title, "Disable SSH Server If Possible (Unusual)");
  EXPECT_EQ(r->controls[0].severity, Severity::kLow);
  EXPECT_EQ(r->controls[0].status, Status::kPassed);
}

TEST(XccdfFixtures, EveryRuleNotSelectedIsNoFailure) {
  if (!testing::HaveFixtures("compliance/xccdf/openscap")) GTEST_SKIP() << "no shared fixtures";
  auto r = ParseReport(Read(testing::FixturesDir() + "/compliance/xccdf/openscap/results-xccdf.xml"));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->controls.empty());
  EXPECT_EQ(r->host, "some.target.somewhere.org");
  ASSERT_EQ(r->profiles.size(), 1u);
  EXPECT_EQ(r->profiles[0].controls, 0);
}

TEST(XccdfFixtures, BzipCompressedArf) {
  if (!testing::HaveFixtures("compliance/xccdf/openscap")) GTEST_SKIP() << "no shared fixtures";
  const std::string plain =
      Read(testing::FixturesDir() + "/compliance/xccdf/openscap/test_xccdf_overrides.arf.xml");
  const std::string compressed = Bzip2(plain);
  EXPECT_EQ(DetectFormat(compressed), Format::kArf);
  auto a = ParseReport(plain);
  auto b = ParseReport(compressed);
  ASSERT_TRUE(a.ok() && b.ok()) << (b.ok() ? a.error() : b.error());
  EXPECT_EQ(CountStatuses(*a), CountStatuses(*b));
  EXPECT_EQ(b->format, Format::kArf);
  EXPECT_EQ(b->host, a->host);
}

// ---- mapping, identity, metadata ----

TEST(XccdfParse, MapsEveryResultValue) {
  const std::string doc = Xccdf12(RuleResult("r_pass", "pass") + RuleResult("r_fail", "fail") +
                                  RuleResult("r_error", "error") + RuleResult("r_unknown", "unknown") +
                                  RuleResult("r_na", "notapplicable") + RuleResult("r_nc", "notchecked") +
                                  RuleResult("r_info", "informational") + RuleResult("r_fixed", "fixed") +
                                  RuleResult("r_ns", "notselected") + RuleResult("r_bogus", "maybe"));
  auto r = ParseReport(doc);
  ASSERT_TRUE(r.ok()) << r.error();
  const std::map<std::string, Status> want = {
      {"r_pass", Status::kPassed},      {"r_fail", Status::kFailed},      {"r_error", Status::kError},
      {"r_unknown", Status::kError},    {"r_na", Status::kNotApplicable}, {"r_nc", Status::kNotReviewed},
      {"r_info", Status::kNotReviewed}, {"r_fixed", Status::kPassed},     {"r_bogus", Status::kError}};
  EXPECT_EQ(r->controls.size(), want.size());
  for (const auto& [id, status] : want) {
    const Control* c = Find(*r, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_EQ(c->status, status) << id;
    EXPECT_EQ(c->severity, Severity::kMedium) << id;
  }
  EXPECT_EQ(Find(*r, "r_ns"), nullptr);
  ASSERT_FALSE(Find(*r, "r_bogus")->messages.empty());
  EXPECT_EQ(Find(*r, "r_bogus")->messages[0], "unrecognised XCCDF result 'maybe'");
  EXPECT_FALSE(Find(*r, "r_unknown")->messages.empty());
  EXPECT_TRUE(Find(*r, "r_pass")->messages.empty());
}

TEST(XccdfParse, IdentityTimeToolAndProfile) {
  auto r = ParseReport(
      Xccdf12(RuleResult("xccdf_t_rule_a", "fail", "<message severity=\"info\">X is 3</message>")));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->format, Format::kXccdf12);
  EXPECT_EQ(r->host, "web-01.example");
  EXPECT_EQ(r->host_source, "xccdf_target");
  EXPECT_EQ(r->tool, "oscap");
  EXPECT_EQ(r->tool_version, "1.3.7");
  EXPECT_DOUBLE_EQ(r->time_unix, 1796374842);  // 2026-12-04T09:00:42Z
  EXPECT_DOUBLE_EQ(r->duration_seconds, 42);
  ASSERT_EQ(r->profiles.size(), 1u);
  EXPECT_EQ(r->profiles[0].name, "xccdf_t_profile_p");
  EXPECT_EQ(r->profiles[0].version, "2.1");
  EXPECT_EQ(r->profiles[0].title, "The P profile");
  EXPECT_EQ(r->profiles[0].controls, 1);
  ASSERT_EQ(r->controls.size(), 1u);
  const Control& c = r->controls[0];
  EXPECT_EQ(c.title, "Rule A");
  EXPECT_EQ(c.description, "Set X to 9.\nThen restart:\na\nb");  // the scan's set-value, not the default
  EXPECT_EQ(c.severity, Severity::kMedium);  // rule-result's severity wins over the Rule's
  const std::vector<std::pair<std::string, std::string>> ids = {{"xccdf", "xccdf_t_rule_a"},
                                                                {"cce", "CCE-1234-5"},
                                                                {"cis", "1.2.3"},
                                                                {"cis_controls", "4.8"},
                                                                {"cci", "CCI-000366"},
                                                                {"stig_id", "RHEL-08-010550"},
                                                                {"srg", "SRG-OS-000480-GPOS-00227"},
                                                                {"nist", "CM-6(a)"},
                                                                {"anssi", "BP28(R10)"}};
  EXPECT_EQ(c.ids, ids);  // ISO 27001 is not kept
  EXPECT_TRUE(HasId(c, "cce", "CCE-1234-5"));
  EXPECT_TRUE(HasId(c, "xccdf", "xccdf_t_rule_a"));
  EXPECT_EQ(c.messages, std::vector<std::string>{"X is 3"});
  EXPECT_TRUE(r->notes.empty());
}

TEST(XccdfParse, ByteOrderMarkAndLeadingBlanks) {
  auto r = ParseReport("\xEF\xBB\xBF\n  " + Xccdf12(RuleResult("xccdf_t_rule_a", "pass")));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->controls.size(), 1u);
}

TEST(XccdfParse, SeverityFallsBackToTheRule) {
  auto r = ParseReport(Xccdf12("<rule-result idref=\"xccdf_t_rule_a\"><result>pass</result></rule-result>"));
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->controls.size(), 1u);
  EXPECT_EQ(r->controls[0].severity, Severity::kHigh);
}

TEST(XccdfParse, RepeatedRuleResultsTakeTheWorst) {
  auto r = ParseReport(Xccdf12(RuleResult("m", "pass") + RuleResult("m", "fail") + RuleResult("m", "pass") +
                               RuleResult("n", "notapplicable") + RuleResult("n", "pass")));
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->controls.size(), 2u);
  EXPECT_EQ(Find(*r, "m")->status, Status::kFailed);
  EXPECT_EQ(Find(*r, "n")->status, Status::kPassed);
}

TEST(XccdfParse, StandaloneTestResultWithFallbackHost) {
  const std::string doc =
      R"(<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="tr1" end-time="2026-01-01T00:00:00Z">
  <benchmark id="xccdf_x_benchmark_y"/>
  <target-address>127.0.0.1</target-address><target-address>10.1.2.3</target-address>
  <target-facts><fact name="urn:xccdf:fact:asset:identifier:fqdn" type="string">db-7.example</fact></target-facts>
  <rule-result idref="r1"><result>fail</result></rule-result>
</TestResult>)";
  auto r = ParseReport(doc);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->host, "db-7.example");
  EXPECT_EQ(r->profiles[0].name, "xccdf_x_benchmark_y");
  EXPECT_EQ(r->duration_seconds, -1);  // no start-time
  EXPECT_EQ(r->tool, "");
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_NE(r->notes[0].find("no Benchmark"), std::string::npos);

  const std::string no_facts = std::regex_replace(doc, std::regex("<target-facts>.*</target-facts>"), "");
  auto r2 = ParseReport(no_facts);
  ASSERT_TRUE(r2.ok()) << r2.error();
  EXPECT_EQ(r2->host, "10.1.2.3");  // loopback skipped
}

TEST(XccdfParse, PrefixedNamespaceAsDisaSccWritesIt) {
  const std::string doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- DISA SCAP Compliance Checker -->
<cdf:Benchmark xmlns:cdf="http://checklists.nist.gov/xccdf/1.2" id="xccdf_mil.disa.stig_benchmark_X_STIG">
  <cdf:Group id="V-71849"><cdf:Rule id="SV-86473r3_rule" severity="high"><cdf:version>RHEL-07-010010</cdf:version>
    <cdf:title>Perms</cdf:title><cdf:ident system="http://cyber.mil/cci">CCI-001494</cdf:ident></cdf:Rule></cdf:Group>
  <cdf:TestResult id="t" end-time="2026-01-01T00:00:00" test-system="cpe:/a:spawar:scc:5.4">
    <cdf:target>ws-3</cdf:target>
    <cdf:rule-result idref="SV-86473r3_rule"><cdf:result>fail</cdf:result></cdf:rule-result>
  </cdf:TestResult>
</cdf:Benchmark>)";
  EXPECT_EQ(DetectFormat(doc), Format::kXccdf12);
  auto r = ParseReport(doc);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->host, "ws-3");
  EXPECT_EQ(r->tool, "scc");
  EXPECT_EQ(r->tool_version, "5.4");
  ASSERT_EQ(r->controls.size(), 1u);
  const Control& c = r->controls[0];
  EXPECT_EQ(c.title, "Perms");
  EXPECT_EQ(c.severity, Severity::kHigh);
  EXPECT_TRUE(HasId(c, "stig", "V-71849"));
  EXPECT_TRUE(HasId(c, "stig_id", "RHEL-07-010010"));
  EXPECT_TRUE(HasId(c, "cci", "CCI-001494"));
}

TEST(XccdfParse, SeveralTestResultsKeepTheNewestPerProfile) {
  const std::string doc = R"(<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b">
<TestResult id="t1" end-time="2026-01-01T00:00:00Z"><profile idref="p"/><target>h</target>
  <rule-result idref="r"><result>fail</result></rule-result></TestResult>
<TestResult id="t2" end-time="2026-01-02T00:00:00Z"><profile idref="p"/><target>h</target>
  <rule-result idref="r"><result>pass</result></rule-result></TestResult>
<TestResult id="t3" end-time="2026-01-01T12:00:00Z"><profile idref="q"/><target>h</target>
  <rule-result idref="r"><result>fail</result></rule-result></TestResult>
</Benchmark>)";
  auto r = ParseReport(doc);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->profiles.size(), 2u);
  ASSERT_EQ(r->controls.size(), 2u);
  EXPECT_EQ(r->controls[0].profile, "p");
  EXPECT_EQ(r->controls[0].status, Status::kPassed);
  EXPECT_EQ(r->controls[1].profile, "q");
  EXPECT_EQ(r->controls[1].status, Status::kFailed);
  EXPECT_DOUBLE_EQ(r->time_unix, 1767312000);  // 2026-01-02
}

TEST(XccdfParse, ContentThatIsNotResults) {
  auto benchmark = ParseReport(
      R"(<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="b"><Rule id="r"/></Benchmark>)");
  ASSERT_FALSE(benchmark.ok());
  EXPECT_NE(benchmark.error().find("without TestResult"), std::string::npos) << benchmark.error();
  auto ds =
      ParseReport(R"(<ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2"/>)");
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.error().find("data stream"), std::string::npos) << ds.error();
  auto other = ParseReport("<html><body>hi</body></html>");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("<html>"), std::string::npos) << other.error();
  auto arf = ParseReport(
      R"(<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1"><arf:reports/></arf:asset-report-collection>)");
  ASSERT_FALSE(arf.ok());
  EXPECT_NE(arf.error().find("no XCCDF TestResult"), std::string::npos) << arf.error();
}

// A small ARF of our own: the benchmark in report-requests, the asset named by relationship.
std::string SmallArf() {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1"
    xmlns:core="http://scap.nist.gov/schema/reporting-core/1.1" xmlns:ai="http://scap.nist.gov/schema/asset-identification/1.1">
  <core:relationships><core:relationship type="arfrel:isAbout" subject="xccdf1"><core:ref>asset1</core:ref></core:relationship></core:relationships>
  <arf:report-requests><arf:report-request id="c1"><arf:content>
    <ds:data-stream-collection xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2"><ds:component id="x">
      <Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_t_benchmark_b"><version>3</version>
        <Rule id="xccdf_t_rule_a" severity="low"><title>Rule A</title></Rule></Benchmark>
    </ds:component></ds:data-stream-collection></arf:content></arf:report-request></arf:report-requests>
  <arf:assets>
    <arf:asset id="asset0"><ai:computing-device><ai:fqdn>other.example</ai:fqdn></ai:computing-device></arf:asset>
    <arf:asset id="asset1"><ai:computing-device><ai:hostname>app-9</ai:hostname></ai:computing-device></arf:asset>
  </arf:assets>
  <arf:reports><arf:report id="xccdf1"><arf:content>
    <TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t" end-time="2026-01-01T00:00:00Z">
      <benchmark id="xccdf_t_benchmark_b"/>
      <rule-result idref="xccdf_t_rule_a"><result>fail</result></rule-result>
    </TestResult></arf:content></arf:report></arf:reports>
</arf:asset-report-collection>
)";
}

TEST(XccdfParse, ArfOfOurOwnPlainAndBzip2) {
  for (const std::string& body : {SmallArf(), Bzip2(SmallArf()), Bzip2(SmallArf()) + Bzip2("\n")}) {
    EXPECT_EQ(DetectFormat(body), Format::kArf);
    auto r = ParseReport(body);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->format, Format::kArf);
    EXPECT_EQ(r->host, "app-9");  // no target: the asset the report is about
    EXPECT_EQ(r->profiles[0].name, "xccdf_t_benchmark_b");
    EXPECT_EQ(r->profiles[0].version, "3");
    ASSERT_EQ(r->controls.size(), 1u);
    EXPECT_EQ(r->controls[0].title, "Rule A");
    EXPECT_EQ(r->controls[0].severity, Severity::kLow);
    EXPECT_EQ(r->controls[0].status, Status::kFailed);
  }
}

// ---- hostile and broken input ----

TEST(XccdfParse, XmlBombRefused) {
  const std::string bomb = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t"><target>&lol9;</target></TestResult>)";
  auto r = ParseReport(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("DOCTYPE refused"), std::string::npos) << r.error();
  auto compressed = ParseReport(Bzip2(bomb));
  ASSERT_FALSE(compressed.ok());
  EXPECT_NE(compressed.error().find("DOCTYPE refused"), std::string::npos) << compressed.error();
  EXPECT_EQ(DetectFormat(bomb), Format::kUnknown);
}

TEST(XccdfParse, ExternalEntityRefused) {
  const std::string xxe = R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment first does not hide it -->
<!doctype TestResult [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t"><target>&xxe;</target></TestResult>)";
  auto r = ParseReport(xxe);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("DOCTYPE refused"), std::string::npos) << r.error();
  auto bare = ParseReport("<!ENTITY x SYSTEM \"file:///etc/passwd\"><TestResult/>");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.error().find("ENTITY declaration refused"), std::string::npos) << bare.error();
  // An entity reference without a declaration is not expanded: it stays text, nothing is read.
  auto undeclared = ParseReport(
      R"(<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t"><target>&xxe;</target></TestResult>)");
  ASSERT_TRUE(undeclared.ok()) << undeclared.error();
  EXPECT_EQ(undeclared->host, "&xxe;");
}

TEST(XccdfParse, DoctypeInsideTheDocumentIsNotAccepted) {
  const std::string open = R"(<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t">)";
  EXPECT_FALSE(ParseReport(open + R"(<!DOCTYPE x [<!ENTITY a "b">]><target>&a;</target></TestResult>)").ok());
  EXPECT_FALSE(ParseReport(open + R"(<target>h</target></TestResult><!DOCTYPE x [<!ENTITY a "b">]>)").ok());
  EXPECT_FALSE(ParseReport(open + R"(<!ENTITY a "b"><target>h</target></TestResult>)").ok());
  auto cdata = ParseReport("<![CDATA[x]]>" + open + "</TestResult>");
  ASSERT_FALSE(cdata.ok());
  EXPECT_NE(cdata.error().find("declaration before the root"), std::string::npos) << cdata.error();
}

TEST(XccdfParse, TruncatedGarbageEmptyAndNonUtf8) {
  const std::string doc = Xccdf12(RuleResult("xccdf_t_rule_a", "pass"));
  auto truncated = ParseReport(doc.substr(0, doc.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("malformed XML"), std::string::npos) << truncated.error();
  EXPECT_NE(truncated.error().find("truncated?"), std::string::npos) << truncated.error();

  auto garbage = ParseReport("\x01\x02garbage\xff");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().find("not a supported report"), std::string::npos) << garbage.error();
  auto markup_garbage = ParseReport("<<<>>><");
  ASSERT_FALSE(markup_garbage.ok());

  auto empty = ParseReport("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().find("empty"), std::string::npos);
  auto blank = ParseReport(" \n\t ");
  ASSERT_FALSE(blank.ok());
  EXPECT_NE(blank.error().find("empty"), std::string::npos);

  std::string latin1 = doc;
  latin1.replace(latin1.find("Rule A"), 6, "R\xe8gle A");  // ISO-8859-1 è
  auto bad = ParseReport(latin1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("invalid UTF-8 at byte"), std::string::npos) << bad.error();

  std::string nul = doc;
  nul[nul.find("Rule A")] = '\0';
  EXPECT_FALSE(ParseReport(nul).ok());
}

TEST(XccdfParse, DeepNestingRefused) {
  std::string deep = R"(<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="t">)";
  for (int i = 0; i < 500; ++i) deep += "<a>";
  for (int i = 0; i < 500; ++i) deep += "</a>";
  deep += "</TestResult>";
  auto r = ParseReport(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("nested deeper than 128"), std::string::npos) << r.error();
  ParseLimits roomy;
  roomy.max_depth = 1000;
  EXPECT_TRUE(ParseReport(deep, roomy).ok());
}

TEST(XccdfParse, SizeLimitsOnPlainAndDecompressedInput) {
  ParseLimits small;
  small.max_bytes = 1000;
  const std::string doc = Xccdf12(RuleResult("xccdf_t_rule_a", "pass"));
  ASSERT_GT(doc.size(), 1000u);
  auto plain = ParseReport(doc, small);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().find("exceeds the limit"), std::string::npos) << plain.error();
  // A bzip2 bomb: 4 MB of the same byte is a few dozen bytes compressed.
  std::string big = SmallArf();
  big.insert(big.find("<arf:assets>"), std::string(4 << 20, ' '));
  const std::string compressed = Bzip2(big);
  ASSERT_LT(compressed.size(), 4000u);
  small.max_bytes = 1 << 20;
  auto bomb = ParseReport(compressed, small);
  ASSERT_FALSE(bomb.ok());
  EXPECT_NE(bomb.error().find("decompressed size exceeds 1048576 bytes"), std::string::npos) << bomb.error();
  EXPECT_TRUE(ParseReport(compressed).ok());
}

TEST(XccdfParse, BrokenBzip2) {
  const std::string compressed = Bzip2(SmallArf());
  auto truncated = ParseReport(compressed.substr(0, compressed.size() - 20));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("bzip2"), std::string::npos) << truncated.error();
  std::string corrupt = compressed;
  for (std::size_t i = 20; i < 60 && i < corrupt.size(); ++i)
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5a);
  auto bad = ParseReport(corrupt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("bzip2"), std::string::npos) << bad.error();
  auto json_inside = ParseReport(Bzip2(R"({"profiles": []})"));
  ASSERT_FALSE(json_inside.ok());
  EXPECT_NE(json_inside.error().find("not XCCDF or ARF"), std::string::npos) << json_inside.error();
  auto gzip = ParseReport(std::string("\x1f\x8b\x08\x00", 4));
  ASSERT_FALSE(gzip.ok());
  EXPECT_NE(gzip.error().find("gzip"), std::string::npos);
}

// ---- DetectFormat ----

TEST(DetectFormat, ByContent) {
  EXPECT_EQ(DetectFormat(""), Format::kUnknown);
  EXPECT_EQ(DetectFormat("hello"), Format::kUnknown);
  EXPECT_EQ(DetectFormat(Xccdf12("")), Format::kXccdf12);
  EXPECT_EQ(DetectFormat("\xEF\xBB\xBF  " + Xccdf12("")), Format::kXccdf12);
  EXPECT_EQ(DetectFormat(R"(<TestResult xmlns='http://checklists.nist.gov/xccdf/1.1'/>)"), Format::kXccdf11);
  EXPECT_EQ(DetectFormat(SmallArf()), Format::kArf);
  EXPECT_EQ(DetectFormat(Bzip2(SmallArf())), Format::kArf);
  EXPECT_EQ(DetectFormat("<html/>"), Format::kUnknown);
  EXPECT_EQ(DetectFormat(Bzip2(R"({"profiles": []})")), Format::kUnknown);  // only XML is read compressed
  EXPECT_EQ(
      DetectFormat(R"({"platform": {"name": "debian"}, "profiles": [{"controls": []}], "version": "4.1"})"),
      Format::kInspecJson);
  EXPECT_EQ(DetectFormat(R"({"profiles": [], "report_uuid": "x", "node_name": "n"})"), Format::kAutomate);
  EXPECT_EQ(DetectFormat(R"({"platform": {"name": "Heimdall Tools", "release": "2.10"}, "profiles": []})"),
            Format::kHdf);
  EXPECT_EQ(DetectFormat(R"({"profiles": [], "passthrough": {"a": [1]}})"), Format::kHdf);
  EXPECT_EQ(DetectFormat(R"({"controls": [{"id": "a", "profiles": 1}], "statistics": {}, "version": "2"})"),
            Format::kJsonMin);
  EXPECT_EQ(DetectFormat(R"([{"id": "a", "status": "passed"}])"), Format::kJsonMin);
  // `inspec json`: a profile, not results.
  EXPECT_EQ(DetectFormat(R"({"name": "p", "controls": [], "sha256": "ab", "supports": []})"),
            Format::kUnknown);
  // Keys nested inside values are not top-level keys.
  EXPECT_EQ(DetectFormat(R"({"x": {"profiles": [], "node_name": "n"}, "controls": []})"), Format::kJsonMin);
  EXPECT_EQ(DetectFormat(R"({"x": "\"profiles\": ", "controls": []})"), Format::kJsonMin);
}

}  // namespace
}  // namespace estate::compliance
