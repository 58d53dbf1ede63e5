// RIBCL parsers against the iLO 3 and iLO 4 captures in ../shared/fixtures/hardware (XML and iLO 4's JSON
// rendering of GET_EMBEDDED_HEALTH). Fault variants are built in memory from the fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "fixture_util.h"
#include "hardware_metrics.h"
#include "ribcl_parse.h"

namespace estate::hardware {
namespace {

using testing::HardwareFixtures;
using testing::HaveHardwareFixtures;
using testing::LoadJson;
using testing::ReadText;

constexpr const char* kIlo4 = "hpe-ilo4-ribcl-proliantutils";
constexpr const char* kIlo3 = "hpe-ilo3-bl460c-g7-ribcl-python-hpilo";

#define REQUIRE_SET(set) \
  if (!HaveHardwareFixtures(set)) GTEST_SKIP() << "fixtures absent: " << set

std::string Ilo4(const std::string& file) { return HardwareFixtures() + "/" + kIlo4 + "/" + file; }
std::string Ilo3(const std::string& file) { return HardwareFixtures() + "/" + kIlo3 + "/xml/" + file; }

template <typename T>
const T* ByKey(const std::vector<T>& items, const std::string& key) {
  auto it = std::find_if(items.begin(), items.end(), [&](const T& x) { return x.key == key; });
  return it == items.end() ? nullptr : &*it;
}

Findings EmbeddedHealthFromJson(const nlohmann::json& j) {
  ribcl::Node root = ribcl::FromJson(j);
  const ribcl::Node* data = root.FindDeep("GET_EMBEDDED_HEALTH_DATA");
  EXPECT_NE(data, nullptr);
  Findings f;
  if (data != nullptr) ribcl::ParseEmbeddedHealth(*data, f);
  DedupeKeys(f);
  return f;
}

Findings EmbeddedHealthFromXml(const std::string& body) {
  auto r = ribcl::ParseResponse(body);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  Findings f;
  if (!r.ok()) return f;
  const ribcl::Node* data = ribcl::FindIn(*r, "GET_EMBEDDED_HEALTH_DATA");
  EXPECT_NE(data, nullptr);
  if (data != nullptr) ribcl::ParseEmbeddedHealth(*data, f);
  DedupeKeys(f);
  return f;
}

TEST(RibclParse, ConcatenatedDocumentsAreSplit) {
  const std::string body =
      "<?xml version=\"1.0\"?>\n<RIBCL VERSION=\"2.23\">\n<RESPONSE STATUS=\"0x0000\" MESSAGE='No error' />\n"
      "</RIBCL>\n<?xml version=\"1.0\"?>\n<RIBCL VERSION=\"2.23\">\n<RESPONSE STATUS=\"0x0000\" "
      "MESSAGE='No error' />\n<GET_HOST_POWER HOST_POWER=\"OFF\" />\n</RIBCL>\n";
  auto r = ribcl::ParseResponse(body);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->documents.size(), 2u);
  Findings f;
  ribcl::ParseMisc(*r, f);
  EXPECT_EQ(f.power, PowerState::kOff);
}

TEST(RibclParse, GarbageIsAnErrorNotACrash) {
  EXPECT_FALSE(ribcl::ParseResponse("").ok());
  EXPECT_FALSE(ribcl::ParseResponse("\xff\xfe\x00garbage<<<").ok());
  EXPECT_FALSE(ribcl::ParseResponse("<?xml version=\"1.0\"?><RIBCL><RESP").ok());
  // A truncated second document still leaves the first one usable.
  auto r = ribcl::ParseResponse("<?xml version=\"1.0\"?><RIBCL><GET_HOST_POWER HOST_POWER=\"ON\"/></RIBCL>"
                                "<?xml version=\"1.0\"?><RIBCL><GET_EMB");
  ASSERT_TRUE(r.ok());
  EXPECT_NE(ribcl::FindIn(*r, "GET_HOST_POWER"), nullptr);
}

TEST(RibclParse, DeepNestingIsAnErrorNotAStackOverflow) {
  auto nested = [](int depth) {
    // Appended, not prepended: prepending made this test quadratic (391 s under ASan at depth 200,000).
    std::string open, close;
    for (int i = 0; i < depth; ++i) {
      open += "<A>";
      close += "</A>";
    }
    return "<?xml version=\"1.0\"?><RIBCL>" + open + close + "</RIBCL>";
  };
  EXPECT_TRUE(ribcl::ParseResponse(nested(60)).ok());
  auto deep = ribcl::ParseResponse(nested(200000));
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().find("nested deeper than 64 levels"), std::string::npos) << deep.error();
  // The JSON rendering (iLO 4) stops at the same depth.
  auto json = nlohmann::json::parse(std::string(200000, '[') + "{\"A\": 1}" + std::string(200000, ']'));
  ribcl::Node root = ribcl::FromJson(json);
  EXPECT_TRUE(root.children.empty());
  EXPECT_FALSE(ribcl::ParseNumber("nan").has_value());
  EXPECT_FALSE(ribcl::ParseNumber("inf").has_value());
  EXPECT_FALSE(ribcl::ParseNumber("1e400 Watts").has_value());
}

