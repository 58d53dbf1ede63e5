// The first-seen store: times kept across joins and restarts, never reset by a source going missing, dropped
// on registration, forgotten after a long absence; a corrupt file is an error, a missing one an empty store.
#include "first_seen_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "estate/testing/e2e.h"
#include "registry_test_data.h"

namespace estate::registry {
namespace {

using test::kNow;

std::vector<App> Apps(const RegistryView& v) { return v.apps; }

TEST(FirstSeenStoreTest, RestartKeepsFirstSeen) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/first-seen.json";
  RegistryView view = Join(test::Inputs(), test::Options(), kNow);
  {
    FirstSeenStore store(path);
    ASSERT_TRUE(store.Load().ok());
    std::vector<App> apps = Apps(view);
    store.Update(apps, true, kNow);
    ASSERT_TRUE(store.dirty());
    ASSERT_TRUE(store.Save().ok());
    EXPECT_EQ(store.entries().size(), 3u);  // xyz, old, iex
  }
  FirstSeenStore restarted(path);
  ASSERT_TRUE(restarted.Load().ok());
  std::vector<App> apps = Apps(view);
  restarted.Update(apps, true, kNow + 86400);
  for (const auto& app : apps) {
    if (app.registered) {
      EXPECT_EQ(app.first_seen_unregistered_unix, 0) << app.tla;
    } else {
      EXPECT_EQ(app.first_seen_unregistered_unix, kNow) << app.tla;
    }
  }
}

TEST(FirstSeenStoreTest, MissingDataNeverResetsFirstSeen) {
  FirstSeenStore store("", 30 * 86400.0);
  std::vector<App> apps = Apps(Join(test::Inputs(), test::Options(), kNow));
  store.Update(apps, true, kNow);

  // The inventory is empty (its source failed and had nothing kept): nothing is forgotten.
  std::vector<App> none;
  store.Update(none, true, kNow + 3600);
  EXPECT_EQ(store.entries().size(), 3u);
  // No CMDB data (ServiceNow down since start): nothing changes, apps get their stored times.
  std::vector<App> later = Apps(Join(test::Inputs(), test::Options(), kNow + 7200));
  for (auto& a : later) a.registered = false;
  store.Update(later, false, kNow + 7200);
  EXPECT_EQ(store.entries().size(), 3u);
  EXPECT_EQ(store.entries().at("xyz").first_seen, kNow);
  // Back: the same first-seen time.
  std::vector<App> back = Apps(Join(test::Inputs(), test::Options(), kNow + 86400));
  store.Update(back, true, kNow + 86400);
  for (const auto& a : back) {
    if (a.tla == "xyz") {
      EXPECT_EQ(a.first_seen_unregistered_unix, kNow);
    }
  }
}

TEST(FirstSeenStoreTest, RegisteredAppIsDroppedAndLongAbsenceForgotten) {
  FirstSeenStore store("", 10 * 86400.0);
  std::vector<App> apps = Apps(Join(test::Inputs(), test::Options(), kNow));
  store.Update(apps, true, kNow);
  ASSERT_TRUE(store.entries().count("old"));
  for (auto& a : apps) {
    if (a.tla == "old") a.registered = true;
  }
  store.Update(apps, true, kNow + 60);
  EXPECT_FALSE(store.entries().count("old"));
  std::vector<App> only_xyz;
  for (const auto& a : apps) {
    if (a.tla == "xyz") only_xyz.push_back(a);
  }
  store.Update(only_xyz, true, kNow + 5 * 86400);
  EXPECT_TRUE(store.entries().count("iex"));  // absent 5 days: kept
  store.Update(only_xyz, true, kNow + 11 * 86400);
  EXPECT_FALSE(store.entries().count("iex"));  // absent 11 days: forgotten
  EXPECT_EQ(store.entries().at("xyz").first_seen, kNow);
}

TEST(FirstSeenStoreTest, CorruptFileIsAnErrorMissingFileIsEmpty) {
  testing::TempDir dir;
  FirstSeenStore missing(dir.path() + "/none.json");
  EXPECT_TRUE(missing.Load().ok());
  EXPECT_TRUE(missing.entries().empty());
  FirstSeenStore corrupt(
      dir.Write("bad.json", "{\"version\":1,\"apps\":{\"x\":{\"first_seen\":\"yesterday\"}}}"));
  EXPECT_FALSE(corrupt.Load().ok());
  FirstSeenStore truncated(dir.Write("trunc.json", "{\"version\":1,\"apps\":{"));
  EXPECT_FALSE(truncated.Load().ok());
  FirstSeenStore wrong_version(dir.Write("v2.json", "{\"version\":2,\"apps\":{}}"));
  EXPECT_FALSE(wrong_version.Load().ok());
}

TEST(FirstSeenStoreTest, SaveFailureKeepsTheStoreDirtyAndTheOldFile) {
  testing::TempDir dir;
  FirstSeenStore store(dir.path() + "/no/such/dir/first-seen.json");
  std::vector<App> apps = Apps(Join(test::Inputs(), test::Options(), kNow));
  store.Update(apps, true, kNow);
  EXPECT_FALSE(store.Save().ok());
  EXPECT_TRUE(store.dirty());
}

TEST(FirstSeenStoreTest, SerialiseParseRoundTrip) {
  std::map<std::string, FirstSeenStore::Entry> entries = {{"abc", {100, 200}}, {"x\"y", {5, 5}}};
  auto parsed = FirstSeenStore::Parse(FirstSeenStore::Serialise(entries));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->size(), 2u);
  EXPECT_EQ(parsed->at("abc").last_seen, 200);
  EXPECT_EQ(parsed->at("x\"y").first_seen, 5);
}

}  // namespace
}  // namespace estate::registry
