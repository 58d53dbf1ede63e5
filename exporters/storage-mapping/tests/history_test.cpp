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
#include <string_view>
#include <tuple>

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
    if (!server.empty()) v.attachments.push_back({server, "cmp-01", "/dev/vdb"});
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
  auto p0 = h.Publish(e.Join(kT0), kT0);
  EXPECT_TRUE(Past(*p0).empty());
  EXPECT_EQ(h.size(), 0u);
  EXPECT_TRUE(h.dirty());

  // Redeploy: the volume moves to a new server id.
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  auto p1 = h.Publish(e.Join(kT0 + 60), kT0 + 60);
  auto past = Past(*p1);
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(past[0]->server_id, "srv-1");
  EXPECT_EQ(past[0]->cinder_id, kVolA);
  EXPECT_EQ(past[0]->array_volume, "volume-" + kVolA + "-cinder");
  EXPECT_EQ(past[0]->last_seen_unix, kT0);
  EXPECT_EQ(p1->history_entries, 1u);
  // The lookup finds the current and the past row.
  auto rows = p1->Lookup(kVolA);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]->state, "current");
  EXPECT_EQ(rows[0]->server_id, "srv-2");
  EXPECT_EQ(rows[1]->state, "past");

  // Back to srv-1 (e.g. a rollback): its past row disappears, srv-2's appears.
  e.cloud.volumes[0].attachments[0].server_id = "srv-1";
  auto p2 = h.Publish(e.Join(kT0 + 120), kT0 + 120);
  past = Past(*p2);
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(past[0]->server_id, "srv-2");
  EXPECT_EQ(past[0]->last_seen_unix, kT0 + 60);
}

TEST(StorageHistory, DeletedCinderVolumeKeepsItsMappingNextToTheOrphan) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h;
  h.Publish(e.Join(kT0), kT0);
  e.cloud.volumes.clear();  // Cinder record gone, array volume still there
  auto p = h.Publish(e.Join(kT0 + 60), kT0 + 60);
  auto rows = p->Lookup("volume-" + kVolA + "-cinder");
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
  h.Publish(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments.push_back({"srv-1", "cmp-01", "/dev/vdb"});
  auto p = h.Publish(e.Join(kT0 + 60), kT0 + 60);
  EXPECT_EQ(h.size(), 0u);
  EXPECT_TRUE(Past(*p).empty());
}

TEST(StorageHistory, NothingTurnsPastWhileItsCloudIsUnreadOrIncomplete) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h;
  h.Publish(e.Join(kT0), kT0);
  h.Publish(e.Join(kT0 + 60, /*with_cloud=*/false), kT0 + 60);
  EXPECT_EQ(h.size(), 0u);
  e.cloud.admin.missing_fields = {"provider_id"};
  e.cloud.volumes.clear();
  h.Publish(e.Join(kT0 + 120), kT0 + 120);
  EXPECT_EQ(h.size(), 0u);
  e.cloud.admin.missing_fields.clear();
  h.Publish(e.Join(kT0 + 180), kT0 + 180);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.PastRows()[0].last_seen_unix, kT0);
}

