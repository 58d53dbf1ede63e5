// hardware_bench: the hardware exporter against 1,000 simulated Redfish BMCs that answer every request after
// 100 ms. It starts the real estate-hardware-exporter binary and prints its figures:
//   - time until every target has completed a full poll (every fast and slow job up);
//   - peak RSS of the exporter (VmHWM);
//   - GETs per BMC per full poll (from the simulated BMCs, and from estate_hardware_poll_requests);
//   - CPU seconds per BMC per full poll (utime + stime of the exporter over the first round);
//   - /metrics latency p50/p99/max with 20 concurrent scrapers while background polling continues, plus the
//     body size and series count.
// Each figure is one "bench: <name> = <value> <unit> (target ...)" line; then one PASS/FAIL line per target.
// Exit status: 0 when every target is met, 1 when one is missed, 2 when the benchmark itself could not run.
//
// Every BMC must be a distinct host:port (the HTTP client limits concurrency per host:port), so a few
// FakeUpstream servers each listen on many ports; all of them serve the same generated tree. The tree is a
// mid-size Dell iDRAC 9-like server written as JSON files by this program (nothing is copied from fixtures).
// $expand is answered by routes, because the fake's directory tree ignores query strings.
#include <curl/curl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"

namespace {

using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::kExitBroken;
using estate::bench::kExitMissed;
using estate::bench::Percentile;
using estate::testing::ChildProcess;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::TempDir;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
  int bmcs = 1000;
  double latency_seconds = 0.1;
  int workers = 32;
  int web_max_requests = 32;  // >= the 20 scrapers: a keep-alive connection holds a civetweb worker
  int ports_per_server = 100;
  int server_threads = 32;
  std::string fast_interval = "60s";
  std::string slow_interval = "300s";
  bool use_expand = true;
  int scrape_clients = 20;
  double scrape_seconds = 20;
  double scrape_plain_seconds = 10;
  int lone_scrapes = 6;               // then one gzip scraper alone, a scrape every lone_interval_seconds
  double lone_interval_seconds = 5;
  int steady_deadline_seconds = 240;
  int round_poll_seconds = 1;              // how often /metrics is read while waiting for the first round
  std::map<std::string, std::string> exporter_env;  // extra environment, e.g. MALLOC_ARENA_MAX=2
  int first_port = 21000;
  double round_deadline_seconds = 600;
  // Targets.
  double max_round_seconds = 300;
  double max_rss_mib = 150;
  double max_gets_per_poll = 30;  // half of the 55-60 the peers spend
  double max_scrape_p99_ms = 100;
};

void Usage() {
  std::fprintf(stderr,
               "usage: hardware_bench [--bmcs=N] [--latency=SECONDS] [--workers=N] [--web-max-requests=N]\n"
               "                      [--ports-per-server=N]\n"
               "                      [--server-threads=N] [--fast=DURATION] [--slow=DURATION] [--no-expand]\n"
               "                      [--scrape-clients=N] [--scrape-seconds=S] [--scrape-plain-seconds=S]\n"
               "                      [--lone-scrapes=N] [--lone-interval=S]\n"
               "                      [--round-poll-seconds=S] [--steady-deadline-seconds=S]\n"
               "                      [--exporter-env=NAME=VALUE]...\n"
               "                      [--first-port=PORT]\n"
               "Set ESTATE_KEEP_TEMP=1 to keep the generated tree, config and exporter log.\n");
}