TEST(RibclParse, NumbersAndSizes) {
  EXPECT_EQ(ribcl::ParseNumber("1200 Watts").value_or(0), 1200);
  EXPECT_FALSE(ribcl::ParseNumber("N/A Watts").has_value());
  EXPECT_EQ(ribcl::ParseBytes("279 GB").value_or(0), 279.0 * 1073741824);
  EXPECT_EQ(ribcl::ParseBytes("2097152 KB").value_or(0), 2147483648.0);
}

TEST(RibclParse, RequestEscapesCredentials) {
  std::string xml = ribcl::BuildRequest("admin", "p\"<&'>", {{"SERVER_INFO", {"GET_EMBEDDED_HEALTH"}}});
  EXPECT_NE(xml.find("PASSWORD=\"p&quot;&lt;&amp;&apos;&gt;\""), std::string::npos);
  EXPECT_NE(xml.find("<SERVER_INFO MODE=\"read\">"), std::string::npos);
  EXPECT_NE(xml.find("<GET_EMBEDDED_HEALTH />"), std::string::npos);
}

TEST(RibclParse, NotInstalledBatteryIsNotAFault) {
  // iLO 5 lists the Smart Storage battery among the power supplies; on servers without one it says so.
  const std::string body = R"(<?xml version="1.0"?><RIBCL VERSION="2.23"><RESPONSE STATUS="0x0000" MESSAGE='No error'/>
<GET_EMBEDDED_HEALTH_DATA><POWER_SUPPLIES>
<SUPPLY><LABEL VALUE="Power Supply 1"/><PRESENT VALUE="Yes"/><STATUS VALUE="Good, In Use"/></SUPPLY>
<SUPPLY><LABEL VALUE="Battery 1"/><PRESENT VALUE="No"/><STATUS VALUE="Not Installed"/></SUPPLY>
</POWER_SUPPLIES></GET_EMBEDDED_HEALTH_DATA></RIBCL>)";
  Findings f = EmbeddedHealthFromXml(body);
  ASSERT_EQ(f.batteries.size(), 1u);
  EXPECT_EQ(f.batteries[0].state, BatteryState::kAbsent);
  EXPECT_EQ(f.batteries[0].health, Health::kUnknown);
  ASSERT_EQ(f.psus.size(), 1u);
  EXPECT_EQ(f.psus[0].status.health, Health::kOk);
  EXPECT_EQ(ComputeHealth(f).system, Health::kUnknown);
}

// --- iLO 4 (proliantutils captures) ----------------------------------------------------------------------------

