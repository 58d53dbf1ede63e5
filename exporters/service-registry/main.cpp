// estate-service-registry-exporter: apps (the three-letter acronym in their VMs' host names) that run VMs
// without a registered ServiceNow CMDB record, with owner hints (hypervisor teams, GoCD pipeline users), as
// metrics, a JSON API (/api/registry/v1/apps) and an HTML report (/report).
#include "estate/app.h"
#include "registry_exporter.h"

int main(int argc, char** argv) {
  estate::registry::RegistryExporter exporter;
  return estate::RunExporter(argc, argv, estate::registry::RegistryExporterInfo(), exporter);
}