bool ParseArgs(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    try {
      if (name == "--bmcs") a.bmcs = std::stoi(value);
      else if (name == "--latency") a.latency_seconds = std::stod(value);
      else if (name == "--workers") a.workers = std::stoi(value);
      else if (name == "--web-max-requests") a.web_max_requests = std::stoi(value);
      else if (name == "--ports-per-server") a.ports_per_server = std::stoi(value);
      else if (name == "--server-threads") a.server_threads = std::stoi(value);
      else if (name == "--fast") a.fast_interval = value;
      else if (name == "--slow") a.slow_interval = value;
      else if (name == "--no-expand") a.use_expand = false;
      else if (name == "--round-poll-seconds") a.round_poll_seconds = std::stoi(value);
      else if (name == "--steady-deadline-seconds") a.steady_deadline_seconds = std::stoi(value);
      else if (name == "--exporter-env" && value.find('=') != std::string::npos)
        a.exporter_env[value.substr(0, value.find('='))] = value.substr(value.find('=') + 1);
      else if (name == "--scrape-clients") a.scrape_clients = std::stoi(value);
      else if (name == "--scrape-seconds") a.scrape_seconds = std::stod(value);
      else if (name == "--scrape-plain-seconds") a.scrape_plain_seconds = std::stod(value);
      else if (name == "--first-port") a.first_port = std::stoi(value);
      else if (name == "--lone-scrapes") a.lone_scrapes = std::stoi(value);
      else if (name == "--lone-interval") a.lone_interval_seconds = std::stod(value);
      else {
        Usage();
        return false;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "hardware_bench: bad value for %s: %s\n", name.c_str(), value.c_str());
      return false;
    }
  }
  if (a.bmcs < 1 || a.ports_per_server < 1 || a.workers < 1 || a.scrape_clients < 0) {
    Usage();
    return false;
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- the simulated BMC ----------------------------------------------------------------------------------

// Builds the resource tree of one mid-size server: path -> resource.
class TreeBuilder {
 public:
  explicit TreeBuilder(bool advertise_expand) : advertise_expand_(advertise_expand) {}
  std::map<std::string, Json> Build();

 private:
  static Json Link(const std::string& uri) { return Json{{"@odata.id", uri}}; }
  static Json Ok() { return Json{{"Health", "OK"}, {"HealthRollup", "OK"}, {"State", "Enabled"}}; }
  void Put(const std::string& path, Json body) {
    body["@odata.id"] = path;
    tree_[path] = std::move(body);
  }
  void Collection(const std::string& path, const std::string& type, const std::vector<std::string>& members) {
    Json list = Json::array();
    for (const auto& m : members) list.push_back(Link(m));
    Put(path, Json{{"@odata.type", "#" + type + "." + type},
                   {"Name", type},
                   {"Members", list},
                   {"Members@odata.count", members.size()}});
  }

  bool advertise_expand_;
  std::map<std::string, Json> tree_;
};

std::map<std::string, Json> TreeBuilder::Build() {
  const std::string root = "/redfish/v1";
  const std::string sys = root + "/Systems/System.Embedded.1";
  const std::string chassis = root + "/Chassis/System.Embedded.1";
  const std::string mgr = root + "/Managers/iDRAC.Embedded.1";
  const std::string storage = sys + "/Storage/RAID.SL.3-1";

  Json service_root = {
      {"@odata.type", "#ServiceRoot.v1_15_0.ServiceRoot"},
      {"Id", "RootService"},
      {"Name", "Root Service"},
      {"RedfishVersion", "1.17.0"},
      {"UUID", "3256444f-c0b7-3780-5310-00364c4c4544"},
      {"Vendor", "Dell"},
      {"Product", "Integrated Dell Remote Access Controller"},
      {"Systems", Link(root + "/Systems")},
      {"Chassis", Link(root + "/Chassis")},
      {"Managers", Link(root + "/Managers")},
      {"UpdateService", Link(root + "/UpdateService")},
      {"SessionService", Link(root + "/SessionService")},
      {"Links", {{"Sessions", Link(root + "/SessionService/Sessions")}}},
  };
  if (advertise_expand_) {
    service_root["ProtocolFeaturesSupported"] = {
        {"ExpandQuery", {{"ExpandAll", true}, {"Levels", true}, {"Links", true}, {"NoLinks", true}, {"MaxLevels", 1}}},
        {"FilterQuery", true},
        {"SelectQuery", true}};
  }
  Put(root, service_root);
  Put(root + "/SessionService", {{"Id", "SessionService"}, {"Sessions", Link(root + "/SessionService/Sessions")}});
  Collection(root + "/SessionService/Sessions", "SessionCollection", {});

  // System, with DIMMs and CPUs.
  Collection(root + "/Systems", "ComputerSystemCollection", {sys});
  Put(sys, {{"@odata.type", "#ComputerSystem.v1_20_0.ComputerSystem"},
            {"Id", "System.Embedded.1"},
            {"Name", "System"},
            {"Manufacturer", "Dell Inc."},
            {"Model", "PowerEdge R650"},
            {"SerialNumber", "CNIVC0012345678"},
            {"SKU", "7XK2PQ3"},
            {"UUID", "4c4c4544-0058-4b10-8032-b7c04f505133"},
            {"HostName", "hv-bench"},
            {"BiosVersion", "1.13.2"},
            {"PowerState", "On"},
            {"Status", Ok()},
            {"MemorySummary", {{"TotalSystemMemoryGiB", 512}, {"Status", Ok()}}},
            {"ProcessorSummary", {{"Count", 2}, {"Status", Ok()}}},
            {"Storage", Link(sys + "/Storage")},
            {"Memory", Link(sys + "/Memory")},
            {"Processors", Link(sys + "/Processors")},
            {"Links", {{"Chassis", Json::array({Link(chassis)})}, {"ManagedBy", Json::array({Link(mgr)})}}}});
  std::vector<std::string> dimms;
  for (int i = 0; i < 16; ++i) {
    const std::string slot = std::string(1, static_cast<char>('A' + i / 8)) + std::to_string(i % 8 + 1);
    const std::string uri = sys + "/Memory/DIMM.Socket." + slot;
    dimms.push_back(uri);
    Put(uri, {{"@odata.type", "#Memory.v1_16_0.Memory"},
              {"Id", "DIMM.Socket." + slot},
              {"Name", "DIMM " + slot},
              {"DeviceLocator", "DIMM " + slot},
              {"CapacityMiB", 32768},
              {"Manufacturer", "Hynix Semiconductor"},
              {"PartNumber", "HMA84GR7CJR4N-XN"},
              {"SerialNumber", "3A1B" + std::to_string(1000 + i)},
              {"OperatingSpeedMhz", 3200},
              {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  Collection(sys + "/Memory", "MemoryCollection", dimms);
  std::vector<std::string> cpus;
  for (int i = 1; i <= 2; ++i) {
    const std::string uri = sys + "/Processors/CPU.Socket." + std::to_string(i);
    cpus.push_back(uri);
    Put(uri, {{"@odata.type", "#Processor.v1_17_0.Processor"},
              {"Id", "CPU.Socket." + std::to_string(i)},
              {"Name", "CPU " + std::to_string(i)},
              {"Socket", "CPU.Socket." + std::to_string(i)},
              {"Model", "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"},
              {"TotalCores", 32},
              {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  Collection(sys + "/Processors", "ProcessorCollection", cpus);

  // One RAID controller with cache and battery, 8 drives, 2 volumes.
  Collection(sys + "/Storage", "StorageCollection", {storage});
  Json drive_links = Json::array();
  for (int i = 0; i < 8; ++i) {
    const std::string id = "Disk.Bay." + std::to_string(i) + ":Enclosure.Internal.0-1:RAID.SL.3-1";
    const std::string uri = storage + "/Drives/" + id;
    drive_links.push_back(Link(uri));
    const bool ssd = i < 2;
    Json drive = {{"@odata.type", "#Drive.v1_17_0.Drive"},
                  {"Id", id},
                  {"Name", "Physical Disk 0:1:" + std::to_string(i)},
                  {"Manufacturer", ssd ? "SAMSUNG" : "SEAGATE"},
                  {"Model", ssd ? "MZILT960HBHQ0D3" : "ST2400MM0129"},
                  {"SerialNumber", "S4KJNA0R" + std::to_string(500 + i)},
                  {"MediaType", ssd ? "SSD" : "HDD"},
                  {"Protocol", "SAS"},
                  {"CapacityBytes", ssd ? 960197124096LL : 2399276105728LL},
                  {"FailurePredicted", false},
                  {"PhysicalLocation", {{"PartLocation", {{"ServiceLabel", "Slot " + std::to_string(i)}}}}},
                  {"Status", {{"Health", "OK"}, {"State", "Enabled"}}},
                  {"Links", {{"Volumes", Json::array({Link(storage + "/Volumes/Disk.Virtual." +
                                                           std::to_string(ssd ? 0 : 1) + ":RAID.SL.3-1")})}}}};
    if (ssd) drive["PredictedMediaLifeLeftPercent"] = 97;
    Put(uri, drive);
  }
  std::vector<std::string> volumes;
  for (int v = 0; v < 2; ++v) {
    const std::string id = "Disk.Virtual." + std::to_string(v) + ":RAID.SL.3-1";
    const std::string uri = storage + "/Volumes/" + id;
    volumes.push_back(uri);
    Put(uri, {{"@odata.type", "#Volume.v1_9_0.Volume"},
              {"Id", id},
              {"Name", v == 0 ? "boot" : "data"},
              {"RAIDType", v == 0 ? "RAID1" : "RAID5"},
              {"VolumeType", v == 0 ? "Mirrored" : "StripedWithParity"},
              {"CapacityBytes", v == 0 ? 960197124096LL : 14395656634368LL},
              {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  Collection(storage + "/Volumes", "VolumeCollection", volumes);
  Put(storage,
      {{"@odata.type", "#Storage.v1_15_0.Storage"},
       {"Id", "RAID.SL.3-1"},
       {"Name", "PERC H755 Front"},
       {"Status", Ok()},
       {"StorageControllers",
        Json::array({{{"@odata.id", storage + "#/StorageControllers/0"},
                      {"MemberId", "RAID.SL.3-1"},
                      {"Name", "PERC H755 Front"},
                      {"Model", "PERC H755 Front"},
                      {"FirmwareVersion", "52.16.1-4405"},
                      {"SpeedGbps", 12},
                      {"Status", Ok()},
                      {"CacheSummary", {{"TotalCacheSizeMiB", 8192}, {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}}},
                      {"Oem",
                       {{"Dell",
                         {{"DellControllerBattery",
                           {{"Id", "Battery.Integrated.1:RAID.SL.3-1"},
                            {"FQDD", "Battery.Integrated.1:RAID.SL.3-1"},
                            {"Name", "PERC H755 Front Battery"},
                            {"PrimaryStatus", "OK"},
                            {"RAIDState", "Ready"}}}}}}}}})},
       {"Drives", drive_links},
       {"Drives@odata.count", drive_links.size()},
       {"Volumes", Link(storage + "/Volumes")},
       {"Links", {{"Enclosures", Json::array({Link(root + "/Chassis/Enclosure.Internal.0-1:RAID.SL.3-1")})}}}});

  // Chassis with legacy Thermal (8 fans, 20 temperatures) and Power (2 PSUs).
  Collection(root + "/Chassis", "ChassisCollection", {chassis});
  Put(chassis,
      {{"@odata.type", "#Chassis.v1_21_0.Chassis"},
       {"Id", "System.Embedded.1"},
       {"Name", "Computer System Chassis"},
       {"ChassisType", "RackMount"},
       {"Manufacturer", "Dell Inc."},
       {"Model", "PowerEdge R650"},
       {"SerialNumber", "CNIVC0012345678"},
       {"PowerState", "On"},
       {"Status", Ok()},
       {"Thermal", Link(chassis + "/Thermal")},
       {"Power", Link(chassis + "/Power")},
       {"NetworkAdapters", Link(chassis + "/NetworkAdapters")},
       {"Links", {{"ComputerSystems", Json::array({Link(sys)})}, {"ManagedBy", Json::array({Link(mgr)})}}}});
  Json fans = Json::array();
  for (int i = 1; i <= 8; ++i) {
    fans.push_back({{"@odata.id", chassis + "/Thermal#/Fans/" + std::to_string(i - 1)},
                    {"MemberId", "0x17||Fan.Embedded." + std::to_string(i) + "A"},
                    {"Name", "System Board Fan" + std::to_string(i) + "A"},
                    {"Reading", 7800 + 120 * i},
                    {"ReadingUnits", "RPM"},
                    {"LowerThresholdCritical", 480},
                    {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  static const char* kTempNames[] = {"CPU1 Temp", "CPU2 Temp", "System Board Inlet Temp", "System Board Exhaust Temp"};
  Json temps = Json::array();
  for (int i = 0; i < 20; ++i) {
    std::string name = i < 4 ? kTempNames[i] : "DIMM Bank " + std::to_string(i - 3) + " Temp";
    const bool cpu = i < 2;
    temps.push_back({{"@odata.id", chassis + "/Thermal#/Temperatures/" + std::to_string(i)},
                     {"MemberId", "iDRAC.Embedded.1#Temp" + std::to_string(i)},
                     {"Name", name},
                     {"PhysicalContext", cpu ? "CPU" : (i < 4 ? "SystemBoard" : "Memory")},
                     {"ReadingCelsius", cpu ? 54 + i : 24 + (i % 7)},
                     {"UpperThresholdNonCritical", cpu ? 90 : 75},
                     {"UpperThresholdCritical", cpu ? 98 : 85},
                     {"UpperThresholdFatal", cpu ? 103 : 95},
                     {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  Put(chassis + "/Thermal", {{"@odata.type", "#Thermal.v1_7_0.Thermal"},
                             {"Id", "Thermal"},
                             {"Name", "Thermal"},
                             {"Fans", fans},
                             {"Temperatures", temps},
                             {"Redundancy", Json::array()}});
  Json psus = Json::array();
  for (int i = 1; i <= 2; ++i) {
    psus.push_back({{"@odata.id", chassis + "/Power#/PowerSupplies/" + std::to_string(i - 1)},
                    {"MemberId", "PSU.Slot." + std::to_string(i)},
                    {"Name", "PS" + std::to_string(i) + " Status"},
                    {"Model", "PWR SPLY,1400W,RDNT,LTON"},
                    {"SerialNumber", "CNLOD0012E" + std::to_string(i)},
                    {"FirmwareVersion", "00.1D.7D"},
                    {"PowerCapacityWatts", 1400},
                    {"PowerInputWatts", 231 + i},
                    {"PowerOutputWatts", 210 + i},
                    {"LineInputVoltage", 230},
                    {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  Put(chassis + "/Power",
      {{"@odata.type", "#Power.v1_7_1.Power"},
       {"Id", "Power"},
       {"Name", "Power"},
       {"PowerSupplies", psus},
       {"PowerControl", Json::array({{{"@odata.id", chassis + "/Power#/PowerControl/0"},
                                      {"MemberId", "PowerControl"},
                                      {"Name", "System Power Control"},
                                      {"PowerConsumedWatts", 420},
                                      {"PowerCapacityWatts", 2800}}})},
       {"Redundancy", Json::array({{{"@odata.id", chassis + "/Power#/Redundancy/0"},
                                    {"MemberId", "System.Embedded.1"},
                                    {"Name", "System Board PS Redundancy"},
                                    {"Mode", "N+m"},
                                    {"MinNumNeeded", 1},
                                    {"MaxNumSupported", 2},
                                    {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}}})}});

  // One embedded 2-port NIC under the chassis (read by the slow poll: its collection and its ports).
  const std::string nic = chassis + "/NetworkAdapters/NIC.Integrated.1";
  Collection(chassis + "/NetworkAdapters", "NetworkAdapterCollection", {nic});
  Put(nic, {{"@odata.type", "#NetworkAdapter.v1_9_0.NetworkAdapter"},
            {"Id", "NIC.Integrated.1"},
            {"Name", "Network Adapter View"},
            {"Model", "Broadcom Adv. Dual 25Gb Ethernet"},
            {"SerialNumber", "IN0F6FXMDNT0040V00H3"},
            {"Controllers", Json::array({{{"FirmwarePackageVersion", "22.31.6"}}})},
            {"Ports", Link(nic + "/Ports")},
            {"Status", Ok()}});
  Collection(nic + "/Ports", "PortCollection",
             {nic + "/Ports/NIC.Integrated.1-1", nic + "/Ports/NIC.Integrated.1-2"});
  for (int i = 1; i <= 2; ++i) {
    const std::string id = "NIC.Integrated.1-" + std::to_string(i);
    Put(nic + "/Ports/" + id,
        {{"@odata.type", "#Port.v1_6_0.Port"},
         {"Id", id},
         {"Name", id},
         {"LinkStatus", "LinkUp"},
         {"Ethernet", {{"AssociatedMACAddresses", Json::array({"b0:26:28:c4:51:e" + std::to_string(i)})}}},
         {"Status", Ok()}});
  }

  // Manager with the System Event Log (50 entries).
  Collection(root + "/Managers", "ManagerCollection", {mgr});
  Put(mgr, {{"@odata.type", "#Manager.v1_17_0.Manager"},
            {"Id", "iDRAC.Embedded.1"},
            {"Name", "Manager"},
            {"ManagerType", "BMC"},
            {"Model", "15G Monolithic"},
            {"FirmwareVersion", "6.10.30.00"},
            {"Status", {{"Health", "OK"}, {"State", "Enabled"}}},
            {"LogServices", Link(mgr + "/LogServices")},
            {"Links", {{"ManagerForServers", Json::array({Link(sys)})}}}});
  Collection(mgr + "/LogServices", "LogServiceCollection", {mgr + "/LogServices/Sel"});
  Put(mgr + "/LogServices/Sel", {{"@odata.type", "#LogService.v1_3_0.LogService"},
                                 {"Id", "Sel"},
                                 {"Name", "SEL Log Service"},
                                 {"MaxNumberOfRecords", 1024},
                                 {"OverWritePolicy", "WrapsWhenFull"},
                                 {"Status", {{"Health", "OK"}, {"State", "Enabled"}}},
                                 {"Entries", Link(mgr + "/LogServices/Sel/Entries")}});
  std::vector<std::string> entries;
  for (int i = 1; i <= 50; ++i) {
    const std::string uri = mgr + "/LogServices/Sel/Entries/" + std::to_string(i);
    entries.push_back(uri);
    const char* severity = i % 17 == 0 ? "Critical" : (i % 5 == 0 ? "Warning" : "OK");
    char created[32];
    std::snprintf(created, sizeof created, "2024-05-%02dT%02d:%02d:00-05:00", 1 + i % 28, i % 24, (7 * i) % 60);
    Put(uri, {{"@odata.type", "#LogEntry.v1_15_0.LogEntry"},
              {"Id", std::to_string(i)},
              {"Name", "Log Entry " + std::to_string(i)},
              {"EntryType", "SEL"},
              {"Severity", severity},
              {"Created", created},
              {"Message", std::string(severity) == "OK" ? "The system inlet temperature is within range."
                                                       : "The power supply redundancy was degraded."},
              {"MessageId", "IDRAC.2.8.PSU0003"}});
  }
  Collection(mgr + "/LogServices/Sel/Entries", "LogEntryCollection", entries);

  // Firmware inventory (10 items).
  Put(root + "/UpdateService", {{"@odata.type", "#UpdateService.v1_11_0.UpdateService"},
                                {"Id", "UpdateService"},
                                {"Name", "Update Service"},
                                {"FirmwareInventory", Link(root + "/UpdateService/FirmwareInventory")}});
  static const std::pair<const char*, const char*> kFirmware[] = {
      {"BIOS", "1.13.2"},
      {"Integrated Dell Remote Access Controller", "6.10.30.00"},
      {"PERC H755 Front", "52.16.1-4405"},
      {"Broadcom Gigabit Ethernet BCM5720", "22.31.6"},
      {"Mellanox ConnectX-6 Lx 2x25G", "26.36.10.10"},
      {"Backplane 1", "7.10"},
      {"PWR SPLY,1400W,RDNT,LTON (PSU 1)", "00.1D.7D"},
      {"PWR SPLY,1400W,RDNT,LTON (PSU 2)", "00.1D.7D"},
      {"Lifecycle Controller", "6.10.30.00"},
      {"System CPLD", "1.1.1"}};
  std::vector<std::string> items;
  int n = 0;
  for (const auto& [name, version] : kFirmware) {
    const std::string id = "Installed-" + std::to_string(25000 + n++) + "-" + version;
    const std::string uri = root + "/UpdateService/FirmwareInventory/" + id;
    items.push_back(uri);
    Put(uri, {{"@odata.type", "#SoftwareInventory.v1_8_0.SoftwareInventory"},
              {"Id", id},
              {"Name", name},
              {"Version", version},
              {"Updateable", true},
              {"Status", {{"Health", "OK"}, {"State", "Enabled"}}}});
  }
  Collection(root + "/UpdateService/FirmwareInventory", "SoftwareInventoryCollection", items);
  return tree_;
}

// Serves the tree with $expand: links outside "Links" and "Oem" are replaced by the resources they point to.
class SimBmc {
 public:
  explicit SimBmc(std::map<std::string, Json> tree) : tree_(std::move(tree)) {
    for (const auto& [path, body] : tree_) plain_[path] = body.dump();
  }

  const std::map<std::string, Json>& tree() const { return tree_; }

  // Paths whose answer changes with $expand: those holding a link that $expand=. would inline.
  std::vector<std::string> ExpandablePaths() const {
    std::vector<std::string> out;
    for (const auto& [path, body] : tree_) {
      Json copy = body;
      if (Expand(copy, 1) > 0) out.push_back(path);
    }
    return out;
  }

  FakeResponse Answer(const FakeRequest& req) const {
    FakeResponse resp;
    auto it = tree_.find(req.path);
    if (it == tree_.end()) {
      resp.status = 404;
      resp.body = R"({"error":{"code":"Base.1.8.ResourceMissingAtURI"}})";
      return resp;
    }
    const int levels = ExpandLevels(req.query);
    if (levels == 0) {
      resp.body = plain_.at(req.path);
      return resp;
    }
    Json body = it->second;
    Expand(body, levels);
    resp.body = body.dump();
    return resp;
  }

 private:
  // 0 when the query asks for no expansion; the levels otherwise (at most 1, as this BMC advertises).
  static int ExpandLevels(const std::string& query) {
    if (query.find("$expand=") == std::string::npos && query.find("%24expand=") == std::string::npos) return 0;
    return 1;
  }

  static bool IsBareLink(const Json& j) { return j.is_object() && j.size() == 1 && j.contains("@odata.id"); }

  // Returns how many links were inlined.
  int Expand(Json& node, int levels) const {
    if (levels <= 0 || !node.is_object()) return 0;
    int n = 0;
    for (auto& [key, value] : node.items()) {
      if (key == "Links" || key == "Oem" || key.rfind("@odata", 0) == 0) continue;
      auto inline_one = [&](Json& link) {
        if (!IsBareLink(link)) return;
        auto target = tree_.find(link["@odata.id"].get<std::string>());
        if (target == tree_.end()) return;
        link = target->second;
        Expand(link, levels - 1);
        ++n;
      };
      if (value.is_array()) {
        for (auto& element : value) inline_one(element);
      } else {
        inline_one(value);
      }
    }
    return n;
  }

  std::map<std::string, Json> tree_;
  std::map<std::string, std::string> plain_;
};

// ---- the simulated estate: servers listening on many ports ------------------------------------------------

struct Estate {
  std::vector<std::unique_ptr<FakeUpstream>> servers;
  std::vector<std::string> addresses;  // per BMC, "http://127.0.0.1:port"
};

// Starts ceil(bmcs / ports_per_server) servers; BMC i is served by server i % servers, so that targets polled
// one after another land on different servers. Port blocks that cannot be bound are skipped.
bool StartEstate(const Args& args, const std::string& root_dir, const SimBmc& bmc, Estate& estate) {
  const int nservers = (args.bmcs + args.ports_per_server - 1) / args.ports_per_server;
  std::vector<std::vector<int>> ports(nservers);
  int next_port = args.first_port;
  for (int s = 0; s < nservers; ++s) {
    const int count = args.bmcs / nservers + (s < args.bmcs % nservers ? 1 : 0);
    for (int attempt = 0;; ++attempt) {
      if (attempt == 20 || next_port + count > 32000) {
        std::fprintf(stderr, "hardware_bench: no free block of %d ports from %d\n", count, args.first_port);
        return false;
      }
      std::string listen;
      std::vector<int> block;
      for (int p = 0; p < count; ++p) {
        block.push_back(next_port + p);
        listen += (p == 0 ? "" : ",") + std::string("127.0.0.1:") + std::to_string(next_port + p);
      }
      next_port += count;
      FakeUpstream::Options o;
      o.root_dir = root_dir;
      o.listen = listen;
      o.threads = args.server_threads;
      auto server = std::make_unique<FakeUpstream>(o);
      for (const auto& path : bmc.ExpandablePaths()) {
        server->Route("GET", path, [&bmc](const FakeRequest& r) { return bmc.Answer(r); });
      }
      server->Route("POST", "/redfish/v1/SessionService/Sessions", [](const FakeRequest&) {
        FakeResponse r;
        r.status = 201;
        r.headers = {{"X-Auth-Token", "bench-token"}, {"Location", "/redfish/v1/SessionService/Sessions/bench"}};
        r.body = R"({"@odata.id":"/redfish/v1/SessionService/Sessions/bench","Id":"bench","UserName":"monitor"})";
        return r;
      });
      server->Route("DELETE", "/redfish/v1/SessionService/Sessions/bench", [](const FakeRequest&) {
        FakeResponse r;
        r.status = 204;
        return r;
      });
      estate::testing::Fault slow;
      slow.latency_seconds = args.latency_seconds;
      if (args.latency_seconds > 0) server->AddFault(slow);
      auto started = server->Start();
      if (!started) continue;  // part of the block is taken: try the next one
      ports[s] = block;
      estate.servers.push_back(std::move(server));
      break;
    }
  }
  estate.addresses.resize(args.bmcs);
  for (int i = 0; i < args.bmcs; ++i) {
    estate.addresses[i] = "http://127.0.0.1:" + std::to_string(ports[i % nservers][i / nservers]);
  }
  return true;
}

// civetweb notices a stop only after its accept poll times out (the fake cannot wake a multi-port listener),
// so stop the servers in parallel.
void StopEstate(Estate& estate) {
  std::vector<std::thread> stoppers;
  for (auto& s : estate.servers) stoppers.emplace_back([&s] { s->Stop(); });
  for (auto& t : stoppers) t.join();
}

struct RequestTally {
  std::size_t total = 0;
  std::size_t gets = 0;
  std::size_t posts = 0;
  std::size_t deletes = 0;
  std::size_t thermal = 0;   // one per fast poll
  std::size_t firmware = 0;  // one per slow poll
};

RequestTally Tally(const Estate& estate) {
  RequestTally t;
  for (const auto& s : estate.servers) {
    t.total += s->RequestCount();
    for (const auto& r : s->Requests()) {
      if (r.method == "GET") {
        ++t.gets;
        if (r.path.ends_with("/Thermal")) ++t.thermal;
        if (r.path.ends_with("/FirmwareInventory")) ++t.firmware;
      } else if (r.method == "POST") {
        ++t.posts;
      } else if (r.method == "DELETE") {
        ++t.deletes;
      }
    }
  }
  return t;
}

// ---- the exporter ---------------------------------------------------------------------------------------

double PeakRssMib(pid_t pid) { return estate::bench::ProcStatusMib(pid, "VmHWM"); }
double CpuSeconds(pid_t pid) { return estate::bench::ProcCpuSeconds(pid); }

std::string WriteConfig(const Args& args, const Estate& estate, const TempDir& dir) {
  std::ostringstream y;
  y << "# Written by hardware_bench: " << args.bmcs << " simulated BMCs.\n"
    << "defaults:\n"
    << "  fast_interval: " << args.fast_interval << "\n"
    << "  slow_interval: " << args.slow_interval << "\n"
    << "  request_timeout: 20s\n"
    << "  max_requests_per_bmc: 2\n"
    << "  use_expand: " << (args.use_expand ? "true" : "false") << "\n"
    << "auths:\n"
    << "  bench:\n"
    << "    username: monitor\n"
    << "    password_env: BENCH_BMC_PASSWORD\n"
    << "targets:\n";
  char name[32];
  for (int i = 0; i < args.bmcs; ++i) {
    std::snprintf(name, sizeof name, "bmc-%04d", i);
    y << "  - {name: " << name << ", address: \"" << estate.addresses[i]
      << "\", protocol: redfish, auth: bench, labels: {host: hv-" << (name + 4) << "}}\n";
  }
  return dir.Write("hardware.yml", y.str());
}

struct MetricsSummary {
  int up = 0;
  int jobs = 0;
  double poll_requests_fast = 0;
  double poll_requests_slow = 0;
  double min_fast_success_unix = 0;  // the oldest last success of a fast job
  std::size_t series = 0;
};

MetricsSummary Summarise(const std::string& body) {
  MetricsSummary m;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    ++m.series;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (line.rfind("estate_hardware_source_up{", 0) == 0) {
      ++m.jobs;
      if (value == 1) ++m.up;
    } else if (line.rfind("estate_hardware_source_last_success_timestamp_seconds{", 0) == 0) {
      if (line.find("group=\"fast\"") != std::string::npos &&
          (m.min_fast_success_unix == 0 || value < m.min_fast_success_unix)) {
        m.min_fast_success_unix = value;
      }
    } else if (line.rfind("estate_hardware_poll_requests{", 0) == 0) {
      if (line.find("group=\"fast\"") != std::string::npos) m.poll_requests_fast += value;
      if (line.find("group=\"slow\"") != std::string::npos) m.poll_requests_slow += value;
    }
  }
  return m;
}

struct ScrapeStats {
  std::vector<double> latencies_ms;
  int errors = 0;
  std::size_t last_body_bytes = 0;
};

std::size_t Discard(char*, std::size_t size, std::size_t n, void* counted) {
  *static_cast<std::size_t*>(counted) += size * n;
  return size * n;
}

// `clients` threads GET url back to back for `seconds`, each on its own keep-alive connection like a
// Prometheus server. With gzip the body is asked for compressed and not decompressed here (that would be the
// scraper's CPU, not the exporter's). With pause_seconds, each client waits that long between scrapes.
ScrapeStats ScrapeLoad(const std::string& url, int clients, double seconds, bool gzip, double pause_seconds = 0) {
  ScrapeStats out;
  std::mutex mu;
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      std::vector<double> mine;
      int errors = 0;
      std::size_t bytes = 0;
      CURL* curl = curl_easy_init();
      curl_slist* headers = nullptr;
      if (gzip) headers = curl_slist_append(headers, "Accept-Encoding: gzip");
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Discard);
      curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bytes);
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
      curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
      while (Clock::now() < until) {
        bytes = 0;
        const auto start = Clock::now();
        CURLcode rc = curl_easy_perform(curl);
        const double ms = Seconds(Clock::now() - start) * 1000;
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK || code != 200) {
          ++errors;
          continue;
        }
        mine.push_back(ms);
        if (pause_seconds > 0) {
          std::this_thread::sleep_for(std::chrono::duration<double>(pause_seconds));
        }
      }
      curl_slist_free_all(headers);
      curl_easy_cleanup(curl);
      std::lock_guard lock(mu);
      out.latencies_ms.insert(out.latencies_ms.end(), mine.begin(), mine.end());
      out.errors += errors;
      out.last_body_bytes = bytes;
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, args)) return kExitBroken;

  // Every BMC is a listening socket here, plus one connection per request in flight.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (nofile.rlim_cur < static_cast<rlim_t>(args.bmcs) + 1024) {
    std::fprintf(stderr, "hardware_bench: RLIMIT_NOFILE %llu is too low for %d BMCs\n",
                 static_cast<unsigned long long>(nofile.rlim_cur), args.bmcs);
    return kExitBroken;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);

  const std::string exporter_bin = estate::testing::BinaryPath("estate-hardware-exporter");
  if (exporter_bin.empty()) {
    std::fprintf(stderr, "hardware_bench: estate-hardware-exporter not built\n");
    return kExitBroken;
  }

  TempDir dir;
  SimBmc bmc(TreeBuilder(args.use_expand).Build());
  std::size_t tree_bytes = 0;
  for (const auto& [path, body] : bmc.tree()) {
    std::string text = body.dump(2);
    tree_bytes += text.size();
    dir.Write("tree" + path + "/index.json", text);
  }
  Info("simulated BMC: " + std::to_string(bmc.tree().size()) + " resources, " +
       std::to_string(tree_bytes / 1024) +
       " KiB (Dell iDRAC 9-like: 1 system, 1 chassis, 1 manager, 1 RAID controller with cache and battery, "
       "8 drives, 2 volumes, 16 DIMMs, 2 CPUs, 8 fans, 20 temperatures, 2 PSUs, 1 NIC with 2 ports, 10 "
       "firmware items, 50 SEL "
       "entries; $expand " +
       (args.use_expand ? "advertised (MaxLevels 1)" : "not advertised") + ")");

  Estate estate;
  if (!StartEstate(args, dir.path() + "/tree", bmc, estate)) return kExitBroken;
  Info(std::to_string(args.bmcs) + " BMCs on " + std::to_string(estate.servers.size()) + " fake servers (" +
       std::to_string(args.server_threads) + " threads each), " +
       std::to_string(static_cast<int>(args.latency_seconds * 1000)) + " ms per answer");

  const std::string config = WriteConfig(args, estate, dir);
  const int port = estate::testing::FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ChildProcess exporter;
  std::map<std::string, std::string> env = args.exporter_env;
  env["BENCH_BMC_PASSWORD"] = "bench-secret";
  const auto t0 = Clock::now();
  auto started = exporter.Start({exporter_bin, "--config.file=" + config, "--web.listen-address=127.0.0.1:" +
                                 std::to_string(port), "--refresh.workers=" + std::to_string(args.workers),
                                 "--web.max-requests=" + std::to_string(args.web_max_requests), "--log.level=warn"},
                                dir.path() + "/exporter.log", env);
  if (!started) {
    std::fprintf(stderr, "hardware_bench: cannot start the exporter: %s\n", started.error().c_str());
    return kExitBroken;
  }
  Info("exporter " + exporter_bin + " pid " + std::to_string(exporter.pid()) + ", --refresh.workers=" +
       std::to_string(args.workers) + " --web.max-requests=" + std::to_string(args.web_max_requests));

  // (1) Wait until every fast and slow job is up.
  const int want_jobs = 2 * args.bmcs;
  double round_seconds = -1;
  double round_cpu = 0;
  double round_end_unix = 0;
  RequestTally round_tally;
  int last_up = -1;
  auto next_report = t0 + std::chrono::seconds(15);
  while (Seconds(Clock::now() - t0) < args.round_deadline_seconds) {
    if (!exporter.Running()) {
      std::fprintf(stderr, "hardware_bench: the exporter exited; its log:\n%s\n", exporter.Log().c_str());
      StopEstate(estate);
      return kExitBroken;
    }
    auto resp = estate::testing::HttpGet(base + "/metrics", 30);
    if (resp.status == 200) {
      MetricsSummary m = Summarise(resp.body);
      last_up = m.up;
      if (m.jobs == want_jobs && m.up == want_jobs) {
        round_seconds = Seconds(Clock::now() - t0);
        round_end_unix = UnixNow();
        round_cpu = CpuSeconds(exporter.pid());
        round_tally = Tally(estate);
        break;
      }
    }
    if (Clock::now() >= next_report) {
      Info("t=" + std::to_string(static_cast<int>(Seconds(Clock::now() - t0))) + "s: " + std::to_string(last_up) +
           "/" + std::to_string(want_jobs) + " jobs up");
      next_report += std::chrono::seconds(15);
    }
    std::this_thread::sleep_for(std::chrono::seconds(std::max(1, args.round_poll_seconds)));
  }
  if (round_seconds < 0) {
    std::fprintf(stderr, "hardware_bench: only %d of %d jobs up after %.0f s; exporter log tail:\n%s\n", last_up,
                 want_jobs, args.round_deadline_seconds, exporter.Log().substr(0, 4000).c_str());
  }
  const double rss_after_round = PeakRssMib(exporter.pid());

  // (5) /metrics latency under 20 concurrent scrapers while background polling goes on: first as Prometheus
  // scrapes (gzip), then uncompressed.
  const double cpu_before_scrapes = CpuSeconds(exporter.pid());
  const ScrapeStats gzip_load = ScrapeLoad(base + "/metrics", args.scrape_clients, args.scrape_seconds, true);
  const double rss_after_gzip = PeakRssMib(exporter.pid());
  const ScrapeStats plain_load =
      ScrapeLoad(base + "/metrics", args.scrape_clients, args.scrape_plain_seconds, false);
  const double rss_after_plain = PeakRssMib(exporter.pid());
  const double cpu_scrapes = CpuSeconds(exporter.pid()) - cpu_before_scrapes;
  // A real Prometheus scrapes every 15-60 s, so (unlike the back-to-back load above) nearly every one of its
  // scrapes finds the data changed since the last: this measures what such a scrape waits.
  const ScrapeStats lone_load =
      args.lone_scrapes > 0
          ? ScrapeLoad(base + "/metrics", 1, args.lone_scrapes * args.lone_interval_seconds - 0.5 * args.lone_interval_seconds,
                       true, args.lone_interval_seconds)
          : ScrapeStats{};
  const std::string sample_body = estate::testing::HttpGet(base + "/metrics", 30).body;
  dir.Write("metrics.txt", sample_body);  // kept with ESTATE_KEEP_TEMP=1
  const MetricsSummary scraped = Summarise(sample_body);

  // (3) Steady state: wait until every fast job has polled again after the first round (no discovery then),
  // then read each job's last poll from estate_hardware_poll_requests; the CPU of that quiet window over the
  // fast polls the BMCs saw gives the cost of a steady-state fast poll.
  const double cpu_quiet_start = CpuSeconds(exporter.pid());
  const RequestTally tally_quiet_start = Tally(estate);
  MetricsSummary steady;
  bool steady_ok = false;
  for (const auto until = Clock::now() + std::chrono::seconds(args.steady_deadline_seconds); Clock::now() < until;) {
    steady = Summarise(estate::testing::HttpGet(base + "/metrics", 30).body);
    if (steady.min_fast_success_unix > round_end_unix) {
      steady_ok = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  const double cpu_quiet = CpuSeconds(exporter.pid()) - cpu_quiet_start;
  const RequestTally tally_quiet_end = Tally(estate);
  const double quiet_fast_polls = static_cast<double>(tally_quiet_end.thermal - tally_quiet_start.thermal);
  const double quiet_slow_polls = static_cast<double>(tally_quiet_end.firmware - tally_quiet_start.firmware);
  const double rss_peak = PeakRssMib(exporter.pid());

  // Shutdown: every session is logged out (DELETE) before the exporter exits.
  const RequestTally before_stop = Tally(estate);
  const auto stop_start = Clock::now();
  const int status = exporter.Stop(std::chrono::seconds(120));
  const double stop_seconds = Seconds(Clock::now() - stop_start);
  const RequestTally after_stop = Tally(estate);
  StopEstate(estate);

  // ---- figures ----
  const double n = static_cast<double>(args.bmcs);
  bool pass = true;
  std::vector<std::string> verdicts;
  auto verdict = [&](const std::string& what, bool ok) {
    verdicts.push_back(std::string(ok ? "PASS" : "FAIL") + ": " + what);
    pass = pass && ok;
  };
  auto num = [](double v) { return std::to_string(static_cast<long long>(std::llround(v))); };

  std::printf("\n");
  Figure("full_poll_seconds", round_seconds, "s",
         "target < " + num(args.max_round_seconds) + " s; every fast and slow job of every BMC up");
  verdict("all " + std::to_string(args.bmcs) + " BMCs fully polled within " + num(args.max_round_seconds) + " s",
          round_seconds >= 0 && round_seconds < args.max_round_seconds);

  Figure("peak_rss_after_round", rss_after_round, "MiB", "info; VmHWM when the first round completed");
  Figure("peak_rss_after_gzip_scrapes", rss_after_gzip, "MiB",
         "target <= " + num(args.max_rss_mib) + " MiB; VmHWM after polling and the gzip (Prometheus-like) scrapes");
  Figure("peak_rss_after_plain_scrapes", rss_after_plain, "MiB", "info; VmHWM after the uncompressed scrapes");
  Figure("peak_rss", rss_peak, "MiB", "info; VmHWM at the end");
  verdict("peak RSS <= " + num(args.max_rss_mib) + " MiB while polling and serving Prometheus-like scrapes",
          rss_after_gzip > 0 && rss_after_gzip <= args.max_rss_mib);

  const double steady_gets = (steady.poll_requests_fast + steady.poll_requests_slow) / n;
  Figure("requests_per_bmc_per_full_poll", steady_gets, "requests",
         "target <= " + num(args.max_gets_per_poll) + " (peers 55-60); steady state, fast + slow, from "
         "estate_hardware_poll_requests" + (steady_ok ? "" : " (NOT steady: some fast jobs did not re-poll)"));
  Figure("requests_per_bmc_fast_poll", steady.poll_requests_fast / n, "requests", "info");
  Figure("requests_per_bmc_slow_poll", steady.poll_requests_slow / n, "requests",
         "info; includes the topology rediscovery");
  Figure("first_round_gets_per_bmc", static_cast<double>(round_tally.gets) / n, "requests",
         "info; GETs the BMCs saw until the first round completed / BMCs: discovery by both groups, fast "
         "re-polls included");
  Info("first round: " + std::to_string(round_tally.total) + " requests (" + std::to_string(round_tally.gets) +
       " GET, " + std::to_string(round_tally.posts) + " POST session logins); " +
       std::to_string(round_tally.thermal) + " fast and " + std::to_string(round_tally.firmware) +
       " slow polls reached the BMCs");
  verdict("requests per BMC per full poll <= " + num(args.max_gets_per_poll),
          steady_ok && steady_gets > 0 && steady_gets <= args.max_gets_per_poll);

  Figure("cpu_seconds_per_bmc_first_round", round_cpu / n, "s",
         "info; exporter utime+stime from start until every job was up / BMCs (start-up, logins, discovery and "
         "fast re-polls included)");
  if (quiet_fast_polls > 0) {
    Figure("cpu_seconds_per_steady_poll", cpu_quiet / (quiet_fast_polls + quiet_slow_polls), "s",
           "info; " + num(quiet_fast_polls) + " fast and " + num(quiet_slow_polls) + " slow polls in " +
               num(cpu_quiet) + " CPU s (a /metrics read every 2 s included)");
  }

  auto latency = [&](const char* what, const ScrapeStats& load, double seconds, bool target) {
    const double p50 = Percentile(load.latencies_ms, 0.50);
    const double p99 = Percentile(load.latencies_ms, 0.99);
    const double pmax =
        load.latencies_ms.empty() ? 0 : *std::max_element(load.latencies_ms.begin(), load.latencies_ms.end());
    const std::string name = std::string("metrics_") + what;
    Figure((name + "_latency_p50").c_str(), p50, "ms", "info");
    Figure((name + "_latency_p99").c_str(), p99, "ms",
           target ? "target < " + num(args.max_scrape_p99_ms) + " ms" : std::string("info"));
    Figure((name + "_latency_max").c_str(), pmax, "ms", "info");
    Figure((name + "_scrapes").c_str(), static_cast<double>(load.latencies_ms.size()), "scrapes",
           "info; " + std::to_string(args.scrape_clients) + " clients for " + num(seconds) + " s, " +
               std::to_string(load.errors) + " errors");
    Figure((name + "_body_bytes").c_str(), static_cast<double>(load.last_body_bytes), "bytes", "info");
    if (target) {
      verdict("/metrics p99 < " + num(args.max_scrape_p99_ms) + " ms with " + std::to_string(args.scrape_clients) +
                  " concurrent Prometheus-like (gzip) scrapers",
              !load.latencies_ms.empty() && load.errors == 0 && p99 < args.max_scrape_p99_ms);
    }
  };
  latency("gzip", gzip_load, args.scrape_seconds, true);
  if (args.scrape_plain_seconds > 0) latency("plain", plain_load, args.scrape_plain_seconds, false);
  if (!lone_load.latencies_ms.empty()) {
    Figure("metrics_lone_gzip_latency_p50", Percentile(lone_load.latencies_ms, 0.5), "ms",
           "info; one gzip scraper alone, one scrape every " + num(args.lone_interval_seconds) + " s");
    Figure("metrics_lone_gzip_latency_max",
           *std::max_element(lone_load.latencies_ms.begin(), lone_load.latencies_ms.end()), "ms",
           "info; " + std::to_string(lone_load.latencies_ms.size()) + " scrapes");
  }
  Figure("metrics_series", static_cast<double>(scraped.series), "series", "info");
  if (const std::size_t scrapes = gzip_load.latencies_ms.size() + plain_load.latencies_ms.size(); scrapes > 0) {
    Figure("metrics_cpu_seconds_per_scrape", cpu_scrapes / static_cast<double>(scrapes), "s",
           "info; exporter CPU during both scrape phases (background polling included) / scrapes");
  }

  Figure("shutdown_seconds", stop_seconds, "s",
         "info; SIGTERM to exit, " + std::to_string(after_stop.deletes - before_stop.deletes) +
             " session DELETEs reached the BMCs (exit status " + std::to_string(status) + ")");

  std::printf("\n");
  for (const auto& v : verdicts) std::printf("bench: %s\n", v.c_str());
  std::printf("bench: %s\n", pass ? "PASS" : "FAIL");
  curl_global_cleanup();
  return pass ? 0 : kExitMissed;
}
