// The join (every naming rule and row shape), the lookup index, and the mapping's metric families. All data
// is invented here.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "estate/testing/e2e.h"
#include "storage_join.h"
#include "storage_metrics.h"

namespace estate::storage {
namespace {

constexpr double kNow = 1800000000;

// Invented UUIDs: "<n>" padded into a valid lower-case UUID.
std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-aaaa-4bbb-8ccc-%012x", n, n);
  return buf;
}
std::string PureName(const std::string& uuid) { return "volume-" + uuid + "-cinder"; }

PureVolume PVol(const std::string& name, const std::string& serial, double used = 1024) {
  PureVolume v;
  v.id = "pv-" + name;
  v.name = name;
  v.serial = serial;
  auto pod = name.find("::");
  if (pod != std::string::npos) v.pod = name.substr(0, pod);
  v.provisioned_bytes = 10737418240;
  v.used_bytes = used;
  return v;
}

CinderVolume CVol(const std::string& id, const std::string& name, const std::string& status = "in-use") {
  CinderVolume v;
  v.id = id;
  v.name = name;
  v.status = status;
  v.volume_type = "pure-ssd";
  v.project_id = "p-1";
  v.backend_host = "cinder-vol@pure-a#pool";
  return v;
}

CinderAttachment Att(const std::string& server, const std::string& device,
                     const std::string& host = "cmp-01") {
  CinderAttachment a;
  a.server_id = server;
  a.host_name = host;
  a.device = device;
  return a;
}

NovaServer Server(const std::string& id, const std::string& name, const std::string& hv) {
  NovaServer s;
  s.id = id;
  s.name = name;
  s.status = "ACTIVE";
  s.project_id = "p-1";
  s.host_name = name + ".guest";
  s.hypervisor = hv;
  s.hypervisor_hostname = hv + ".example";
  return s;
}

struct Fixture {
  std::shared_ptr<CloudSnapshot> cloud = std::make_shared<CloudSnapshot>();
  std::shared_ptr<ArraySnapshot> array = std::make_shared<ArraySnapshot>();
  JoinConfig config;
  Fixture() {
    cloud->cloud = "prod";
    cloud->project_names = {{"p-1", "webshop"}};
    cloud->servers = {Server("srv-1", "web-1", "cmp-01"), Server("srv-2", "web-2", "cmp-02")};
    array->array = "pure-a";
    array->array_name = "fa-x70-a";
    array->api_version = "2.26";
    config.clouds = {{"prod", {"pure-a"}}};
    config.arrays = {"pure-a"};
  }
  Mapping Run(std::vector<std::shared_ptr<const ArraySnapshot>> extra = {}) const {
    std::vector<std::shared_ptr<const ArraySnapshot>> arrays = {array};
    for (auto& a : extra) arrays.push_back(a);
    return Join({cloud}, arrays, config, kNow);
  }
};

std::vector<const VolumeRow*> RowsOf(const Mapping& m, const std::string& state) {
  std::vector<const VolumeRow*> out;
  for (const auto& r : m.rows) {
    if (r.state == state) out.push_back(&r);
  }
  return out;
}

// ---- naming rules
// -------------------------------------------------------------------------------------------

TEST(StorageJoin, ProviderIdWinsAndRowCarriesEverySide) {
  Fixture f;
  auto v = CVol(Uuid(1), "kafka_logs_04");
  v.provider_id = "custom-name-from-driver";
  v.array_volume_name = PureName(Uuid(1));  // also present, but provider_id comes first
  v.attachments = {Att("srv-1", "/dev/vdb")};
  f.cloud->volumes = {v};
  f.array->volumes = {PVol("custom-name-from-driver", "6C1B16CE1C034D1C00024C6F", 2048),
                      PVol(PureName(Uuid(1)), "AAAA16CE1C034D1C00024C6F")};
  Mapping m = f.Run();
  auto cur = RowsOf(m, "current");
  ASSERT_EQ(cur.size(), 1u);
  const VolumeRow& r = *cur[0];
  EXPECT_EQ(r.match, "provider_id");
  EXPECT_EQ(r.array, "pure-a");
  EXPECT_EQ(r.array_volume, "custom-name-from-driver");
  EXPECT_EQ(r.serial, "6C1B16CE1C034D1C00024C6F");
  EXPECT_EQ(r.wwid, "3624a93706c1b16ce1c034d1c00024c6f");
  EXPECT_EQ(r.used_bytes, 2048);
  EXPECT_EQ(r.provisioned_bytes, 10737418240);
  EXPECT_EQ(r.cloud, "prod");
  EXPECT_EQ(r.cinder_id, Uuid(1));
  EXPECT_EQ(r.cinder_name, "kafka_logs_04");
  EXPECT_EQ(r.volume_type, "pure-ssd");
  EXPECT_EQ(r.status, "in-use");
  EXPECT_EQ(r.project_id, "p-1");
  EXPECT_EQ(r.project, "webshop");
  EXPECT_EQ(r.server_id, "srv-1");
  EXPECT_EQ(r.server_name, "web-1");
  EXPECT_EQ(r.host_name, "web-1.guest");
  EXPECT_EQ(r.hypervisor, "cmp-01");
  EXPECT_EQ(r.device, "/dev/vdb");
  EXPECT_EQ(r.last_seen_unix, kNow);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.destroyed);
  // The other array volume is Cinder-named and unclaimed: an orphan.
  auto orphans = RowsOf(m, "orphan");
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0]->array_volume, PureName(Uuid(1)));
  EXPECT_EQ(m.Array("pure-a")->joined, 1u);
  EXPECT_EQ(m.Array("pure-a")->orphans, 1u);
}

TEST(StorageJoin, ProviderIdAbsentOnArrayFallsBackToMetadataThenId) {
  Fixture f;
  auto a = CVol(Uuid(1), "a");
  a.provider_id = "not-on-any-array";
  a.array_volume_name = "meta-name";
  auto b = CVol(Uuid(2), "b");
  b.provider_id = "also-not-there";
  f.cloud->volumes = {a, b};
  f.array->volumes = {PVol("meta-name", "01"), PVol(PureName(Uuid(2)), "02")};
  Mapping m = f.Run();
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0].match, "metadata");
  EXPECT_EQ(m.rows[0].array_volume, "meta-name");
  EXPECT_EQ(m.rows[1].match, "id");
  EXPECT_EQ(m.rows[1].array_volume, PureName(Uuid(2)));
}

TEST(StorageJoin, MigratedVolumeUsesNameIdAndNeverItsOwnId) {
  Fixture f;
  auto migrated = CVol(Uuid(1), "migrated");
  migrated.name_id = Uuid(100);
  auto stale = CVol(Uuid(2), "stale-name-id");
  stale.name_id = Uuid(200);  // array only has volume-<id>-cinder, which Cinder would not use
  f.cloud->volumes = {migrated, stale};
  f.array->volumes = {PVol(PureName(Uuid(100)), "0A"), PVol(PureName(Uuid(2)), "0B")};
  Mapping m = f.Run();
  auto cur = RowsOf(m, "current");
  ASSERT_EQ(cur.size(), 1u);
  EXPECT_EQ(cur[0]->cinder_id, Uuid(1));
  EXPECT_EQ(cur[0]->array_volume, PureName(Uuid(100)));
  EXPECT_EQ(cur[0]->match, "name_id");
  auto missing = RowsOf(m, "missing_on_array");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0]->cinder_id, Uuid(2));
  auto orphans = RowsOf(m, "orphan");
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0]->array_volume, PureName(Uuid(2)));
}