TEST(StorageHistory, PastRowsExpireAfterTheRetention) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h("", HistoryOptions{.retention_seconds = 2 * kDay, .refresh_seconds = 3600});
  h.Publish(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_EQ(h.size(), 1u);
  h.Publish(e.Join(kT0 + 2 * kDay - 1), kT0 + 2 * kDay - 1);
  EXPECT_EQ(h.size(), 1u);
  h.Publish(e.Join(kT0 + 2 * kDay + 1), kT0 + 2 * kDay + 1);
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
    auto p = h->Publish(e.Join(kT0), kT0);
    EXPECT_EQ(p->orphan_since.at({"pure-a", e.array.volumes[1].name.str()}), kT0);
    EXPECT_EQ(p->missing_since.at({"prod", kVolB}), kT0);
    ASSERT_TRUE(h->Save().ok());
    EXPECT_FALSE(h->dirty());
  }
  {
    // A restart; the cloud is not read yet: nothing is forgotten.
    auto h = History::Load(path);
    ASSERT_TRUE(h.ok()) << h.error();
    EXPECT_EQ(h->OrphanSince("pure-a", e.array.volumes[1].name.str()), kT0);
    h->Publish(e.Join(kT0 + kDay, /*with_cloud=*/false), kT0 + kDay);
    EXPECT_EQ(h->OrphanSince("pure-a", e.array.volumes[1].name.str()), kT0);
    EXPECT_EQ(h->MissingSince("prod", kVolB), kT0);
    // Both sources read: the first-seen times are the persisted ones.
    auto p = h->Publish(e.Join(kT0 + 2 * kDay), kT0 + 2 * kDay);
    EXPECT_EQ(p->orphan_since.at({"pure-a", e.array.volumes[1].name.str()}), kT0);
    EXPECT_EQ(p->missing_since.at({"prod", kVolB}), kT0);
    // The orphan is eradicated and the missing volume deleted: both times end.
    e.array.volumes.pop_back();
    e.cloud.volumes.pop_back();
    h->Publish(e.Join(kT0 + 3 * kDay), kT0 + 3 * kDay);
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
  h.Publish(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
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
  loaded->Publish(e.Join(kT0 + 7200), kT0 + 7200);
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_TRUE(loaded->dirty());
}

TEST(StorageHistory, DirtyOnlyForRealChangesOrAfterTheRefreshInterval) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  testing::TempDir dir;
  History h(dir.path() + "/h.json", HistoryOptions{.retention_seconds = kDay, .refresh_seconds = 600});
  h.Publish(e.Join(kT0), kT0);
  ASSERT_TRUE(h.Save().ok());
  e.array.volumes[0].used_bytes = 123456;  // space changes on every poll: not worth a write
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
  EXPECT_FALSE(h.dirty());
  h.Publish(e.Join(kT0 + 601), kT0 + 601);
  EXPECT_TRUE(h.dirty());
  ASSERT_TRUE(h.Save().ok());
  EXPECT_FALSE(h.dirty());
  e.cloud.volumes[0].name = "renamed";
  h.Publish(e.Join(kT0 + 660), kT0 + 660);
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

  // A failed read is said as such, not as the truncated JSON the parser saw (a directory opens, and fails to
  // read).
  auto unreadable = History::Load(dir.path());
  ASSERT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.error().find("cannot read history state file " + dir.path()), std::string::npos)
      << unreadable.error();

  // Rows of another schema are not read as schema 1 rows: the version is what is wrong.
  dir.Write("future2.json", R"({"schema_version":2,"mappings":[{"volume":{"id":1}}]})");
  auto future2 = History::Load(dir.path() + "/future2.json");
  ASSERT_FALSE(future2.ok());
  EXPECT_NE(future2.error().find("unsupported schema_version 2"), std::string::npos) << future2.error();

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

  // A writer streams the file in pieces; one that gives up leaves the old file and no temporary file.
  std::string big;
  for (int i = 0; big.size() < 3 * FileSink::kPieceBytes + 1000; ++i)
    big += "line " + std::to_string(i) + "\n";
  ASSERT_TRUE(WriteFileAtomically(path, [&big](FileSink& sink) {
                for (std::size_t at = 0; at < big.size(); at += 7) {
                  sink.buffer().append(big, at, 7);
                  if (!sink.MaybeFlush()) return false;
                }
                return true;
              }).ok());
  EXPECT_EQ(ReadFile(path), big);
  auto gave_up = WriteFileAtomically(
      path, [&big](FileSink& sink) { return sink.Write(big) && sink.Write("x") && false; });
  ASSERT_FALSE(gave_up.ok());
  EXPECT_NE(gave_up.error().find(path + ".tmp."), std::string::npos) << gave_up.error();
  EXPECT_EQ(ReadFile(path), big);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"f.json"});
  ASSERT_TRUE(WriteFileAtomically(path, big + big).ok());  // more than a piece at once
  EXPECT_EQ(ReadFile(path), big + big);

  // A Save() that fails keeps the history dirty and the old file intact.
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h(dir.path() + "/missing-dir/h.json");
  h.Publish(e.Join(kT0), kT0);
  EXPECT_FALSE(h.Save().ok());
  EXPECT_TRUE(h.dirty());
}

