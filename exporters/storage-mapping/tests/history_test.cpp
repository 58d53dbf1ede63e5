// History: past rows on redeploy and deletion, their disappearance when current again, retention, first-seen
// times across restarts, atomic persistence and corrupt state files. All data is invented here.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "estate/testing/e2e.h"
#include "storage_history.h"
#include "storage_join.h"

namespace estate::storage {
namespace {

constexpr double kT0 = 1800000000;
constexpr double kDay = 86400;

const std::string kVolA = "0000000a-aaaa-4bbb-8ccc-00000000000a";
const std::string kVolB = "0000000b-aaaa-4bbb-8ccc-00000000000b";

// A small estate: one cloud, one array, volumes and attachments set per test.
struct Estate {
  CloudSnapshot cloud;
  ArraySnapshot array;
  JoinConfig config{{{"prod", {}}}, {"pure-a"}};
  Estate() {
    cloud.cloud = "prod";
    array.array = "pure-a";
    AddServer("srv-1", "db-1");
    AddServer("srv-2", "db-1");  // the same VM name after a redeploy
  }
  void AddServer(const std::string& id, const std::string& name) {
    NovaServer s;
    s.id = id;
    s.name = name;
    s.host_name = name;
    s.hypervisor = "cmp-01";
    cloud.servers.push_back(s);
  }
  CinderVolume& AddVolume(const std::string& id, const std::string& server) {
    CinderVolume v;
    v.id = id;
    v.name = "data-" + id.substr(7, 1);
    v.status = server.empty() ? "available" : "in-use";
    if (!server.empty()) v.attachments.push_back({server, "att", "cmp-01", "/dev/vdb", ""});
    cloud.volumes.push_back(v);
    PureVolume p;
    p.name = "volume-" + id + "-cinder";
    p.serial = "ABC" + id.substr(7, 1);
    array.volumes.push_back(p);
    return cloud.volumes.back();
  }
  Mapping Join(double now, bool with_cloud = true) const {
    std::vector<std::shared_ptr<const CloudSnapshot>> clouds;
    if (with_cloud) clouds.push_back(std::make_shared<CloudSnapshot>(cloud));
    return storage::Join(clouds, {std::make_shared<ArraySnapshot>(array)}, config, now);
  }
};

std::vector<const VolumeRow*> Past(const Mapping& m) {
  std::vector<const VolumeRow*> out;
  for (const auto& r : m.rows) {
    if (r.state == "past") out.push_back(&r);
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StorageHistory, RedeployLeavesAPastRowThatGoesWhenCurrentAgain) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h;
  Mapping m0 = e.Join(kT0);
  h.Observe(m0, kT0);
  Mapping p0 = h.Publish(std::move(m0));
  EXPECT_TRUE(Past(p0).empty());
  EXPECT_EQ(h.size(), 0u);
  EXPECT_TRUE(h.dirty());

  // Redeploy: the volume moves to a new server id.
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  Mapping m1 = e.Join(kT0 + 60);
  h.Observe(m1, kT0 + 60);
  Mapping p1 = h.Publish(std::move(m1));
  auto past = Past(p1);
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(past[0]->server_id, "srv-1");
  EXPECT_EQ(past[0]->cinder_id, kVolA);
  EXPECT_EQ(past[0]->array_volume, "volume-" + kVolA + "-cinder");
  EXPECT_EQ(past[0]->last_seen_unix, kT0);
  EXPECT_EQ(p1.history_entries, 1u);
  // The lookup finds the current and the past row.
  auto rows = p1.Lookup(kVolA);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]->state, "current");
  EXPECT_EQ(rows[0]->server_id, "srv-2");
  EXPECT_EQ(rows[1]->state, "past");

  // Back to srv-1 (e.g. a rollback): its past row disappears, srv-2's appears.
  e.cloud.volumes[0].attachments[0].server_id = "srv-1";
  Mapping m2 = e.Join(kT0 + 120);
  h.Observe(m2, kT0 + 120);
  Mapping p2 = h.Publish(std::move(m2));
  past = Past(p2);
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(past[0]->server_id, "srv-2");
  EXPECT_EQ(past[0]->last_seen_unix, kT0 + 60);
}

TEST(StorageHistory, DeletedCinderVolumeKeepsItsMappingNextToTheOrphan) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h;
  h.Observe(e.Join(kT0), kT0);
  e.cloud.volumes.clear();  // Cinder record gone, array volume still there
  Mapping m = e.Join(kT0 + 60);
  h.Observe(m, kT0 + 60);
  Mapping p = h.Publish(std::move(m));
  auto rows = p.Lookup("volume-" + kVolA + "-cinder");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]->state, "orphan");
  EXPECT_EQ(rows[1]->state, "past");
  EXPECT_EQ(rows[1]->server_name, "db-1");
  EXPECT_EQ(rows[1]->cinder_name, "data-a");
}