TEST(StorageJoin, PodPrefixUnmanagedSuffixAndTruncationAreTolerated) {
  Fixture f;
  f.cloud->volumes = {CVol(Uuid(1), "in-pod"), CVol(Uuid(2), "unmanaged"), CVol(Uuid(3), "truncated")};
  f.cloud->volumes[0].provider_id = "cinder-pod::" + PureName(Uuid(1));
  const std::string unmanaged_long = PureName(Uuid(3)) + "-unmanaged";  // 60 characters
  ASSERT_EQ(unmanaged_long.size(), 60u);
  const std::string truncated = unmanaged_long.substr(unmanaged_long.size() - 56);
  f.array->volumes = {PVol("cinder-pod::" + PureName(Uuid(1)), "01"),
                      PVol(PureName(Uuid(2)) + "-unmanaged", "02"), PVol(truncated, "03")};
  Mapping m = f.Run();
  auto cur = RowsOf(m, "current");
  ASSERT_EQ(cur.size(), 3u);
  EXPECT_EQ(cur[0]->array_volume, "cinder-pod::" + PureName(Uuid(1)));
  EXPECT_EQ(cur[0]->pod, "cinder-pod");
  EXPECT_EQ(cur[0]->match, "provider_id");
  EXPECT_EQ(cur[1]->array_volume, PureName(Uuid(2)) + "-unmanaged");
  EXPECT_EQ(cur[1]->match, "id");
  EXPECT_EQ(cur[2]->array_volume, truncated);
  EXPECT_EQ(cur[2]->match, "id");
  EXPECT_TRUE(RowsOf(m, "orphan").empty());
  EXPECT_TRUE(RowsOf(m, "missing_on_array").empty());
}

TEST(StorageJoin, NameHelpers) {
  const std::string name = PureName(Uuid(7));
  EXPECT_TRUE(LooksCinderMade(name));
  EXPECT_TRUE(LooksCinderMade("cinder-pod::" + name));
  EXPECT_TRUE(LooksCinderMade(name + "-unmanaged"));
  EXPECT_TRUE(LooksCinderMade((name + "-unmanaged").substr(4)));   // left-truncated to 56
  EXPECT_FALSE(LooksCinderMade((name + "-unmanaged").substr(5)));  // 55: not what the driver makes
  EXPECT_FALSE(LooksCinderMade("volume-" + Uuid(7)));
  EXPECT_FALSE(LooksCinderMade("volume-" + Uuid(7) + "-cinder.snap-1"));
  EXPECT_FALSE(LooksCinderMade("VOLUME-" + Uuid(7) + "-cinder"));
  EXPECT_FALSE(LooksCinderMade("oracle-data-01"));
  EXPECT_FALSE(LooksCinderMade("xvolume-" + Uuid(7) + "-cinder"));

  EXPECT_TRUE(ArrayNameMatches(name, name));
  EXPECT_TRUE(ArrayNameMatches("pod-b::" + name, "cinder-pod::" + name));
  EXPECT_TRUE(ArrayNameMatches(name + "-unmanaged", name));
  EXPECT_TRUE(ArrayNameMatches((name + "-unmanaged").substr(4), name));
  EXPECT_FALSE(ArrayNameMatches(name.substr(1), name));  // shorter than 56: not a truncation
  EXPECT_FALSE(ArrayNameMatches(PureName(Uuid(8)), name));

  EXPECT_EQ(CinderBackend("cinder-vol@pure-a#pool"), "pure-a");
  EXPECT_EQ(CinderBackend("cinder-vol@pure-a"), "pure-a");
  EXPECT_EQ(CinderBackend("cinder-vol"), "");
  EXPECT_TRUE(ExpectedOnArray("available"));
  EXPECT_TRUE(ExpectedOnArray("in-use"));
  EXPECT_TRUE(ExpectedOnArray("maintenance"));
  EXPECT_TRUE(ExpectedOnArray("reserved"));
  EXPECT_FALSE(ExpectedOnArray("creating"));
  EXPECT_FALSE(ExpectedOnArray("error"));
  EXPECT_FALSE(ExpectedOnArray("error_deleting"));
  EXPECT_FALSE(ExpectedOnArray("deleting"));
  EXPECT_FALSE(ExpectedOnArray("downloading"));
  EXPECT_EQ(WwidFromSerial("6C1B16CE1C034D1C00024C6F"), "3624a93706c1b16ce1c034d1c00024c6f");

  EXPECT_EQ(NormalizeLookupId("  6C1B16CE1C034D1C00024C6F\n"), "6c1b16ce1c034d1c00024c6f");
  EXPECT_EQ(NormalizeLookupId("naa.624A93706C1B16CE1C034D1C00024C6F"), "3624a93706c1b16ce1c034d1c00024c6f");
  EXPECT_EQ(NormalizeLookupId("/dev/disk/by-id/dm-uuid-mpath-3624a93706c1b16ce1c034d1c00024c6f"),
            "3624a93706c1b16ce1c034d1c00024c6f");
  EXPECT_EQ(NormalizeLookupId("wwn-0x624a93706c1b16ce1c034d1c00024c6f"), "3624a93706c1b16ce1c034d1c00024c6f");
  // As the HTTP server passes it on from /api/cvm/v1.0/volumes/%2Fdev%2Fdisk%2Fby-id%2F...
  EXPECT_EQ(NormalizeLookupId("dev/disk/by-id/scsi-3624a93706c1b16ce1c034d1c00024c6f"),
            "3624a93706c1b16ce1c034d1c00024c6f");
  EXPECT_EQ(NormalizeLookupId("Cinder-Pod::Volume-X"), "cinder-pod::volume-x");
  // What a guest sees: a virtio-blk disk's serial (the volume id's first 20 characters), a virtio-scsi disk.
  EXPECT_EQ(NormalizeLookupId("/dev/disk/by-id/virtio-80f5b4ad-2997-4c4a-9"), "80f5b4ad-2997-4c4a-9");
  EXPECT_EQ(
      NormalizeLookupId("/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_80f5b4ad-2997-4c4a-96be-763ea57365cc"),
      "80f5b4ad-2997-4c4a-96be-763ea57365cc");
}

// ---- row shapes
// ---------------------------------------------------------------------------------------------

TEST(StorageJoin, ActiveClusterVolumeHasACurrentRowOnEachArray) {
  Fixture f;
  auto v = CVol(Uuid(1), "stretched");
  v.provider_id = "cinder-pod::" + PureName(Uuid(1));
  v.attachments = {Att("srv-1", "/dev/vdc")};
  f.cloud->volumes = {v};
  f.array->volumes = {PVol(v.provider_id.str(), "ABCDEF0123456789ABCDEF01")};
  auto b = std::make_shared<ArraySnapshot>();
  b->array = "pure-b";
  b->volumes = {PVol(v.provider_id.str(), "ABCDEF0123456789ABCDEF01")};
  f.config.arrays.push_back("pure-b");
  Mapping m = f.Run({b});
  auto cur = RowsOf(m, "current");
  ASSERT_EQ(cur.size(), 2u);
  std::set<std::string> arrays = {cur[0]->array.str(), cur[1]->array.str()};
  EXPECT_EQ(arrays, (std::set<std::string>{"pure-a", "pure-b"}));
  for (const auto* r : cur) {
    EXPECT_EQ(r->server_id, "srv-1");
    EXPECT_EQ(r->pod, "cinder-pod");
    EXPECT_EQ(r->wwid, "3624a9370abcdef0123456789abcdef01");
  }
  EXPECT_EQ(m.Lookup("abcdef0123456789abcdef01").size(), 2u);
  EXPECT_EQ(m.Lookup(Uuid(1)).size(), 2u);
  EXPECT_TRUE(RowsOf(m, "orphan").empty());
}