TEST(StorageHistory, StateFileIsReadableJson) {
  testing::TempDir dir;
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  History h(dir.path() + "/h.json");
  h.Publish(e.Join(kT0), kT0);
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
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_TRUE(h.dirty());
  ASSERT_TRUE(h.Save().ok());
  auto reloaded = nlohmann::json::parse(ReadFile(dir.path() + "/h.json"));
  EXPECT_EQ(reloaded["mappings"][0]["cinder_name"],
            "bad\xef\xbf\xbd\xef\xbf\xbdname \xe2\x82\xac \"q\" \x01");
  EXPECT_TRUE(History::Load(dir.path() + "/h.json").ok());
}

// Every field but state.
auto Fields(const VolumeRow& r) {
  return std::tie(r.array, r.array_volume, r.serial, r.wwid, r.pod, r.destroyed, r.provisioned_bytes,
                  r.used_bytes, r.cloud, r.cinder_id, r.cinder_name, r.volume_type, r.status, r.project_id,
                  r.project, r.server_id, r.server_name, r.host_name, r.hypervisor, r.device, r.bootable,
                  r.match, r.last_seen_unix, r.complete);
}

TEST(StorageHistory, PastRowIsTheLastPublishedRowAlthoughTheHistoryKeptNoCopy) {
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  e.AddVolume(kVolB, "srv-1");
  e.array.volumes[0].provisioned_bytes = 1 << 30;
  e.array.volumes[0].pod = "pod-1";
  e.cloud.collected_unix = kT0 - 5;
  History h;
  h.Publish(e.Join(kT0), kT0);
  e.array.volumes[0].used_bytes = 4096;  // space only: the row stays the history's without a copy
  e.array.volumes[1].used_bytes = 8192;
  e.cloud.collected_unix = kT0 + 25;
  std::vector<VolumeRow> last;
  {
    auto p = h.Publish(e.Join(kT0 + 30), kT0 + 30);
    for (const VolumeRow* r : p->Lookup(kVolA)) last.push_back(*r);
    for (const VolumeRow* r : p->Lookup(kVolB)) last.push_back(*r);
  }  // only the history holds the published mapping now
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].used_bytes, 4096);
  EXPECT_EQ(last[0].last_seen_unix, kT0 + 25);

  // A is redeployed: its srv-1 mapping turns past with the fields of the last published row.
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  e.cloud.collected_unix = kT0 + 55;
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
  auto past = h.PastRows();
  ASSERT_EQ(past.size(), 1u);
  EXPECT_EQ(Fields(past[0]), Fields(last[0]));
  EXPECT_EQ(past[0].state, "past");

  // The cloud is unread for a while (B stays current; the history copies its row, as the mapping that showed
  // it goes), then B is deleted: B's past row is still the last published one.
  h.Publish(e.Join(kT0 + 90, /*with_cloud=*/false), kT0 + 90);
  h.Publish(e.Join(kT0 + 120, /*with_cloud=*/false), kT0 + 120);
  EXPECT_EQ(h.size(), 1u);
  e.cloud.volumes.pop_back();
  e.array.volumes.pop_back();
  e.cloud.collected_unix = kT0 + 145;
  auto p = h.Publish(e.Join(kT0 + 150), kT0 + 150);
  past = h.PastRows();
  ASSERT_EQ(past.size(), 2u);
  last[1].last_seen_unix = kT0 + 55;  // seen in the join at kT0 + 60
  EXPECT_EQ(Fields(past[1]), Fields(last[1]));
  EXPECT_EQ(p->history_entries, 2u);
  EXPECT_EQ(Past(*p).size(), 2u);
}