TEST(RibclIlo4, CacheModuleStatusAndDrives) {
  REQUIRE_SET(kIlo4);
  Findings f = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_output.json")));
  ASSERT_EQ(f.controllers.size(), 1u);
  const StorageController& c = f.controllers[0];
  EXPECT_EQ(c.key, "Controller on System Board");
  EXPECT_EQ(c.model, "HP Smart Array P830i Controller");
  EXPECT_EQ(c.status.health, Health::kOk);
  EXPECT_EQ(c.cache_health, Health::kOk);
  EXPECT_EQ(c.cache_bytes.value_or(0), 2097152.0 * 1024);
  ASSERT_EQ(f.volumes.size(), 1u);
  EXPECT_EQ(f.volumes[0].raid_type, "RAID10");
  ASSERT_EQ(f.drives.size(), 2u);
  EXPECT_EQ(f.drives[0].key, "Port 1I Box 1 Bay 1");
  EXPECT_EQ(f.drives[0].capacity_bytes.value_or(0), 279.0 * 1073741824);
  EXPECT_FALSE(f.drives[0].failure_predicted.value_or(true));
}

TEST(RibclIlo4, EnvironmentAndInventory) {
  REQUIRE_SET(kIlo4);
  Findings f = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_output.json")));
  EXPECT_EQ(f.fans.size(), 4u);
  EXPECT_EQ(f.fans[0].percent.value_or(0), 12);
  const Temperature* inlet = ByKey(f.temperatures, "01-Inlet Ambient");
  ASSERT_NE(inlet, nullptr);
  EXPECT_EQ(inlet->celsius.value_or(0), 27);
  EXPECT_EQ(inlet->upper_critical.value_or(0), 42);  // CAUTION
  EXPECT_EQ(inlet->upper_fatal.value_or(0), 46);     // CRITICAL
  const Temperature* cpu3 = ByKey(f.temperatures, "04-CPU 3");
  ASSERT_NE(cpu3, nullptr);
  EXPECT_EQ(cpu3->status.state, State::kAbsent);  // "Not Installed"
  ASSERT_EQ(f.psus.size(), 4u);
  EXPECT_EQ(f.psus[0].status.health, Health::kOk);  // "Good, In Use"
  EXPECT_EQ(f.psus[0].capacity_watts.value_or(0), 1200);
  EXPECT_EQ(f.psus[2].status.state, State::kAbsent);
  EXPECT_EQ(f.power_consumed_watts.value_or(0), 162);
  ASSERT_EQ(f.psu_redundancy.size(), 1u);
  EXPECT_TRUE(f.psu_redundancy[0].redundant.value_or(false));
  EXPECT_EQ(f.cpus.size(), 2u);
  EXPECT_FALSE(f.dimms.empty());
  EXPECT_EQ(f.firmware.size(), 9u);  // ten entries, one with an empty version
  EXPECT_EQ(f.system_reported, Health::kOk);  // MEMORY "Other" is not a fault
}

TEST(RibclIlo4, FailedCacheModuleVariant) {
  REQUIRE_SET(kIlo4);
  auto j = LoadJson(Ilo4("get_embedded_health_output.json"));
  j["GET_EMBEDDED_HEALTH_DATA"]["STORAGE"]["CONTROLLER"]["CACHE_MODULE_STATUS"]["VALUE"] = "Failed";
  j["GET_EMBEDDED_HEALTH_DATA"]["STORAGE"]["CONTROLLER"]["LOGICAL_DRIVE"]["PHYSICAL_DRIVE"][1]["STATUS"]["VALUE"] =
      "Predictive Failure";
  Findings f = EmbeddedHealthFromJson(j);
  ASSERT_EQ(f.controllers.size(), 1u);
  EXPECT_EQ(f.controllers[0].cache_health, Health::kCritical);
  EXPECT_EQ(f.controllers[0].status.health, Health::kOk);  // the controller itself says OK
  EXPECT_TRUE(f.drives[1].failure_predicted.value_or(false));
  EXPECT_EQ(f.drives[1].status.health, Health::kWarning);
  EXPECT_EQ(ComputeHealth(f).system, Health::kCritical);
}