TEST(StorageJoin, MultiAttachDetachedAndBootFromVolume) {
  Fixture f;
  auto shared = CVol(Uuid(1), "shared-disk");
  shared.multiattach = true;
  shared.attachments = {Att("srv-1", "/dev/vdb"), Att("srv-2", "/dev/vdc", "cmp-02")};
  auto detached = CVol(Uuid(2), "spare", "available");
  auto root = CVol(Uuid(3), "root");
  root.bootable = true;
  root.attachments = {Att("srv-2", "/dev/vda", "cmp-02")};
  f.cloud->volumes = {shared, detached, root};
  f.array->volumes = {PVol(PureName(Uuid(1)), "01"), PVol(PureName(Uuid(2)), "02"),
                      PVol(PureName(Uuid(3)), "03")};
  Mapping m = f.Run();
  ASSERT_EQ(m.rows.size(), 4u);
  auto multi = m.Lookup(Uuid(1));
  ASSERT_EQ(multi.size(), 2u);
  EXPECT_EQ(multi[0]->server_name, "web-1");
  EXPECT_EQ(multi[0]->device, "/dev/vdb");
  EXPECT_EQ(multi[1]->server_name, "web-2");
  EXPECT_EQ(multi[1]->hypervisor, "cmp-02");
  EXPECT_EQ(multi[1]->device, "/dev/vdc");
  auto spare = m.Lookup(Uuid(2));
  ASSERT_EQ(spare.size(), 1u);
  EXPECT_EQ(spare[0]->state, "current");
  EXPECT_EQ(spare[0]->server_id, "");
  EXPECT_EQ(spare[0]->server_name, "");
  EXPECT_EQ(spare[0]->host_name, "");
  EXPECT_EQ(spare[0]->hypervisor, "");
  EXPECT_EQ(spare[0]->device, "");
  auto bfv = m.Lookup(Uuid(3));
  ASSERT_EQ(bfv.size(), 1u);
  EXPECT_TRUE(bfv[0]->bootable);
  EXPECT_EQ(bfv[0]->device, "/dev/vda");
  EXPECT_EQ(bfv[0]->host_name, "web-2.guest");
  EXPECT_EQ(m.Array("pure-a")->joined, 3u);
}

TEST(StorageJoin, UnknownServerFallsBackToAttachmentHostAndProjectToId) {
  Fixture f;
  auto v = CVol(Uuid(1), "x");
  v.project_id = "p-unknown";
  v.attachments = {Att("srv-gone", "/dev/vdb", "cmp-09")};
  auto w = CVol(Uuid(2), "y");
  w.attachments = {Att("srv-nohv", "/dev/vdb", "cmp-07")};
  f.cloud->servers.push_back(Server("srv-nohv", "no-hv", ""));  // non-admin view: no hypervisor
  f.cloud->volumes = {v, w};
  f.array->volumes = {PVol(PureName(Uuid(1)), "01"), PVol(PureName(Uuid(2)), "02")};
  Mapping m = f.Run();
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0].server_id, "srv-gone");
  EXPECT_EQ(m.rows[0].server_name, "");
  EXPECT_EQ(m.rows[0].hypervisor, "cmp-09");
  EXPECT_EQ(m.rows[0].project, "p-unknown");
  EXPECT_EQ(m.rows[1].server_name, "no-hv");
  EXPECT_EQ(m.rows[1].hypervisor, "cmp-07");
}

TEST(StorageJoin, DestroyedVolumesKeepTheirFlagAndDestroyedOrphansAreCountedApart) {
  Fixture f;
  f.cloud->volumes = {CVol(Uuid(1), "being-deleted", "deleting")};
  f.array->volumes = {PVol(PureName(Uuid(1)), "01"), PVol(PureName(Uuid(2)), "02"),
                      PVol(PureName(Uuid(3)), "03")};
  f.array->volumes[0].destroyed = true;
  f.array->volumes[1].destroyed = true;
  Mapping m = f.Run();
  auto cur = m.Lookup(Uuid(1));
  ASSERT_EQ(cur.size(), 1u);
  EXPECT_TRUE(cur[0]->destroyed);
  EXPECT_EQ(cur[0]->state, "current");
  auto orphans = RowsOf(m, "orphan");
  ASSERT_EQ(orphans.size(), 2u);
  EXPECT_TRUE(orphans[0]->destroyed);
  EXPECT_FALSE(orphans[1]->destroyed);
  EXPECT_EQ(m.Array("pure-a")->orphans, 1u);
  EXPECT_EQ(m.Array("pure-a")->destroyed_orphans, 1u);
  ASSERT_EQ(m.orphan_since.size(), 1u);
  EXPECT_EQ(m.orphan_since.begin()->first.second, PureName(Uuid(3)));
  EXPECT_EQ(m.orphan_since.begin()->second, kNow);
  // /metrics says what the page says (issue #14): the current row's volume is destroyed too.
  EXPECT_EQ(m.Array("pure-a")->destroyed_joined, 1u);
  const std::string text = metrics::Render(MappingFamilies(m));
  EXPECT_NE(text.find("estate_storage_destroyed_volumes{array=\"pure-a\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_storage_volume_destroyed{array=\"pure-a\",array_volume=\"" + PureName(Uuid(1)) +
                      "\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("estate_storage_volume_destroyed{array=\"pure-a\",array_volume=\"" + PureName(Uuid(3))),
            std::string::npos);
}

// A volume an operator took out of Cinder (`cinder unmanage` leaves "volume-<id>-cinder-unmanaged" on the
// array) is not an orphan: it has its own state and count, no orphan "since" time, and so no orphan alert.
TEST(StorageJoin, UnmanagedVolumesAreNotOrphans) {
  Fixture f;
  f.array->volumes = {PVol(PureName(Uuid(1)) + "-unmanaged", "01"), PVol(PureName(Uuid(2)), "02"),
                      PVol("cinder-pod::" + PureName(Uuid(3)) + "-UNMANAGED", "03"),
                      PVol(PureName(Uuid(4)) + "-unmanaged", "04")};
  f.array->volumes[3].destroyed = true;
  Mapping m = f.Run();
  auto unmanaged = RowsOf(m, "unmanaged");
  ASSERT_EQ(unmanaged.size(), 3u);
  EXPECT_EQ(unmanaged[0]->array_volume, PureName(Uuid(1)) + "-unmanaged");
  EXPECT_TRUE(unmanaged[0]->cinder_id.empty());
  EXPECT_EQ(unmanaged[1]->pod, "cinder-pod");
  EXPECT_TRUE(unmanaged[2]->destroyed);
  auto orphans = RowsOf(m, "orphan");
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0]->array_volume, PureName(Uuid(2)));
  EXPECT_EQ(m.Array("pure-a")->orphans, 1u);
  EXPECT_EQ(m.Array("pure-a")->unmanaged, 2u);
  EXPECT_EQ(m.Array("pure-a")->destroyed_orphans, 1u);
  ASSERT_EQ(m.orphan_since.size(), 1u);  // only the real orphan
  EXPECT_EQ(m.orphan_since.begin()->first.second, PureName(Uuid(2)));
  const std::string text = metrics::Render(MappingFamilies(m));
  EXPECT_NE(text.find("estate_storage_unmanaged_volumes{array=\"pure-a\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_storage_orphan_volumes{array=\"pure-a\"} 1"), std::string::npos);
  EXPECT_NE(text.find("estate_storage_mapping_rows{state=\"unmanaged\"} 3"), std::string::npos);
}