// Written by the History before it referred to the published mapping (commit 6bb3a57) for the scenario below:
// state files keep loading, and the same history writes the same bytes.
constexpr std::string_view kStateFileSchema1 =
    R"json({"schema_version":1,"saved_unix":1800000060,"retention_seconds":604800,
"mappings":[
{"live":false,"array":"pure-a","array_volume":"volume-0000000a-aaaa-4bbb-8ccc-00000000000a-cinder","serial":"ABCa","wwid":"3624a9370abca","pod":"","destroyed":false,"provisioned_bytes":1073741824,"used_bytes":12345.5,"cloud":"prod","cinder_id":"0000000a-aaaa-4bbb-8ccc-00000000000a","cinder_name":"data-a","volume_type":"","status":"in-use","project_id":"","project":"","server_id":"srv-1","server_name":"db-1","host_name":"db-1","hypervisor":"cmp-01","device":"/dev/vdb","bootable":false,"match":"id","last_seen_unix":1800000000,"complete":true},
{"live":true,"array":"pure-a","array_volume":"volume-0000000a-aaaa-4bbb-8ccc-00000000000a-cinder","serial":"ABCa","wwid":"3624a9370abca","pod":"","destroyed":false,"provisioned_bytes":1073741824,"used_bytes":12345.5,"cloud":"prod","cinder_id":"0000000a-aaaa-4bbb-8ccc-00000000000a","cinder_name":"data-a","volume_type":"","status":"in-use","project_id":"","project":"","server_id":"srv-2","server_name":"db-1","host_name":"db-1","hypervisor":"cmp-01","device":"/dev/vdb","bootable":false,"match":"id","last_seen_unix":1800000030,"complete":true},
{"live":true,"array":"pure-a","array_volume":"volume-0000000b-aaaa-4bbb-8ccc-00000000000b-cinder","serial":"ABCb","wwid":"3624a9370abcb","pod":"","destroyed":false,"provisioned_bytes":1073741824,"used_bytes":99999,"cloud":"prod","cinder_id":"0000000b-aaaa-4bbb-8ccc-00000000000b","cinder_name":"data-b","volume_type":"","status":"in-use","project_id":"","project":"","server_id":"srv-1","server_name":"db-1","host_name":"db-1","hypervisor":"cmp-01","device":"/dev/vdb","bootable":false,"match":"id","last_seen_unix":1800000030,"complete":true},
{"live":true,"array":"pure-a","array_volume":"volume-0000000d-aaaa-4bbb-8ccc-00000000000d-cinder","serial":"ABCd","wwid":"3624a9370abcd","pod":"","destroyed":false,"provisioned_bytes":1073741824,"used_bytes":12345.5,"cloud":"prod","cinder_id":"0000000d-aaaa-4bbb-8ccc-00000000000d","cinder_name":"bad� name \"q\"","volume_type":"","status":"available","project_id":"","project":"","server_id":"","server_name":"","host_name":"","hypervisor":"","device":"","bootable":false,"match":"id","last_seen_unix":1800000030,"complete":true}],
"orphan_since":[
{"array":"pure-a","array_volume":"volume-0000000c-aaaa-4bbb-8ccc-00000000000c-cinder","since_unix":1800000000}],
"missing_since":[
{"cloud":"prod","cinder_id":"0000000e-aaaa-4bbb-8ccc-00000000000e","since_unix":1800000000}]}
)json";