TEST(RibclIlo4, EdgeCaseVariants) {
  REQUIRE_SET(kIlo4);
  Findings none = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_output_no_controller.json")));
  EXPECT_TRUE(none.has_storage);
  EXPECT_TRUE(none.controllers.empty());

  Findings list = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_output_list_storage.json")));
  ASSERT_GE(list.volumes.size(), 2u);
  EXPECT_NE(list.volumes[0].key, list.volumes[1].key);  // both are labelled "01"

  Findings two = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_output_no_logical_drive.json")));
  ASSERT_EQ(two.controllers.size(), 2u);
  EXPECT_EQ(two.controllers[1].cache_health, Health::kUnknown);
  EXPECT_TRUE(two.volumes.empty());

  Findings gen7 = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_output_gen7.json")));
  EXPECT_EQ(gen7.dimms.size(), 9u);
  EXPECT_EQ(std::count_if(gen7.dimms.begin(), gen7.dimms.end(),
                          [](const Component& c) { return c.status.state == State::kAbsent; }),
            5);

  Findings procs = EmbeddedHealthFromJson(LoadJson(Ilo4("get_embedded_health_processors_data_missing.json")));
  EXPECT_EQ(procs.cpus.size(), 2u);
}

TEST(RibclIlo4, XmlCaptures) {
  REQUIRE_SET(kIlo4);
  Findings health = EmbeddedHealthFromXml(ReadText(Ilo4("get_host_health_data.xml")));
  EXPECT_FALSE(health.fans.empty());
  EXPECT_FALSE(health.temperatures.empty());

  auto power = ribcl::ParseResponse(ReadText(Ilo4("get_host_power_readings.xml")));
  ASSERT_TRUE(power.ok());
  Findings f;
  ribcl::ParseMisc(*power, f);
  EXPECT_EQ(f.power_consumed_watts.value_or(0), 37);
  auto status = ribcl::ParseResponse(ReadText(Ilo4("get_host_power_status_xml.xml")));
  ASSERT_TRUE(status.ok());
  ribcl::ParseMisc(*status, f);
  EXPECT_EQ(f.power, PowerState::kOn);
  auto product = ribcl::ParseResponse(ReadText(Ilo4("get_product_name.xml")));
  ASSERT_TRUE(product.ok());
  ribcl::ParseMisc(*product, f);
  EXPECT_EQ(f.identity.model, "ProLiant DL380 G7");

  auto rimp = ribcl::ParseResponse(ReadText(Ilo4("get_host_uuid.xml")));
  ASSERT_TRUE(rimp.ok());
  const ribcl::Node* r = ribcl::FindIn(*rimp, "RIMP");
  ASSERT_NE(r, nullptr);
  Findings id;
  ribcl::ParseRimp(*r, id);
  EXPECT_EQ(id.identity.serial, "2M220102JA");
  EXPECT_EQ(id.identity.model, "ProLiant ML110 G7");
  EXPECT_EQ(id.identity.uuid, "37363536-3636-4D32-3232-303130324A41");
  EXPECT_EQ(id.identity.bmc_model, "iLO 3");
  EXPECT_EQ(id.identity.bmc_firmware, "1.70");
}

TEST(RibclIlo4, LoginFailureIsAnError) {
  REQUIRE_SET(kIlo4);
  auto r = ribcl::ParseResponse(ReadText(Ilo4("login_fail_xml.xml")));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("Login failed"), std::string::npos);
}

// --- iLO 3, BL460c G7 (python-hpilo recordings) ------------------------------------------------------------------

TEST(RibclIlo3, EmbeddedHealthWithOkAndOkMix) {
  REQUIRE_SET(kIlo3);
  Findings f = EmbeddedHealthFromXml(ReadText(Ilo3("get_embedded_health.xml")));
  ASSERT_EQ(f.fans.size(), 1u);
  EXPECT_EQ(f.fans[0].percent.value_or(0), 29);
  EXPECT_EQ(f.temperatures.size(), 13u);
  const Temperature* cpu = ByKey(f.temperatures, "02-CPU 1");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->upper_critical.value_or(0), 82);
  EXPECT_EQ(cpu->upper_fatal.value_or(0), 83);
  EXPECT_EQ(f.power_consumed_watts.value_or(0), 109);
  // Backplane drives: "Ok" is OK, "Not Present/Not Installed" is absent.
  ASSERT_EQ(f.drives.size(), 4u);
  EXPECT_EQ(f.drives[0].key, "Bay 1");
  EXPECT_EQ(f.drives[0].model, "DG146BB976");
  EXPECT_EQ(f.drives[0].status.health, Health::kOk);
  EXPECT_EQ(f.drives[2].status.state, State::kAbsent);
  EXPECT_EQ(f.drives[2].status.health, Health::kUnknown);
  EXPECT_EQ(f.dimms.size(), 12u);
  EXPECT_EQ(f.firmware.size(), 6u);
  EXPECT_EQ(f.system_reported, Health::kOk);
  EXPECT_EQ(ComputeHealth(f).system, Health::kOk);
}