TEST(StorageJoin, MissingOnArrayOnlyForExpectedBackendsAndStatuses) {
  Fixture f;
  auto missing = CVol(Uuid(1), "lost");
  missing.attachments = {Att("srv-1", "/dev/vdb")};
  auto creating = CVol(Uuid(2), "new", "creating");
  auto errored = CVol(Uuid(3), "bad", "error");
  auto ceph = CVol(Uuid(4), "ceph");
  ceph.backend_host = "cinder-vol@ceph#ceph";
  auto unknown_backend = CVol(Uuid(5), "no-admin");
  unknown_backend.backend_host = "";
  f.cloud->volumes = {missing, creating, errored, ceph, unknown_backend};
  f.array->volumes = {PVol("oracle-data-01", "FF")};
  Mapping m = f.Run();
  ASSERT_EQ(m.rows.size(), 1u);
  const VolumeRow& r = m.rows[0];
  EXPECT_EQ(r.state, "missing_on_array");
  EXPECT_EQ(r.cinder_id, Uuid(1));
  EXPECT_EQ(r.array, "");
  EXPECT_EQ(r.array_volume, "");
  EXPECT_EQ(r.server_name, "web-1");
  EXPECT_EQ(r.match, "none");
  EXPECT_EQ(m.Cloud("prod")->missing, 1u);
  ASSERT_EQ(m.missing_since.size(), 1u);
  EXPECT_EQ(m.missing_since.begin()->first, std::make_pair(std::string("prod"), Uuid(1)));
  // The non-Cinder array volume is ignored but counted.
  EXPECT_EQ(m.Array("pure-a")->foreign, 1u);
  EXPECT_EQ(m.Array("pure-a")->orphans, 0u);
  // It is found by the array name it should have (issue #14), in any case and with a pod prefix stripped.
  for (const std::string& name : {PureName(Uuid(1)), "VOLUME-" + Uuid(1) + "-CINDER"}) {
    auto found = m.Lookup(name);
    ASSERT_EQ(found.size(), 1u) << name;
    EXPECT_EQ(found[0]->cinder_id, Uuid(1));
    EXPECT_EQ(found[0]->state, "missing_on_array");
  }
  EXPECT_TRUE(m.Lookup(PureName(Uuid(2))).empty());  // creating: no row at all

  // An empty backend list expects every volume (of a status that needs one) on an array.
  f.config.clouds[0].array_backends.clear();
  Mapping all = f.Run();
  EXPECT_EQ(RowsOf(all, "missing_on_array").size(), 3u);  // lost, ceph, no-admin
  EXPECT_EQ(all.Cloud("prod")->missing, 3u);
}

TEST(StorageJoin, OrphansAndMissingNeedEverySourceRead) {
  Fixture f;
  f.cloud->volumes = {CVol(Uuid(1), "lost")};
  f.array->volumes = {PVol(PureName(Uuid(9)), "09")};
  f.config.clouds.push_back({"lab", {}});
  f.config.arrays.push_back("pure-b");
  Mapping m = f.Run();
  EXPECT_FALSE(m.orphans_evaluated);
  EXPECT_FALSE(m.missing_evaluated);
  EXPECT_TRUE(m.rows.empty());
  EXPECT_FALSE(m.complete());
  ASSERT_NE(m.Cloud("lab"), nullptr);
  EXPECT_FALSE(m.Cloud("lab")->has_data);
  EXPECT_EQ(m.Cloud("lab")->missing_fields, std::vector<std::string>{"snapshot"});
  ASSERT_NE(m.Array("pure-b"), nullptr);
  EXPECT_FALSE(m.Array("pure-b")->has_data);
  EXPECT_GE(m.warnings.size(), 4u);
  EXPECT_TRUE(m.orphan_since.empty());
  EXPECT_TRUE(m.missing_since.empty());
}

TEST(StorageJoin, IncompleteCloudMarksItsRowsAndTheMapping) {
  Fixture f;
  f.cloud->admin.missing_fields = {"provider_id", "attachments[].host_name"};
  auto v = CVol(Uuid(1), "x");
  f.cloud->volumes = {v};
  f.array->volumes = {PVol(PureName(Uuid(1)), "01"), PVol(PureName(Uuid(2)), "02")};
  Mapping m = f.Run();
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_FALSE(m.rows[0].complete);
  EXPECT_FALSE(m.rows[1].complete);  // judged against an incomplete cloud: not an orphan but unknown
  EXPECT_EQ(m.rows[1].state, "unknown");
  EXPECT_FALSE(m.Cloud("prod")->complete());
  EXPECT_FALSE(m.complete());
  bool warned = false;
  for (const auto& w : m.warnings) warned = warned || w.find("provider_id") != std::string::npos;
  EXPECT_TRUE(warned);

  f.cloud->admin.missing_fields.clear();
  Mapping ok = f.Run();
  EXPECT_TRUE(ok.rows[0].complete);
  EXPECT_TRUE(ok.complete());
  EXPECT_TRUE(ok.warnings.empty());
}