TEST(StorageHistory, DetachedPastRowIsDroppedWhenTheVolumeIsAttached) {
  Estate e;
  e.AddVolume(kVolA, "");
  History h;
  h.Observe(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments.push_back({"srv-1", "att", "cmp-01", "/dev/vdb", ""});
  Mapping m = e.Join(kT0 + 60);
  h.Observe(m, kT0 + 60);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_TRUE(Past(h.Publish(std::move(m))).empty());
}

TEST(StorageHistory, NothingTurnsPastWhileItsCloudIsUnreadOrIncomplete) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h;
  h.Observe(e.Join(kT0), kT0);
  h.Observe(e.Join(kT0 + 60, /*with_cloud=*/false), kT0 + 60);
  EXPECT_EQ(h.size(), 0u);
  e.cloud.admin.missing_fields = {"provider_id"};
  e.cloud.volumes.clear();
  h.Observe(e.Join(kT0 + 120), kT0 + 120);
  EXPECT_EQ(h.size(), 0u);
  e.cloud.admin.missing_fields.clear();
  h.Observe(e.Join(kT0 + 180), kT0 + 180);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.PastRows()[0].last_seen_unix, kT0);
}

TEST(StorageHistory, PastRowsExpireAfterTheRetention) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h("", HistoryOptions{.retention_seconds = 2 * kDay, .refresh_seconds = 3600});
  h.Observe(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  h.Observe(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_EQ(h.size(), 1u);
  h.Observe(e.Join(kT0 + 2 * kDay - 1), kT0 + 2 * kDay - 1);
  EXPECT_EQ(h.size(), 1u);
  h.Observe(e.Join(kT0 + 2 * kDay + 1), kT0 + 2 * kDay + 1);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.remembered(), 1u);  // the current srv-2 mapping
}

TEST(StorageHistory, SinceTimesSurviveRestartsAndEndWithTheCondition) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/history.json";
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  CinderVolume b = e.cloud.volumes[0];
  b.id = kVolB;
  e.cloud.volumes.push_back(b);  // in Cinder only: missing on the array
  PureVolume c = e.array.volumes[0];
  e.array.volumes.push_back(c);
  e.array.volumes[1].name = "volume-0000000c-aaaa-4bbb-8ccc-00000000000c-cinder";  // orphan
  e.array.volumes[1].serial = "ABCC";
  {
    auto h = History::Load(path);
    ASSERT_TRUE(h.ok()) << h.error();
    Mapping m = e.Join(kT0);
    h->Observe(m, kT0);
    Mapping p = h->Publish(std::move(m));
    EXPECT_EQ(p.orphan_since.at({"pure-a", e.array.volumes[1].name}), kT0);
    EXPECT_EQ(p.missing_since.at({"prod", kVolB}), kT0);
    ASSERT_TRUE(h->Save().ok());
    EXPECT_FALSE(h->dirty());
  }
  {
    // A restart; the cloud is not read yet: nothing is forgotten.
    auto h = History::Load(path);
    ASSERT_TRUE(h.ok()) << h.error();
    EXPECT_EQ(h->OrphanSince("pure-a", e.array.volumes[1].name), kT0);
    h->Observe(e.Join(kT0 + kDay, /*with_cloud=*/false), kT0 + kDay);
    EXPECT_EQ(h->OrphanSince("pure-a", e.array.volumes[1].name), kT0);
    EXPECT_EQ(h->MissingSince("prod", kVolB), kT0);
    // Both sources read: the first-seen times are the persisted ones.
    Mapping m = e.Join(kT0 + 2 * kDay);
    h->Observe(m, kT0 + 2 * kDay);
    Mapping p = h->Publish(std::move(m));
    EXPECT_EQ(p.orphan_since.at({"pure-a", e.array.volumes[1].name}), kT0);
    EXPECT_EQ(p.missing_since.at({"prod", kVolB}), kT0);
    // The orphan is eradicated and the missing volume deleted: both times end.
    e.array.volumes.pop_back();
    e.cloud.volumes.pop_back();
    h->Observe(e.Join(kT0 + 3 * kDay), kT0 + 3 * kDay);
    EXPECT_EQ(h->OrphanSince("pure-a", "volume-0000000c-aaaa-4bbb-8ccc-00000000000c-cinder"), 0);
    EXPECT_EQ(h->MissingSince("prod", kVolB), 0);
    EXPECT_TRUE(h->dirty());
  }
}

