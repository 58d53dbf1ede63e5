// estate-hardware-exporter: BMC health (Redfish and HPE iLO RIBCL) for every configured BMC, polled in the
// background; /metrics serves the latest snapshot and /probe?target= collects one BMC at scrape time.
#include "estate/app.h"
#include "hardware_exporter.h"

int main(int argc, char** argv) {
  estate::hardware::HardwareExporter exporter;
  return estate::RunExporter(argc, argv, estate::hardware::HardwareExporterInfo(), exporter);
}
