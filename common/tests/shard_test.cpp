// Sharding sources across instances (estate/shard.h): a stable hash, an even spread, minimal movement when
// the shard count grows, and the StatefulSet ordinal of --shard.index=auto.
#include "estate/shard.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using estate::shard::JumpHash;
using estate::shard::OrdinalFromPodName;
using estate::shard::OwnedJobs;
using estate::shard::Resolve;
using estate::shard::Shard;
using estate::shard::ShardOf;
using estate::shard::StableHash;

std::vector<std::string> Names(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("hv-r" + std::to_string(i / 40) + "-n" + std::to_string(i) + "-bmc");
  return out;
}

TEST(Shard, HashIsStableAcrossVersionsAndMachines) {
  // Instances of different versions must agree on who owns what during a rolling upgrade: these values are
  // FNV-1a 64 with the MurmurHash3 finaliser, and jump hash; changing either reshuffles every estate.
  EXPECT_EQ(StableHash(""), 0xefd01f60ba992926ULL);
  EXPECT_EQ(StableHash("hv-hpe-01-ilo"), 0xbd5520be47cc06b1ULL);
  EXPECT_EQ(ShardOf("hv-lenovo-01-xcc", 3), 0);
  EXPECT_EQ(ShardOf("hv-dell-01-idrac", 3), 1);
  EXPECT_NE(StableHash("bmc-001"), StableHash("bmc-002"));
  EXPECT_EQ(JumpHash(0, 1), 0);
  EXPECT_EQ(JumpHash(0xdeadbeefULL, 1), 0);
  for (int total = 1; total <= 64; ++total) {
    for (std::uint64_t key : {0ULL, 1ULL, 42ULL, 0xffffffffffffffffULL}) {
      const int b = JumpHash(key, total);
      EXPECT_GE(b, 0);
      EXPECT_LT(b, total);
    }
  }
}

TEST(Shard, SpreadsSourcesEvenly) {
  const auto names = Names(3000);
  for (int total : {2, 3, 5, 8}) {
    std::map<int, int> count;
    for (const auto& n : names) ++count[ShardOf(n, total)];
    ASSERT_EQ(static_cast<int>(count.size()), total);
    const double expected = 3000.0 / total;
    for (const auto& [shard, c] : count) {
      EXPECT_NEAR(c, expected, expected * 0.12) << "shard " << shard << " of " << total;
    }
  }
}

TEST(Shard, GrowingByOneMovesOnlyWhatTheNewShardTakes) {
  const auto names = Names(3000);
  for (int total = 1; total < 10; ++total) {
    int moved = 0;
    for (const auto& n : names) {
      const int before = ShardOf(n, total);
      const int after = ShardOf(n, total + 1);
      if (before != after) {
        ++moved;
        EXPECT_EQ(after, total) << n << ": a source that moves goes to the new shard, never between old ones";
      }
    }
    const double ideal = 3000.0 / (total + 1);
    EXPECT_NEAR(moved, ideal, ideal * 0.15) << total << " -> " << total + 1;
  }
}

TEST(Shard, EverySourceHasExactlyOneOwner) {
  for (const auto& n : Names(500)) {
    int owners = 0;
    for (int i = 0; i < 3; ++i) owners += Shard{i, 3}.Owns(n) ? 1 : 0;
    EXPECT_EQ(owners, 1) << n;
    EXPECT_TRUE(Shard{}.Owns(n)) << "one shard owns everything";
  }
}

TEST(Shard, OrdinalOfAStatefulSetPod) {
  EXPECT_EQ(*OrdinalFromPodName("estate-hardware-3"), 3);
  EXPECT_EQ(*OrdinalFromPodName("estate-hardware-0"), 0);
  EXPECT_EQ(*OrdinalFromPodName("x-12"), 12);
  for (const char* bad : {"", "estate", "estate-", "estate-a", "estate-3a", "estate-99999999999",
                          "estate-+3", "estate-3 "}) {
    EXPECT_FALSE(OrdinalFromPodName(bad)) << '"' << bad << '"';
  }
}

TEST(Shard, ResolveChecksTheFlags) {
  auto s = Resolve(3, "2", "");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->ordinal, 2);
  EXPECT_EQ(s->total, 3);
  s = Resolve(4, "auto", "estate-hardware-3");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->ordinal, 3);
  EXPECT_FALSE(Resolve(3, "3", "")) << "ordinal beyond the total";
  EXPECT_FALSE(Resolve(3, "auto", "estate-hardware-5")) << "a pod beyond the total";
  EXPECT_FALSE(Resolve(3, "auto", "")) << "auto without a name";
  EXPECT_FALSE(Resolve(3, "auto", "monitoring01")) << "a host name that is not a pod's";
  EXPECT_FALSE(Resolve(0, "0", ""));
  EXPECT_FALSE(Resolve(1025, "0", ""));
  EXPECT_FALSE(Resolve(3, "-1", ""));
  EXPECT_FALSE(Resolve(3, "one", ""));
  EXPECT_FALSE(Resolve(3, "", ""));
  EXPECT_TRUE(Resolve(1, "0", ""));
}

TEST(Shard, OwnedJobsKeepAllOfASourcesGroupsTogether) {
  std::vector<estate::JobSpec> jobs;
  for (const auto& n : Names(300)) {
    for (const char* g : {"fast", "slow", "events"}) {
      estate::JobSpec j;
      j.source = n;
      j.group = g;
      jobs.push_back(j);
    }
  }
  std::set<std::string> seen;
  std::size_t owned_total = 0;
  for (int i = 0; i < 3; ++i) {
    const auto split = OwnedJobs(jobs, Shard{i, 3});
    EXPECT_EQ(split.configured_sources, 300u);
    EXPECT_EQ(split.owned.size(), split.owned_sources * 3) << "fast, slow and events of a source go together";
    owned_total += split.owned_sources;
    for (const auto& j : split.owned) {
      EXPECT_EQ(ShardOf(j.source, 3), i);
      seen.insert(j.source);
    }
  }
  EXPECT_EQ(owned_total, 300u);
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_EQ(OwnedJobs(jobs, Shard{}).owned.size(), jobs.size());
}

}  // namespace