TEST(StorageHistory, SaveLoadRoundTripAndMappingsThatWentAwayDuringADowntime) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/state/history.json";
  ASSERT_EQ(mkdir((dir.path() + "/state").c_str(), 0755), 0);
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  e.AddVolume(kVolB, "srv-1");
  History h(path);
  h.Observe(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  h.Observe(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_EQ(h.size(), 1u);
  ASSERT_TRUE(h.Save().ok());
  EXPECT_EQ(ListDir(dir.path() + "/state"), std::vector<std::string>{"history.json"});  // no temp file left

  auto loaded = History::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_FALSE(loaded->dirty());
  EXPECT_EQ(loaded->remembered(), 3u);
  ASSERT_EQ(loaded->size(), 1u);
  std::vector<VolumeRow> before = h.PastRows();
  std::vector<VolumeRow> after = loaded->PastRows();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(History::Key(after[0]), History::Key(before[0]));
  EXPECT_EQ(after[0].server_id, "srv-1");
  EXPECT_EQ(after[0].serial, before[0].serial);
  EXPECT_EQ(after[0].wwid, before[0].wwid);
  EXPECT_EQ(after[0].cinder_name, before[0].cinder_name);
  EXPECT_EQ(after[0].hypervisor, before[0].hypervisor);
  EXPECT_EQ(after[0].last_seen_unix, kT0);
  EXPECT_EQ(after[0].state, "past");

  // While the exporter was down, volume B was detached from srv-1: after the restart that mapping is past.
  e.cloud.volumes[1].attachments.clear();
  e.cloud.volumes[1].status = "available";
  loaded->Observe(e.Join(kT0 + 7200), kT0 + 7200);
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_TRUE(loaded->dirty());
}

TEST(StorageHistory, DirtyOnlyForRealChangesOrAfterTheRefreshInterval) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  testing::TempDir dir;
  History h(dir.path() + "/h.json", HistoryOptions{.retention_seconds = kDay, .refresh_seconds = 600});
  h.Observe(e.Join(kT0), kT0);
  ASSERT_TRUE(h.Save().ok());
  e.array.volumes[0].used_bytes = 123456;  // space changes on every poll: not worth a write
  h.Observe(e.Join(kT0 + 60), kT0 + 60);
  EXPECT_FALSE(h.dirty());
  h.Observe(e.Join(kT0 + 601), kT0 + 601);
  EXPECT_TRUE(h.dirty());
  ASSERT_TRUE(h.Save().ok());
  EXPECT_FALSE(h.dirty());
  e.cloud.volumes[0].name = "renamed";
  h.Observe(e.Join(kT0 + 660), kT0 + 660);
  EXPECT_TRUE(h.dirty());
}

TEST(StorageHistory, MissingFileIsEmptyAndCorruptFileIsAClearError) {
  testing::TempDir dir;
  auto none = History::Load(dir.path() + "/absent.json");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_EQ(none->remembered(), 0u);
  EXPECT_FALSE(none->dirty());

  const std::string bad = dir.Write("history.json", "{\"schema_version\":1,\"mappings\":[{\"live\":tru");
  auto r = History::Load(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(bad), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("corrupt"), std::string::npos) << r.error();

  dir.Write("wrong.json", R"({"schema_version":1,"saved_unix":1,"mappings":[{"live":"yes"}],
                              "orphan_since":[],"missing_since":[]})");
  EXPECT_FALSE(History::Load(dir.path() + "/wrong.json").ok());
  dir.Write("future.json", R"({"schema_version":99})");
  auto future = History::Load(dir.path() + "/future.json");
  ASSERT_FALSE(future.ok());
  EXPECT_NE(future.error().find("schema_version 99"), std::string::npos) << future.error();

  std::string warning;
  History h = LoadOrStartEmpty(bad, HistoryOptions{}, kT0, &warning);
  EXPECT_EQ(h.remembered(), 0u);
  EXPECT_NE(warning.find("corrupt"), std::string::npos) << warning;
  const std::string aside = bad + ".corrupt-1800000000";
  EXPECT_NE(warning.find(aside), std::string::npos) << warning;
  EXPECT_EQ(ReadFile(aside), "{\"schema_version\":1,\"mappings\":[{\"live\":tru");
  struct stat st {};
  EXPECT_NE(stat(bad.c_str(), &st), 0);  // moved away: the next Save() writes a fresh file
  EXPECT_EQ(h.path(), bad);

  std::string ok_warning = "stale";
  History fresh = LoadOrStartEmpty(dir.path() + "/absent.json", HistoryOptions{}, kT0, &ok_warning);
  EXPECT_EQ(ok_warning, "");
}