// A non-admin token hides name_id, provider_id and the backend host (issue #14). A migrated volume lives on the
// array under its name_id, which the listing does not show, and a volume missing on the array has no backend
// to judge it by: neither is published as a fact. The would-be orphan and the would-be missing volume are rows
// in state "unknown", no orphan or missing "since" time starts, and the counts they would change are not
// published.
TEST(StorageJoin, HiddenAdminFieldsMakeUnknownsNotOrphansOrMissing) {
  Fixture f;
  f.cloud->admin.missing_fields = {"os-vol-host-attr:host", "os-vol-mig-status-attr:name_id", "provider_id"};
  auto migrated = CVol(Uuid(1), "migrated");  // on the array as volume-<name_id>-cinder, name_id hidden
  auto lost = CVol(Uuid(2), "lost");          // on no array; its backend is hidden
  auto plain = CVol(Uuid(3), "plain");
  for (auto* v : {&migrated, &lost, &plain}) v->backend_host = "";
  f.cloud->volumes = {migrated, lost, plain};
  f.array->volumes = {PVol(PureName(Uuid(9)), "09"), PVol(PureName(Uuid(3)), "03")};
  Mapping m = f.Run();
  EXPECT_EQ(RowsOf(m, "current").size(), 1u);  // plain still joins by its id
  EXPECT_TRUE(RowsOf(m, "orphan").empty());
  EXPECT_TRUE(RowsOf(m, "missing_on_array").empty());
  auto unknown = RowsOf(m, "unknown");
  ASSERT_EQ(unknown.size(), 3u);  // migrated and lost (Cinder side), volume-<uuid 9> (array side)
  std::set<std::string> ids;
  for (const auto* r : unknown) {
    ids.insert(r->cinder_id.empty() ? r->array_volume.str() : r->cinder_id.str());
    EXPECT_FALSE(r->complete);
  }
  EXPECT_EQ(ids, (std::set<std::string>{Uuid(1), Uuid(2), PureName(Uuid(9))}));
  EXPECT_EQ(m.Cloud("prod")->missing, 0u);
  EXPECT_EQ(m.Cloud("prod")->unknown, 2u);
  EXPECT_EQ(m.Array("pure-a")->orphans, 0u);
  EXPECT_EQ(m.Array("pure-a")->unknown, 1u);
  EXPECT_TRUE(m.orphan_since.empty());
  EXPECT_TRUE(m.missing_since.empty());
  EXPECT_FALSE(m.orphans_established());
  EXPECT_TRUE(m.Cloud("prod")->fields_hidden());
  const std::string text = metrics::Render(MappingFamilies(m));
  EXPECT_EQ(text.find("estate_storage_orphan_volumes{"), std::string::npos) << text;
  EXPECT_EQ(text.find("estate_storage_missing_volumes{"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_storage_mapping_rows{state=\"unknown\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_storage_mapping_complete{cloud=\"prod\"} 0"), std::string::npos) << text;
  // The unknown Cinder volumes are still found by id and by the array name they should have.
  EXPECT_EQ(m.Lookup(Uuid(2)).size(), 1u);

  // With every field, the same data gives facts again.
  f.cloud->admin.missing_fields.clear();
  f.cloud->volumes[1].backend_host = "cinder-vol@pure-a#pure-a";
  Mapping full = f.Run();
  EXPECT_TRUE(RowsOf(full, "unknown").empty());
  EXPECT_EQ(RowsOf(full, "orphan").size(), 1u);
  EXPECT_EQ(full.Cloud("prod")->missing, 1u);  // lost (migrated has no backend host: not expected)
  EXPECT_TRUE(full.orphans_established());
}

TEST(StorageJoin, TagsFillServerOfAnOrphanButNeverOverrideCinder) {
  Fixture f;
  f.cloud->project_names["p-2"] = "analytics";
  auto v = CVol(Uuid(1), "joined");
  v.attachments = {Att("srv-1", "/dev/vdb")};
  f.cloud->volumes = {v};
  f.array->volumes = {PVol(PureName(Uuid(1)), "01"), PVol(PureName(Uuid(2)), "02"),
                      PVol(PureName(Uuid(3)), "03")};
  f.array->volumes[0].tags = {{"VmId", "srv-2"}};  // disagrees with Cinder: Cinder wins
  f.array->volumes[1].tags = {{"VmId", "srv-2"}, {"ProjectId", "p-2"}};
  f.array->volumes[2].tags = {{"VmId", "srv-unknown"}};
  Mapping m = f.Run();
  auto joined = m.Lookup(Uuid(1));
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0]->server_id, "srv-1");
  EXPECT_EQ(joined[0]->match, "id");
  auto tagged = m.Lookup(PureName(Uuid(2)));
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(tagged[0]->state, "orphan");
  EXPECT_EQ(tagged[0]->match, "tag");
  EXPECT_EQ(tagged[0]->cloud, "prod");
  EXPECT_EQ(tagged[0]->server_id, "srv-2");
  EXPECT_EQ(tagged[0]->server_name, "web-2");
  EXPECT_EQ(tagged[0]->hypervisor, "cmp-02");
  EXPECT_EQ(tagged[0]->project, "analytics");
  EXPECT_EQ(tagged[0]->cinder_id, "");
  auto unknown = m.Lookup(PureName(Uuid(3)));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0]->match, "tag");
  EXPECT_EQ(unknown[0]->server_id, "srv-unknown");
  EXPECT_EQ(unknown[0]->server_name, "");
  EXPECT_EQ(m.Array("pure-a")->orphans, 2u);
}

TEST(StorageJoin, LookupByEveryIdentifierKind) {
  Fixture f;
  auto v = CVol(Uuid(1), "x");
  v.provider_id = "cinder-pod::" + PureName(Uuid(1));
  v.attachments = {Att("srv-1", "/dev/vdb")};
  f.cloud->volumes = {v};
  f.array->volumes = {PVol(v.provider_id.str(), "6C1B16CE1C034D1C00024C6F")};
  Mapping m = f.Run();
  for (const std::string& id :
       {Uuid(1), "  " + Uuid(1) + " ", "cinder-pod::" + PureName(Uuid(1)), PureName(Uuid(1)),
        "CINDER-POD::" + PureName(Uuid(1)), std::string("6c1b16ce1c034d1c00024c6f"),
        std::string("6C1B16CE1C034D1C00024C6F"), std::string("3624a93706c1b16ce1c034d1c00024c6f"),
        std::string("624a93706c1b16ce1c034d1c00024c6f"), std::string("naa.624a93706c1b16ce1c034d1c00024c6f"),
        std::string("NAA.624A93706C1B16CE1C034D1C00024C6F"),
        std::string("/dev/disk/by-id/dm-uuid-mpath-3624a93706c1b16ce1c034d1c00024c6f"),
        std::string("other-pod::") + PureName(Uuid(1)), Uuid(1).substr(0, 20),
        "/dev/disk/by-id/virtio-" + Uuid(1).substr(0, 20),
        "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_" + Uuid(1)}) {
    auto rows = m.Lookup(id);
    ASSERT_EQ(rows.size(), 1u) << id;
    EXPECT_EQ(rows[0]->cinder_id, Uuid(1)) << id;
  }
  EXPECT_TRUE(m.Lookup(Uuid(2)).empty());
  EXPECT_TRUE(m.Lookup("").empty());
  EXPECT_TRUE(m.Lookup("6c1b16ce").empty());
  // Only the 20 characters of a virtio serial, not any prefix.
  EXPECT_TRUE(m.Lookup(Uuid(1).substr(0, 19)).empty());
  EXPECT_TRUE(m.Lookup(Uuid(1).substr(0, 21)).empty());
}

TEST(StorageJoin, HundredThousandVolumesJoinQuickly) {
  Fixture f;
  const int n = 100000;
  f.cloud->volumes.reserve(n);
  f.array->volumes.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto v = CVol(Uuid(i), "vol-" + std::to_string(i));
    if (i % 3 == 0) v.provider_id = PureName(Uuid(i));
    if (i % 2 == 0) v.attachments = {Att("srv-" + std::to_string(i % 500), "/dev/vdb")};
    f.cloud->volumes.push_back(std::move(v));
    char serial[32];
    std::snprintf(serial, sizeof serial, "ABCD%020X", i);
    f.array->volumes.push_back(PVol(PureName(Uuid(i)), serial));
  }
  auto t0 = std::chrono::steady_clock::now();
  Mapping m = f.Run();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(RowsOf(m, "current").size(), static_cast<std::size_t>(n));
  EXPECT_EQ(m.Lookup(Uuid(4242)).size(), 1u);
  // Guards against a quadratic blow-up (the join takes ~0.3 s), not performance figures: wide enough for a
  // loaded CI machine.
