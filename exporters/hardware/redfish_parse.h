// Pure parsers from Redfish JSON (DMTF, HPE iLO 5/6 OEM, the iLO 4 "/rest/v1" HP REST shape, Dell, Lenovo,
// Supermicro) into the hardware model. No I/O: the Redfish client fetches, these functions read.
//
// Every function tolerates what real BMCs send: absent members, nulls where numbers belong, "OK"/"Ok",
// Status without State, lowercase and trailing-slash URIs, HP REST links (`links.self.href`, `Type`), and
// members given inline (after $expand) or as links. Nothing here throws; unexpected shapes are skipped.
// Thread-safe (pure functions).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"
#include "hardware_model.h"

namespace estate::hardware::redfish {

using Json = nlohmann::json;

// Parses a response body; an error (never an exception) when it is not a JSON object or array.
Result<Json> ParseBody(std::string_view body);

// A Redfish error body ({"error": {"code", "message", "@Message.ExtendedInfo": [...]}}), which some BMCs send
// with HTTP 200 for a resource they do not have: its code and message ("Base.1.8.ResourceMissingAtURI: ..."),
// or nullopt when `body` is not one. Such a body is never a resource.
std::optional<std::string> RedfishError(const Json& body);

// "/redfish/v1/Systems/1/" or "https://bmc/redfish/v1/Systems/1#/Fans/0" -> "/redfish/v1/Systems/1".
std::string NormalisePath(std::string_view uri);
// NormalisePath, lower-cased: the identity of a resource when de-duplicating.
std::string PathKey(std::string_view uri);
// The last path segment of a URI ("Disk.Bay.2").
std::string LastSegment(std::string_view uri);

// Null-safe accessors: nullptr / empty / nullopt when absent, null or of another type.
const Json* Child(const Json& obj, std::string_view key);
std::string Str(const Json& obj, std::string_view key);
std::optional<double> Num(const Json& obj, std::string_view key);
std::optional<bool> Bool(const Json& obj, std::string_view key);

// The URI a link object points to: {"@odata.id": ...} or {"href": ...}.
std::string LinkTarget(const Json& link);
// A named link of a resource, looked up in the resource itself, in Links/links and in Oem.Hpe/Hp(.Links).
std::string FindLink(const Json& resource, std::string_view name);

struct Member {
  std::string uri;
  Json body;  // the member itself when the collection came expanded (or inline "Items"), else null
};
// Members of a collection: "Members" (Redfish), "links.Member" and "Items" (HP REST). De-duplicated by URI.
std::vector<Member> Members(const Json& collection);
// True when a member object carries more than its link.
bool IsExpanded(const Json& member);

struct ServiceRoot {
  std::string vendor;   // "HPE", "Dell", "Lenovo", "Supermicro", ... ("" when the root does not say)
  std::string product;
  std::string uuid;
  std::string bmc_model;  // from Oem.Hpe.Manager[0].ManagerType etc. when present
  std::string bmc_firmware;
  bool hp_rest = false;   // iLO 4 "/rest/v1" shape
  int expand_levels = 0;  // ProtocolFeaturesSupported.ExpandQuery: 0 = no $expand
  std::string systems, chassis, managers, update_service, sessions;
};
ServiceRoot ParseServiceRoot(const Json& root);
// Vendor from Manufacturer / Oem keys when the root has no Vendor.
std::string GuessVendor(const Json& resource);

// Status of a resource: {"Health","HealthRollup","State"} with HP REST "HealthRollUp".
Status ParseStatus(const Json& resource);

void ParseSystem(const Json& system, Findings& f);    // identity, power, rollups, HP(E) Oem batteries
void ParseChassis(const Json& chassis, Findings& f);  // chassis health, Oem.Hpe.SmartStorageBattery[]
void ParseManager(const Json& manager, Findings& f);  // BMC model / firmware, manager health

void ParseThermal(const Json& thermal, Findings& f);  // legacy Thermal: Fans[], Temperatures[]
void ParsePower(const Json& power, Findings& f);      // legacy Power: PowerSupplies[], PowerControl[], Redundancy[]
Fan ParseFan(const Json& fan);                        // ThermalSubsystem/Fans member
// A Sensors member that measures a temperature; nullopt for other sensors.
std::optional<Temperature> ParseTemperatureSensor(const Json& sensor);
// PowerSubsystem/PowerSupplies member and its Metrics (may be null).
PowerSupply ParsePowerSupply(const Json& psu, const Json& metrics);
void ParsePowerSubsystem(const Json& subsystem, Findings& f);  // PowerSupplyRedundancy
// PowerSubsystem/Batteries member and its Metrics (may be null).
Battery ParseBattery(const Json& battery, const Json& metrics);

// A DMTF Storage resource: adds its controllers (with CacheSummary and Dell battery) and returns the links to
// its drives (inline or linked) and volumes collection.
struct StorageLinks {
  std::string controller;  // key of the (first) controller, for the drives and volumes below it
  std::vector<Member> drives;
  std::string volumes;
};
StorageLinks ParseStorage(const Json& storage, Findings& f);
// DMTF Drive or HPE SmartStorage DiskDrive.
Drive ParseDrive(const Json& drive, const std::string& controller);
// DMTF Volume or HPE SmartStorage LogicalDrive.
Volume ParseVolume(const Json& volume, const std::string& controller);
// HPE Smart Array controller (iLO 4 and 5): adds the controller (CacheModuleStatus) and its backup power
// source battery; returns the links to its disk drives and logical drives collections.
struct ArrayControllerLinks {
  std::string controller;
  std::string disk_drives;
  std::string logical_drives;
};
ArrayControllerLinks ParseArrayController(const Json& controller, Findings& f);

Component ParseMemory(const Json& dimm);
Component ParseProcessor(const Json& cpu);
std::optional<Firmware> ParseFirmwareItem(const Json& item);
LogEntry ParseLogEntry(const Json& entry);
// Adds entries to a log summary (counts by severity, newest critical timestamp).
void AddToLog(const LogEntry& entry, LogSummary& log);

// --- components a person would check (issue #13) ---

// The short key of a chassis for the `chassis` label: the last segment of its URI ("1", "System.Embedded.1").
std::string ChassisKey(std::string_view chassis_uri);

// A DMTF NetworkAdapter (Chassis/<id>/NetworkAdapters member): adds the adapter (identity from the resource
// and its Controllers[]) and returns the link to its ports collection ("Ports", or the older "NetworkPorts").
std::string ParseNetworkAdapter(const Json& adapter, const std::string& chassis, Findings& f);
// A DMTF Port or the older NetworkPort of `adapter`.
NetworkPort ParseNetworkPort(const Json& port, const std::string& adapter, const std::string& chassis);
// An HPE BaseNetworkAdapter (iLO 4/5 Systems/<id>/BaseNetworkAdapters member): the adapter and its inline
// PhysicalPorts[].
void ParseBaseNetworkAdapter(const Json& adapter, const std::string& chassis, Findings& f);
// A Chassis/<id>/Assembly resource: the Assemblies[] entries that carry a Status.
void ParseAssembly(const Json& assembly, const std::string& chassis, Findings& f);
// Vendor subsystem rollups of a computer system: HPE Oem.Hpe/Hp.AggregateHealthStatus members with a Status
// and Dell Oem.Dell.DellSystem *RollupStatus fields, into f.reported_subsystems (replacing what was there).
void ParseSubsystemRollups(const Json& system, Findings& f);

}  // namespace estate::hardware::redfish