TEST(StorageHistory, AtomicWriteReplacesWholeFilesAndFailsCleanly) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/f.json";
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(ReadFile(path), "second");
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"f.json"});
  auto r = WriteFileAtomically(dir.path() + "/no/such/dir/f.json", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no/such/dir"), std::string::npos) << r.error();
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"f.json"});

  // A Save() that fails keeps the history dirty and the old file intact.
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h(dir.path() + "/missing-dir/h.json");
  h.Observe(e.Join(kT0), kT0);
  EXPECT_FALSE(h.Save().ok());
  EXPECT_TRUE(h.dirty());
}

TEST(StorageHistory, StateFileIsReadableJson) {
  testing::TempDir dir;
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h(dir.path() + "/h.json");
  h.Observe(e.Join(kT0), kT0);
  ASSERT_TRUE(h.Save().ok());
  auto j = nlohmann::json::parse(ReadFile(dir.path() + "/h.json"));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["saved_unix"], kT0);
  ASSERT_EQ(j["mappings"].size(), 1u);
  EXPECT_EQ(j["mappings"][0]["live"], true);
  EXPECT_EQ(j["mappings"][0]["cinder_id"], kVolA);
  EXPECT_EQ(j["mappings"][0]["server_id"], "srv-1");

  // Names with invalid UTF-8 (upstream data) are written so that they load back.
  e.cloud.volumes[0].name = "bad\xff\xc3name \xe2\x82\xac \"q\" \x01";
  h.Observe(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_TRUE(h.dirty());
  ASSERT_TRUE(h.Save().ok());
  auto reloaded = nlohmann::json::parse(ReadFile(dir.path() + "/h.json"));
  EXPECT_EQ(reloaded["mappings"][0]["cinder_name"],
            "bad\xef\xbf\xbd\xef\xbf\xbdname \xe2\x82\xac \"q\" \x01");
  EXPECT_TRUE(History::Load(dir.path() + "/h.json").ok());
}

}  // namespace
}  // namespace estate::storage

namespace estate::storage {
namespace {

TEST(StorageHistory, HundredThousandRowsObservePublishAndSave) {
  auto cloud = std::make_shared<CloudSnapshot>();
  cloud->cloud = "prod";
  auto array = std::make_shared<ArraySnapshot>();
  array->array = "pure-a";
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "%08x-aaaa-4bbb-8ccc-%012x", i, i);
    CinderVolume v;
    v.id = id;
    v.name = "vol";
    v.status = "in-use";
    v.attachments = {{"srv-" + std::to_string(i % 1000), "a", "cmp", "/dev/vdb", ""}};
    cloud->volumes.push_back(v);
    PureVolume p;
    p.name = std::string("volume-") + id + "-cinder";
    p.serial = "AB" + std::to_string(i);
    array->volumes.push_back(p);
  }
  JoinConfig config{{{"prod", {}}}, {"pure-a"}};
  testing::TempDir dir;
  History h(dir.path() + "/h.json");
  auto t0 = std::chrono::steady_clock::now();
  auto lap = [&t0] {
    auto t = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(t - t0).count();
    t0 = t;
    return s;
  };
  Mapping m = Join({cloud}, {array}, config, kT0);
  lap();
  h.Observe(m, kT0);
  double observe = lap();
  Mapping p = h.Publish(std::move(m));
  double publish = lap();
  ASSERT_TRUE(h.Save().ok());
  double save = lap();
  for (auto& v : cloud->volumes) v.attachments[0].server_id += "-new";  // everything redeployed
  Mapping m2 = Join({cloud}, {array}, config, kT0 + 60);
  lap();
  h.Observe(m2, kT0 + 60);
  double observe2 = lap();
  Mapping p2 = h.Publish(std::move(m2));
  EXPECT_EQ(p2.rows.size(), 2u * n);
  EXPECT_EQ(p2.Lookup("00000007-aaaa-4bbb-8ccc-000000000007").size(), 2u);
  auto loaded = History::Load(dir.path() + "/h.json");
  double load = lap();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->remembered(), static_cast<std::size_t>(n));
  RecordProperty("observe_seconds", std::to_string(observe));
  RecordProperty("observe_redeploy_seconds", std::to_string(observe2));
  RecordProperty("publish_seconds", std::to_string(publish));
  RecordProperty("save_seconds", std::to_string(save));
  RecordProperty("load_seconds", std::to_string(load));
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(observe + publish, 1.0);
  EXPECT_LT(save, 5.0);
#endif
}

}  // namespace
}  // namespace estate::storage
