// estate-compliance-exporter: compliance results (InSpec exec JSON, the Automate envelope, HDF, json-min,
// OpenSCAP XCCDF and ARF) from scanned result folders and pushed to /data-collector/v0/, as metrics, with an
// HTML report at /report.
#include "compliance_exporter.h"
#include "estate/app.h"

int main(int argc, char** argv) {
  estate::compliance::ComplianceExporter exporter;
  return estate::RunExporter(argc, argv, estate::compliance::ComplianceExporterInfo(), exporter);
}