TEST(StorageHistory, StateFileIsByteForByteWhatItWasAndSurvivesALoadAndSave) {
  const std::string kVolD = "0000000d-aaaa-4bbb-8ccc-00000000000d";
  Estate e;
  e.AddVolume(kVolA, "srv-1");
  e.AddVolume(kVolB, "srv-1");
  e.AddVolume(kVolD, "");
  e.cloud.volumes[2].name = "bad\xff name \"q\"";
  for (auto& v : e.array.volumes) {
    v.provisioned_bytes = 1073741824;
    v.used_bytes = 12345.5;
  }
  CinderVolume missing = e.cloud.volumes[0];
  missing.id = "0000000e-aaaa-4bbb-8ccc-00000000000e";
  missing.attachments.clear();
  missing.status = "available";
  e.cloud.volumes.push_back(missing);
  PureVolume orphan = e.array.volumes[0];
  orphan.name = "volume-0000000c-aaaa-4bbb-8ccc-00000000000c-cinder";
  orphan.serial = "ABCC";
  e.array.volumes.push_back(orphan);

  testing::TempDir dir;
  History h(dir.path() + "/h.json");
  h.Publish(e.Join(kT0), kT0);
  e.cloud.volumes[0].attachments[0].server_id = "srv-2";
  e.array.volumes[1].used_bytes = 99999;
  e.cloud.collected_unix = kT0 + 30;
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_TRUE(h.Save().ok());
  EXPECT_EQ(ReadFile(dir.path() + "/h.json"), kStateFileSchema1);

  // Loaded (every row a copy until joined again) and saved: the same file.
  const std::string old_file = dir.Write("old.json", std::string(kStateFileSchema1));
  auto loaded = History::Load(old_file);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->remembered(), 4u);
  EXPECT_EQ(loaded->size(), 1u);
  EXPECT_EQ(loaded->OrphanSince("pure-a", orphan.name.str()), kT0);
  EXPECT_EQ(loaded->MissingSince("prod", missing.id.str()), kT0);
  ASSERT_TRUE(loaded->Save().ok());
  EXPECT_EQ(ReadFile(old_file), kStateFileSchema1);
  // The same join again after the restart (its rows now referred to, not copied): the same file.
  loaded->Publish(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_TRUE(loaded->Save().ok());
  EXPECT_EQ(ReadFile(old_file), kStateFileSchema1);
  EXPECT_EQ(Fields(loaded->PastRows()[0]), Fields(h.PastRows()[0]));
}

TEST(StorageHistory, StateFileWithItsKeysInAnotherOrderOrRepeatedLoadsAsADocumentWould) {
  testing::TempDir dir;
  // nlohmann::json writes the keys sorted: schema_version comes after the lists, which are then read whole.
  const std::string sorted = dir.Write("sorted.json", nlohmann::json::parse(kStateFileSchema1).dump() + "\n");
  auto loaded = History::Load(sorted);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->remembered(), 4u);
  ASSERT_TRUE(loaded->Save().ok());
  EXPECT_EQ(ReadFile(sorted), kStateFileSchema1);

  // A repeated list: the last one counts.
  std::string text(kStateFileSchema1);
  text.insert(text.size() - 2, ",\"mappings\":[],\"orphan_since\":[]");
  auto repeated = History::Load(dir.Write("repeated.json", text));
  ASSERT_TRUE(repeated.ok()) << repeated.error();
  EXPECT_EQ(repeated->remembered(), 0u);
  EXPECT_EQ(repeated->OrphanSince("pure-a", "volume-0000000c-aaaa-4bbb-8ccc-00000000000c-cinder"), 0);
  EXPECT_EQ(repeated->MissingSince("prod", "0000000e-aaaa-4bbb-8ccc-00000000000e"), kT0);
}

}  // namespace
}  // namespace estate::storage