#if defined(__SANITIZE_ADDRESS__)
  const double limit = 30;
#else
  const double limit = 5;
#endif
  EXPECT_LT(seconds, limit);
  RecordProperty("join_seconds", std::to_string(seconds));

  t0 = std::chrono::steady_clock::now();
  std::string text = metrics::Render(MappingFamilies(m));
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(text.size(), 100u * n);
  EXPECT_LT(seconds, limit * 2);
  RecordProperty("render_seconds", std::to_string(seconds));
}

// ---- metrics
// ------------------------------------------------------------------------------------------------

Mapping SmallMapping() {
  Fixture f;
  f.config.clouds.push_back({"lab", {}});
  f.config.arrays.push_back("pure-b");
  auto v = CVol(Uuid(1), "data\"1");
  v.attachments = {Att("srv-1", "/dev/vdb")};
  f.cloud->volumes = {v};
  f.array->volumes = {PVol(PureName(Uuid(1)), "0A", 512)};
  Mapping m = f.Run();
  VolumeRow past = m.rows[0];
  past.state = "past";
  past.server_id = "srv-old";
  past.server_name = "web-old";
  past.last_seen_unix = kNow - 3600;
  m.rows.push_back(past);
  m.IndexRows(1);
  m.history_entries = 1;
  return m;
}

TEST(StorageMetrics, RendersExactLines) {
  Mapping m = SmallMapping();
  std::string text = metrics::Render(MappingFamilies(m));
  const std::string id = Uuid(1);
  const std::string vol = PureName(id);
  for (const std::string& line : {
           "estate_storage_volume_info{cloud=\"prod\",array=\"pure-a\",array_volume=\"" + vol +
               "\",wwid=\"3624a93700a\",cinder_id=\"" + id +
               "\",cinder_name=\"data\\\"1\",server_id=\"srv-1\",server_name=\"web-1\",host_name=\"web-1."
               "guest\","
               "hypervisor=\"cmp-01\",device=\"/dev/vdb\",project=\"webshop\",volume_type=\"pure-ssd\","
               "status=\"in-use\",state=\"current\"} 1\n",
           "estate_storage_volume_info{cloud=\"prod\",array=\"pure-a\",array_volume=\"" + vol +
               "\",wwid=\"3624a93700a\",cinder_id=\"" + id +
               "\",cinder_name=\"data\\\"1\",server_id=\"srv-old\",server_name=\"web-old\",host_name=\"web-1."
               "guest\","
               "hypervisor=\"cmp-01\",device=\"/dev/vdb\",project=\"webshop\",volume_type=\"pure-ssd\","
               "status=\"in-use\",state=\"past\"} 1\n",
           "estate_storage_volume_space_bytes{array=\"pure-a\",array_volume=\"" + vol +
               "\",space=\"provisioned\"} 10737418240\n"
               "estate_storage_volume_space_bytes{array=\"pure-a\",array_volume=\"" +
               vol + "\",space=\"used\"} 512\n",
           "estate_storage_volume_last_seen_timestamp_seconds{array=\"pure-a\",array_volume=\"" + vol +
               "\",cinder_id=\"" + id + "\",server_id=\"srv-old\"} 1799996400\n",
           std::string(
               "estate_storage_server_info{cloud=\"prod\",server_id=\"srv-1\",server_name=\"web-1\","
               "host_name=\"web-1.guest\",hypervisor=\"cmp-01\",hypervisor_hostname=\"cmp-01.example\","
               "project=\"webshop\",status=\"ACTIVE\"} 1\n"),
           std::string("estate_storage_mapping_rows{state=\"current\"} 1\n"),
           std::string("estate_storage_mapping_rows{state=\"orphan\"} 0\n"),
           std::string("estate_storage_mapping_rows{state=\"missing_on_array\"} 0\n"),
           std::string("estate_storage_mapping_rows{state=\"past\"} 1\n"),
           std::string("estate_storage_orphan_volumes{array=\"pure-a\"} 0\n"),
           std::string("estate_storage_orphan_volumes{array=\"pure-b\"} 0\n"),
           std::string("estate_storage_destroyed_volumes{array=\"pure-b\"} 0\n"),
           std::string("estate_storage_missing_volumes{cloud=\"prod\"} 0\n"),
           std::string("estate_storage_missing_volumes{cloud=\"lab\"} 0\n"),
           std::string("estate_storage_mapping_complete{cloud=\"prod\"} 1\n"),
           std::string("estate_storage_mapping_complete{cloud=\"lab\"} 0\n"),
           std::string("estate_storage_mapping_missing_field_info{cloud=\"lab\",field=\"snapshot\"} 1\n"),
           std::string("estate_storage_history_entries 1\n"),
           std::string("# TYPE estate_storage_orphan_volume_since_timestamp_seconds gauge\n"),
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing line: " << line << "\nin:\n" << text;
  }
  // Bytes once per array volume, not per row.
  std::size_t used = 0;
  for (std::size_t p = 0; (p = text.find(",space=\"used\"}", p)) != std::string::npos; ++p) ++used;
  EXPECT_EQ(used, 1u);
}

// The space series are sorted by array and volume name, both kinds of one volume on adjacent lines (gzip then
// stores the name once), one pair per array volume however many rows it has; both renderers agree.
TEST(StorageMetrics, SpaceSeriesAreSortedPairsOnePerArrayVolume) {
  Fixture f;
  auto b = std::make_shared<ArraySnapshot>();
  b->array = "pure-b";
  f.config.arrays.push_back("pure-b");
  CinderVolume v3 = CVol(Uuid(3), "three");
  v3.attachments = {Att("srv-1", "/dev/vdb"), Att("srv-2", "/dev/vdc")};  // multi-attach: two rows
  f.cloud->volumes = {v3, CVol(Uuid(1), "one"), CVol(Uuid(2), "two")};
  f.cloud->servers = {Server("srv-1", "web-1", "cmp-01"), Server("srv-2", "web-2", "cmp-02")};
  f.array->volumes = {PVol(PureName(Uuid(3)), "03", 300), PVol(PureName(Uuid(1)), "01", 100)};
  b->volumes = {PVol(PureName(Uuid(2)), "02", 200)};
  Mapping m = f.Run({b});
  ASSERT_EQ(m.rows.size(), 4u);

  std::vector<std::string> space;
  std::istringstream in(metrics::Render(MappingFamilies(m)));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("estate_storage_volume_space_bytes{", 0) == 0) space.push_back(line);
  }
  const auto pair = [](const std::string& array, int n, double used) {
    const std::string labels = "array=\"" + array + "\",array_volume=\"" + PureName(Uuid(n)) + "\",space=";
    return std::vector<std::string>{
        "estate_storage_volume_space_bytes{" + labels + "\"provisioned\"} 10737418240",
        "estate_storage_volume_space_bytes{" + labels + "\"used\"} " + metrics::FormatValue(used)};
  };
  std::vector<std::string> want;
  for (const auto& p : {pair("pure-a", 1, 100), pair("pure-a", 3, 300), pair("pure-b", 2, 200)})
    want.insert(want.end(), p.begin(), p.end());
  EXPECT_EQ(space, want);

  // The streaming renderer writes the same lines.
  RenderedData data = RenderMapping(m);
  std::string streamed;
  for (const auto& fam : data.families) {
    if (fam.name == "estate_storage_volume_space_bytes")
      streamed = data.samples.substr(fam.offset, fam.length);
  }
  std::string joined;
  for (const auto& line : want) joined += line + "\n";
  EXPECT_EQ(streamed, joined);
}

