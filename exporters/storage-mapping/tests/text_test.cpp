// Text: the shared immutable string of the storage model.
#include "text.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage_join.h"

namespace estate::storage {
namespace {

TEST(Text, IsOnePointerAndACopySharesTheBytes) {
  static_assert(sizeof(Text) == sizeof(void*));
  Text a = std::string("volume-80f5b4ad-2997-4c4a-96be-763ea57365cc-cinder");
  Text b = a;
  EXPECT_TRUE(b.SameBytes(a));
  EXPECT_EQ(b.data(), a.data());
  EXPECT_EQ(b, "volume-80f5b4ad-2997-4c4a-96be-763ea57365cc-cinder");
  Text c("volume-80f5b4ad-2997-4c4a-96be-763ea57365cc-cinder");
  EXPECT_FALSE(c.SameBytes(a));  // equal, but made separately
  EXPECT_EQ(c, a);
}

TEST(Text, BehavesAsAStringValue) {
  Text empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_STREQ(empty.c_str(), "");
  EXPECT_EQ(empty, "");
  EXPECT_EQ(Text(""), empty);
  EXPECT_TRUE(Text(std::string()).empty());

  Text t = "in-use";
  EXPECT_EQ(t.size(), 6u);
  EXPECT_STREQ(t.c_str(), "in-use");
  EXPECT_EQ(t[2], '-');
  EXPECT_EQ(std::string(t.begin(), t.end()), "in-use");
  EXPECT_EQ(t.str(), std::string("in-use"));
  EXPECT_EQ(std::string_view(t), "in-use");
  EXPECT_EQ("dev-" + t, "dev-in-use");
  EXPECT_EQ(t + std::string("!"), "in-use!");

  EXPECT_LT(Text("a"), Text("b"));
  EXPECT_LT(Text("a"), "ab");
  EXPECT_GT(Text("b"), std::string("a"));
  std::set<Text> sorted = {"c", "a", "b", "a"};
  EXPECT_EQ(std::vector<Text>(sorted.begin(), sorted.end()), (std::vector<Text>{"a", "b", "c"}));

  // Assignment keeps the bytes alive while anything still refers to them.
  Text x = "first";
  Text y = x;
  x = "second";
  EXPECT_EQ(y, "first");
  EXPECT_EQ(x, "second");
  x = y;
  EXPECT_TRUE(x.SameBytes(y));
  x = x;  // NOLINT: self-assignment is harmless
  EXPECT_EQ(x, "first");
  Text moved = std::move(y);
  EXPECT_EQ(moved, "first");
  EXPECT_TRUE(y.empty());  // NOLINT(bugprone-use-after-move): a moved-from Text is empty
}

TEST(Text, PoolInternsEqualValuesIntoOneBuffer) {
  TextPool pool;
  Text a = pool.Intern(std::string("in-use"));
  Text b = pool.Intern("in-use");
  Text c = pool.Intern("available");
  EXPECT_TRUE(a.SameBytes(b));
  EXPECT_FALSE(a.SameBytes(c));
  EXPECT_TRUE(pool.Intern("").empty());
  EXPECT_EQ(pool.size(), 2u);
  // Interned values outlive their pool.
  Text kept;
  {
    TextPool scoped;
    kept = scoped.Intern("pure-ssd");
  }
  EXPECT_EQ(kept, "pure-ssd");
}

TEST(Text, CopiesMayBeMadeAndDroppedOnManyThreadsAtOnce) {
  const Text shared = std::string(100, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&shared] {
      for (int i = 0; i < 100000; ++i) {
        Text copy = shared;
        Text again = copy;
        if (again.size() != 100) std::abort();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(shared, std::string(100, 'x'));
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
