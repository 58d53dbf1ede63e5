// Text: the shared immutable string of the OpenStack and storage models.
#include "estate/openstack/text.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace estate::openstack {
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

}  // namespace
}  // namespace estate::openstack