TEST(RibclIlo3, IdentityFromFwVersionHostDataAndXmldata) {
  REQUIRE_SET(kIlo3);
  Findings f;
  auto fw = ribcl::ParseResponse(ReadText(Ilo3("get_fw_version.xml")));
  ASSERT_TRUE(fw.ok());
  ribcl::ParseFwVersion(*ribcl::FindIn(*fw, "GET_FW_VERSION"), f);
  EXPECT_EQ(f.identity.bmc_model, "iLO3");
  EXPECT_EQ(f.identity.bmc_firmware, "1.82");
  auto host = ribcl::ParseResponse(ReadText(Ilo3("get_host_data.xml")));
  ASSERT_TRUE(host.ok());
  ribcl::ParseHostData(*ribcl::FindIn(*host, "GET_HOST_DATA"), f);
  EXPECT_EQ(f.identity.serial, "CZ320580J3");
  EXPECT_EQ(f.identity.uuid, "37333036-3831-5A43-3332-303538304A33");
  EXPECT_EQ(f.identity.model, "ProLiant BL460c G7");
  EXPECT_EQ(f.identity.bios_version, "I27 05/05/2011");
  auto xmldata = ribcl::ParseResponse(ReadText(Ilo3("xmldata.xml")));
  ASSERT_TRUE(xmldata.ok());
  Findings x;
  ribcl::ParseRimp(*ribcl::FindIn(*xmldata, "RIMP"), x);
  EXPECT_EQ(x.identity.serial, "CZ320580J3");
  EXPECT_EQ(x.identity.bmc_model, "iLO 3");
}

TEST(RibclIlo3, EventLogCountsAndPower) {
  REQUIRE_SET(kIlo3);
  auto r = ribcl::ParseResponse(ReadText(Ilo3("get_server_event_log.xml")));
  ASSERT_TRUE(r.ok());
  const ribcl::Node* log = ribcl::FindIn(*r, "EVENT_LOG");
  ASSERT_NE(log, nullptr);
  LogSummary s;
  ribcl::ParseEventLog(*log, s);
  EXPECT_EQ(s.entries[Health::kWarning], 1);  // "Caution"
  EXPECT_EQ(s.entries[Health::kOk], 4);       // Informational and Repaired
  EXPECT_EQ(s.entries.count(Health::kCritical), 0u);
  Findings f;
  auto p = ribcl::ParseResponse(ReadText(Ilo3("get_power_readings.xml")));
  ASSERT_TRUE(p.ok());
  ribcl::ParseMisc(*p, f);
  EXPECT_EQ(f.power_consumed_watts.value_or(0), 108);
  auto ps = ribcl::ParseResponse(ReadText(Ilo3("get_host_power_status.xml")));
  ASSERT_TRUE(ps.ok());
  ribcl::ParseMisc(*ps, f);
  EXPECT_EQ(f.power, PowerState::kOn);
}

TEST(RibclIlo3, EveryXmlCaptureParsesWithoutCrashing) {
  REQUIRE_SET(kIlo3);
  int parsed = 0;
  for (const auto& e : std::filesystem::directory_iterator(HardwareFixtures() + "/" + kIlo3 + "/xml")) {
    auto r = ribcl::ParseResponse(ReadText(e.path().string()));
    if (r.ok()) ++parsed;
  }
  EXPECT_GE(parsed, 50);
}

}  // namespace
}  // namespace estate::hardware