TEST(StorageMetrics, OrphanAndMissingSinceSeries) {
  Fixture f;
  f.cloud->volumes = {CVol(Uuid(1), "lost")};
  f.array->volumes = {PVol(PureName(Uuid(2)), "02")};
  Mapping m = f.Run();
  std::string text = metrics::Render(MappingFamilies(m));
  EXPECT_NE(text.find("estate_storage_orphan_volumes{array=\"pure-a\"} 1\n"), std::string::npos);
  EXPECT_NE(
      text.find("estate_storage_orphan_volume_since_timestamp_seconds{array=\"pure-a\",array_volume=\"" +
                PureName(Uuid(2)) + "\"} 1800000000\n"),
      std::string::npos);
  EXPECT_NE(text.find("estate_storage_missing_volumes{cloud=\"prod\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("estate_storage_missing_volume_since_timestamp_seconds{cloud=\"prod\",cinder_id=\"" +
                      Uuid(1) + "\"} 1800000000\n"),
            std::string::npos);
}

// Headers + samples of pre-rendered data, in family order: what the refresher serves for it. A family given
// compressed takes no room in samples.
std::string Assemble(const RenderedData& d) {
  std::string out;
  std::size_t next = 0;
  for (const auto& f : d.families) {
    out +=
        "# HELP " + f.name + " " + metrics::EscapeHelp(f.help) + "\n# TYPE " + f.name + " " + f.type + "\n";
    EXPECT_EQ(f.offset, next) << f.name;  // back to back, in order
    if (f.gzip) {
      std::string text;
      EXPECT_TRUE(web::InflatePieceTo(*f.gzip, [&text](std::string_view p) {
        text.append(p);
        return true;
      })) << f.name;
      EXPECT_EQ(text.size(), f.length) << f.name;
      out += text;
      continue;
    }
    next = f.offset + f.length;
    out.append(d.samples, f.offset, f.length);
  }
  EXPECT_EQ(next, d.samples.size());
  return out;
}

TEST(StorageMetrics, RenderMappingIsByteIdenticalToTheFamilies) {
  // Every row kind: current (two attachments of one volume: bytes once), past, orphan, missing_on_array;
  // orphan and missing since times, label values needing escapes, a value with a fraction.
  Fixture f;
  auto v = CVol(Uuid(1), "data\"1\\x\ny");
  v.attachments = {Att("srv-1", "/dev/vdb"), Att("srv-2", "/dev/vdc")};
  f.cloud->volumes = {v, CVol(Uuid(3), "lost")};
  f.array->volumes = {PVol(PureName(Uuid(1)), "0A", 512), PVol(PureName(Uuid(2)), "02")};
  Mapping m = f.Run();
  VolumeRow past = m.rows[0];
  past.state = "past";
  past.server_id = "srv-old";
  past.last_seen_unix = kNow - 3600.5;
  m.rows.push_back(past);
  m.IndexRows(1);
  m.history_entries = 1;
  std::set<std::string> states;
  for (const auto& r : m.rows) states.insert(r.state.str());
  EXPECT_EQ(states, (std::set<std::string>{"current", "missing_on_array", "orphan", "past"}));
  EXPECT_FALSE(m.orphan_since.empty());
  EXPECT_FALSE(m.missing_since.empty());

  const std::string expected = metrics::Render(MappingFamilies(m));
  RenderedData d = RenderMapping(m);
  EXPECT_EQ(Assemble(d), expected);
  ASSERT_EQ(d.families.size(), 15u);

  // Small extra families (the exporter's history save figures) append the same way.
  auto failures = metrics::Counter("estate_storage_history_save_failures_total", "Failed writes.");
  metrics::Add(failures, {}, 2);
  AppendFamily(d, failures);
  EXPECT_EQ(Assemble(d), expected + metrics::Render({failures}));

  // An unread cloud and array (missing field info, complete 0), and an empty mapping.
  Mapping small = SmallMapping();
  EXPECT_EQ(Assemble(RenderMapping(small)), metrics::Render(MappingFamilies(small)));
  EXPECT_EQ(Assemble(RenderMapping(Mapping{})), metrics::Render(MappingFamilies(Mapping{})));
}

TEST(StorageMetrics, LargeFamiliesAreRenderedStraightIntoGzip) {
  // 6,000 rows: the volume rows (~3 MB of text) pass the 1 MiB mark and are compressed as they are written;
  // the smaller families (the bytes ones, ~0.7 MB each) stay text.
  Fixture f;
  for (int i = 0; i < 6000; ++i) {
    auto v = CVol(Uuid(i + 1), "data-" + std::to_string(i));
    v.attachments = {Att("srv-" + std::to_string(i % 700), "/dev/vdb")};
    f.cloud->volumes.push_back(v);
    f.array->volumes.push_back(PVol(PureName(Uuid(i + 1)), "S" + std::to_string(i), 1000 + i));
  }
  Mapping m = f.Run();
  ASSERT_EQ(m.rows.size(), 6000u);
  RenderedData d = RenderMapping(m);
  std::size_t compressed = 0;
  for (const auto& family : d.families) {
    if (!family.gzip) {
      EXPECT_LT(family.length, kOwnMemberBytes) << family.name << " is large but kept as text";
      continue;
    }
    ++compressed;
    EXPECT_GE(family.length, kOwnMemberBytes) << family.name;
    EXPECT_LT(family.gzip->bytes.size(), family.length / 4) << family.name;
  }
  EXPECT_GE(compressed, 1u);
  EXPECT_EQ(d.samples.find("estate_storage_volume_info{"), std::string::npos) << "its text is not kept";
  EXPECT_EQ(Assemble(d), metrics::Render(MappingFamilies(m)));
}

TEST(StorageMetrics, InfoSeriesAreOrderedByHypervisorThenServer) {
  Mapping m;
  auto row = [](std::string hv, std::string server, std::string id) {
    VolumeRow r;
    r.cloud = "prod";
    r.state = "current";
    r.hypervisor = std::move(hv);
    r.server_name = std::move(server);
    r.cinder_id = std::move(id);
    return r;
  };
  // Mapping order (as the join makes it): not grouped. Rows without a server (orphans, detached) come first.
  m.rows = {row("cmp-02", "web-2", "v1"), row("cmp-01", "db-1", "v2"),
            row("cmp-02", "web-1", "v3"), row("", "", "v4"),
            row("cmp-02", "web-2", "v5"), row("cmp-01", "db-1", "v6")};
  auto server = [](std::string id, std::string name, std::string hv) {
    ServerRow r;
    r.cloud = "prod";
    r.id = std::move(id);
    r.name = std::move(name);
    r.hypervisor = std::move(hv);
    return r;
  };
  m.servers = {server("s2", "web-2", "cmp-02"), server("s1", "web-1", "cmp-02"),
               server("s3", "db-1", "cmp-01")};
  m.IndexRows(0);
  const std::string text = Assemble(RenderMapping(m));
  auto order = [&text](const std::string& family, const std::string& label) {
    std::string out;
    std::size_t pos = 0;
    while ((pos = text.find("\n" + family + "{", pos)) != std::string::npos) {
      pos = text.find(label + "=\"", pos) + label.size() + 2;
      out += text.substr(pos, text.find('"', pos) - pos) + " ";
    }
    return out;
  };
  EXPECT_EQ(order("estate_storage_volume_info", "cinder_id"), "v4 v2 v6 v3 v1 v5 ");
  EXPECT_EQ(order("estate_storage_server_info", "server_id"), "s3 s1 s2 ");
  EXPECT_EQ(text, metrics::Render(MappingFamilies(m)));
}

TEST(StorageMetrics, PerSourceFamilies) {
  Fixture f;
  f.cloud->volumes = {CVol(Uuid(1), "a"), CVol(Uuid(2), "b")};
  f.array->volumes = {PVol("x", "01"), PVol("y", "02")};
  f.array->volumes[0].hosts = {"cmp-01-0123456789abcdef0123456789abcdef-cinder", "cmp-02-x-cinder"};
  f.array->volumes[1].hosts = {"cmp-03-x-cinder"};
  std::string cloud = metrics::Render(CloudFamilies(*f.cloud));
  EXPECT_NE(cloud.find("estate_storage_openstack_volumes{cloud=\"prod\"} 2\n"), std::string::npos);
  EXPECT_NE(cloud.find("estate_storage_openstack_servers{cloud=\"prod\"} 2\n"), std::string::npos);
  EXPECT_NE(cloud.find("estate_storage_openstack_projects{cloud=\"prod\"} 1\n"), std::string::npos);
  std::string array = metrics::Render(ArrayFamilies(*f.array));
  EXPECT_NE(
      array.find(
          "estate_storage_array_info{array=\"pure-a\",array_name=\"fa-x70-a\",api_version=\"2.26\"} 1\n"),
      std::string::npos);
  EXPECT_NE(array.find("estate_storage_array_volumes{array=\"pure-a\"} 2\n"), std::string::npos);
  EXPECT_NE(array.find("estate_storage_array_connections{array=\"pure-a\"} 3\n"), std::string::npos);
  CloudSnapshot empty;
  empty.cloud = "lab";
  EXPECT_NE(metrics::Render(CloudFamilies(empty)).find("estate_storage_openstack_volumes{cloud=\"lab\"} 0\n"),
            std::string::npos);
}

TEST(StorageMetrics, NamesAreValidAndUnique) {
  std::set<std::string> names;
  for (const auto& d : FamilyDefs()) {
    EXPECT_TRUE(metrics::ValidMetricName(d.name)) << d.name;
    EXPECT_EQ(d.name.rfind("estate_storage_", 0), 0u) << d.name;
    EXPECT_FALSE(d.help.empty()) << d.name;
    for (const auto& l : d.labels) EXPECT_TRUE(metrics::ValidLabelName(l)) << d.name << " " << l;
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
  }
  EXPECT_EQ(names.size(), 21u);
  // Every family the functions produce is in the table, with the table's label names in order.
  Mapping m = SmallMapping();
  std::vector<metrics::Family> all = MappingFamilies(m);
  for (auto& f : CloudFamilies(CloudSnapshot{})) all.push_back(f);
  for (auto& f : ArrayFamilies(ArraySnapshot{})) all.push_back(f);
  EXPECT_EQ(all.size(), names.size());
  auto defs = FamilyDefs();
  for (const auto& fam : all) {
    auto it = std::find_if(defs.begin(), defs.end(), [&](const FamilyDef& d) { return d.name == fam.name; });
    ASSERT_NE(it, defs.end()) << fam.name;
    for (const auto& metric : fam.metric) {
      ASSERT_EQ(metric.label.size(), it->labels.size()) << fam.name;
      for (std::size_t i = 0; i < metric.label.size(); ++i) EXPECT_EQ(metric.label[i].name, it->labels[i]);
    }
  }
}

TEST(StorageMetrics, PromtoolAcceptsTheOutput) {
  std::string promtool = testing::BinaryPath("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed";
  Mapping m = SmallMapping();
  std::string text = metrics::Render(MappingFamilies(m));
  Fixture f;
  text += metrics::Render(CloudFamilies(*f.cloud)) + metrics::Render(ArrayFamilies(*f.array));
  testing::TempDir dir;
  std::string path = dir.Write("metrics.txt", text);
  auto r = testing::RunCommand({promtool, "check", "metrics"}, path);
  // promtool lints (e.g. info metrics without _info) exit 3; only reject real problems it reports.
  EXPECT_TRUE(r.exit_code == 0) << r.output;
}

// The mapping's rows share their strings with the snapshots they were joined from.
TEST(Text, JoinedRowsShareTheSnapshotsStrings) {
  auto cloud = std::make_shared<CloudSnapshot>();
  cloud->cloud = "prod";
  CinderVolume v;
  v.id = "80f5b4ad-2997-4c4a-96be-763ea57365cc";
  v.name = "fokpp_kafka_logs_04";
  v.status = "in-use";
  v.provider_id = "volume-80f5b4ad-2997-4c4a-96be-763ea57365cc-cinder";
  v.attachments = {{"5d7e0c55-1b1c-4b44-9b38-7cbb0e7d1e51", "cmp-01", "/dev/vdb"}};
  cloud->volumes = {v};
  NovaServer s;
  s.id = "5d7e0c55-1b1c-4b44-9b38-7cbb0e7d1e51";
  s.name = "iex-fokpp01";
  s.host_name = "iex-fokpp01";
  s.hypervisor = "cmp-01";
  cloud->servers = {s};
  auto array = std::make_shared<ArraySnapshot>();
  array->array = "pure-a";
  PureVolume pv;
  pv.name = "volume-80f5b4ad-2997-4c4a-96be-763ea57365cc-cinder";
  pv.serial = "6C1B16CE1C034D1C00024C6F";
  pv.wwid = WwidFromSerial(pv.serial);
  array->volumes = {pv};
  JoinConfig config{{{"prod", {}}}, {"pure-a"}};
  Mapping m = Join({cloud}, {array}, config, 1e9);
  ASSERT_EQ(m.rows.size(), 1u);
  const VolumeRow& r = m.rows[0];
  EXPECT_TRUE(r.cinder_id.SameBytes(cloud->volumes[0].id));
  EXPECT_TRUE(r.cinder_name.SameBytes(cloud->volumes[0].name));
  EXPECT_TRUE(r.server_name.SameBytes(cloud->servers[0].name));
  EXPECT_TRUE(r.array_volume.SameBytes(array->volumes[0].name));
  EXPECT_TRUE(r.wwid.SameBytes(array->volumes[0].wwid));
  EXPECT_EQ(r.wwid, "3624a93706c1b16ce1c034d1c00024c6f");
  // Once the snapshots are gone the row still owns its strings.
  cloud.reset();
  array.reset();
  EXPECT_EQ(r.cinder_name, "fokpp_kafka_logs_04");
  EXPECT_EQ(r.server_name, "iex-fokpp01");
}

}  // namespace
}  // namespace estate::storage
