// estate-storage-mapping-exporter: Pure FlashArray volumes joined to OpenStack Cinder volumes, Nova servers and
// hypervisors, refreshed in the background per source; /metrics, /api/cvm/v1.0/volumes and /lookup serve the
// latest joined snapshot.
#include "estate/app.h"
#include "storage_exporter.h"

int main(int argc, char** argv) {
  estate::storage::StorageExporter exporter;
  return estate::RunExporter(argc, argv, estate::storage::StorageExporterInfo(), exporter);
}