namespace estate::storage {
namespace {

// `n` volumes attached to 100 servers, then `extra` Cinder volumes missing on the array and `extra` orphaned
// array volumes.
struct BigEstate {
  std::shared_ptr<CloudSnapshot> cloud = std::make_shared<CloudSnapshot>();
  std::shared_ptr<ArraySnapshot> array = std::make_shared<ArraySnapshot>();
  JoinConfig config{{{"prod", {}}}, {"pure-a"}};
  BigEstate(int n, int extra) {
    cloud->cloud = "prod";
    array->array = "pure-a";
    for (int i = 0; i < n + 2 * extra; ++i) {
      char id[40];
      std::snprintf(id, sizeof id, "%08x-aaaa-4bbb-8ccc-%012x", i, i);
      if (i < n + extra) {
        CinderVolume v;
        v.id = id;
        v.name = i % 97 == 0 ? "\xe2\x82\xac \"" + std::to_string(i) + "\"\n" : "vol-" + std::to_string(i);
        v.status = "in-use";
        v.attachments = {{"srv-" + std::to_string(i % 100), "cmp", "/dev/vdb"}};
        cloud->volumes.push_back(v);
      }
      if (i < n || i >= n + extra) {
        PureVolume p;
        p.name = std::string("volume-") + id + "-cinder";
        p.serial = "AB" + std::to_string(i);
        p.provisioned_bytes = 1073741824.0 * (i % 7 + 1);
        p.used_bytes = 1000.25 * i;
        array->volumes.push_back(p);
      }
    }
  }
  Mapping Join(double now) const { return storage::Join({cloud}, {array}, config, now); }
};

TEST(StorageHistory, TwentyThousandRowsRoundTripThroughTheStreamedStateFile) {
  BigEstate e(20000, 300);
  testing::TempDir dir;
  const std::string path = dir.path() + "/h.json";
  History h(path);
  h.Publish(e.Join(kT0), kT0);
  for (std::size_t i = 0; i < e.cloud->volumes.size(); i += 3) {
    e.cloud->volumes[i].attachments[0].server_id =
        e.cloud->volumes[i].attachments[0].server_id + "-new";  // every third volume redeployed
  }
  h.Publish(e.Join(kT0 + 60), kT0 + 60);
  ASSERT_GT(h.size(), 6000u);
  ASSERT_TRUE(h.Save().ok());
  const std::string saved = ReadFile(path);
  EXPECT_GT(saved.size(), 20 * FileSink::kPieceBytes);
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"h.json"});

  auto loaded = History::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->remembered(), h.remembered());
  EXPECT_EQ(loaded->size(), h.size());
  EXPECT_FALSE(loaded->dirty());
  const std::string orphan = "volume-00004f58-aaaa-4bbb-8ccc-000000004f58-cinder";  // volume 20312
  EXPECT_EQ(loaded->OrphanSince("pure-a", orphan), kT0);
  EXPECT_EQ(loaded->MissingSince("prod", "00004e20-aaaa-4bbb-8ccc-000000004e20"), kT0);  // volume 20000
  const std::vector<VolumeRow> before = h.PastRows(), after = loaded->PastRows();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    ASSERT_EQ(Fields(after[i]), Fields(before[i])) << i;
  }
  std::remove(path.c_str());
  ASSERT_TRUE(loaded->Save().ok());
  EXPECT_TRUE(ReadFile(path) == saved);  // not EXPECT_EQ: a failure would print 14 MB
}

TEST(StorageHistory, HundredThousandRowsPublishAndSave) {
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
    v.attachments = {{"srv-" + std::to_string(i % 1000), "cmp", "/dev/vdb"}};
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
  auto p = h.Publish(std::move(m), kT0);
  double publish = lap();
  ASSERT_TRUE(h.Save().ok());
  double save = lap();
  for (auto& v : cloud->volumes)
    v.attachments[0].server_id = v.attachments[0].server_id + "-new";  // everything redeployed
  Mapping m2 = Join({cloud}, {array}, config, kT0 + 60);
  lap();
  auto p2 = h.Publish(std::move(m2), kT0 + 60);
  double publish2 = lap();
  EXPECT_EQ(p2->rows.size(), 2u * n);
  EXPECT_EQ(p2->Lookup("00000007-aaaa-4bbb-8ccc-000000000007").size(), 2u);
  auto loaded = History::Load(dir.path() + "/h.json");
  double load = lap();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->remembered(), static_cast<std::size_t>(n));
  RecordProperty("publish_seconds", std::to_string(publish));
  RecordProperty("publish_redeploy_seconds", std::to_string(publish2));
  RecordProperty("save_seconds", std::to_string(save));
  RecordProperty("load_seconds", std::to_string(load));
  // Guards against a quadratic blow-up (publish takes ~0.05 s, save ~0.4 s), not performance figures: wide
  // enough for a loaded CI machine.
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(publish, 5.0);
  EXPECT_LT(save, 20.0);
#endif
}

}  // namespace
}  // namespace estate::storage
