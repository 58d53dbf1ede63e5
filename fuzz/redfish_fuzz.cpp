// Redfish: any body through ParseBody, then every resource parser over the document (and over each member of
// a collection), as the Redfish client would feed them, whatever the resource really is.
#include "fuzz_common.h"
#include "redfish_parse.h"

namespace rf = estate::hardware::redfish;
using estate::hardware::Findings;

namespace {

void ParseAsEveryResource(const rf::Json& j, Findings& f) {
  (void)rf::ParseServiceRoot(j);
  (void)rf::GuessVendor(j);
  (void)rf::ParseStatus(j);
  (void)rf::FindLink(j, "Sessions");
  rf::ParseSystem(j, f);
  rf::ParseChassis(j, f);
  rf::ParseManager(j, f);
  rf::ParseThermal(j, f);
  rf::ParsePower(j, f);
  (void)rf::ParseFan(j);
  (void)rf::ParseTemperatureSensor(j);
  (void)rf::ParsePowerSupply(j, j);
  rf::ParsePowerSubsystem(j, f);
  (void)rf::ParseBattery(j, j);
  const auto storage = rf::ParseStorage(j, f);
  (void)rf::ParseDrive(j, storage.controller);
  (void)rf::ParseVolume(j, storage.controller);
  (void)rf::ParseArrayController(j, f);
  (void)rf::ParseMemory(j);
  (void)rf::ParseProcessor(j);
  (void)rf::ParseFirmwareItem(j);
  estate::hardware::LogSummary log;
  rf::AddToLog(rf::ParseLogEntry(j), log);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  (void)rf::NormalisePath(text);
  (void)rf::PathKey(text);
  (void)rf::LastSegment(text);
  auto body = rf::ParseBody(text);
  if (!body) return 0;
  Findings f;
  ParseAsEveryResource(*body, f);
  for (const auto& member : rf::Members(*body)) {
    (void)rf::IsExpanded(member.body);
    if (!member.body.is_null()) ParseAsEveryResource(member.body, f);
  }
  estate::hardware::DedupeKeys(f);
  (void)estate::hardware::ComputeHealth(f);
  return 0;
}
