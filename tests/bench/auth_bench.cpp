// auth_bench: how long a basic-auth check takes for an unknown user and for known users whose bcrypt hashes
// have cost 4, 10 and 12 (wrong passwords, never cached), through estate::web::BasicAuthChecker. An unknown
// user is checked against a dummy hash with the dearest configured cost, so with users of costs 4, 10 and 12
// it must cost what the cost-12 user costs, and with a cost-4 user only what that one costs. Then 16 threads
// send random passwords while one client checks valid (cached) credentials: its p50/p99.
// Prints "bench: ..." lines; exit 1 when the unknown user is faster than half the dearest user's time.
#include <crypt.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "estate/web_config.h"

namespace {

using estate::bench::Figure;
using estate::bench::Info;
using estate::bench::Percentile;
using estate::web::BasicAuthChecker;
using Clock = std::chrono::steady_clock;

std::string Hash(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) == nullptr)
    return {};
  crypt_data data{};
  const char* h = crypt_r(password.c_str(), salt, &data);
  return h == nullptr ? std::string() : std::string(h);
}

// Median time of `reps` checks of distinct wrong passwords (so none is cached).
double MedianMs(const BasicAuthChecker& auth, const std::string& user, int reps) {
  static std::atomic<int> serial{0};
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const std::string password = "wrong-" + std::to_string(serial++);
    const auto start = Clock::now();
    (void)auth.CheckUserPassword(user, password);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return Percentile(ms, 0.5);
}

}  // namespace

int main() {
  const int reps = 5;
  BasicAuthChecker mixed({{"u4", Hash("a", 4)}, {"u10", Hash("b", 10)}, {"u12", Hash("c", 12)}});
  Info("users of bcrypt cost 4, 10 and 12; the dummy hash has cost " +
       std::to_string(BasicAuthChecker::BcryptCost(mixed.dummy_hash())) + "; median of " +
       std::to_string(reps) + " wrong passwords each");
  const double unknown = MedianMs(mixed, "nobody", reps);
  const double u4 = MedianMs(mixed, "u4", reps);
  const double u10 = MedianMs(mixed, "u10", reps);
  const double u12 = MedianMs(mixed, "u12", reps);
  Figure("auth_unknown_user_ms", unknown, "ms", "about the cost-12 user's");
  Figure("auth_cost4_user_ms", u4, "ms", "info");
  Figure("auth_cost10_user_ms", u10, "ms", "info");
  Figure("auth_cost12_user_ms", u12, "ms", "info");

  BasicAuthChecker cheap({{"u4", Hash("a", 4)}});
  const double cheap_unknown = MedianMs(cheap, "nobody", reps);
  const double cheap_u4 = MedianMs(cheap, "u4", reps);
  Figure("auth_only_cost4_unknown_user_ms", cheap_unknown, "ms", "about the cost-4 user's");
  Figure("auth_only_cost4_user_ms", cheap_u4, "ms", "info");

  // Starvation: 16 threads of random passwords for the cost-10 user; a valid client whose credentials were
  // verified once.
  BasicAuthChecker flood({{"prom", Hash("s3cret", 10)}});
  (void)flood.CheckUserPassword("prom", "s3cret");
  std::atomic<bool> stop{false};
  std::atomic<long> attempts{0};
  std::vector<std::thread> attackers;
  for (int t = 0; t < 16; ++t) {
    attackers.emplace_back([&, t] {
      for (long i = 0; !stop; ++i) {
        (void)flood.CheckUserPassword("prom", "guess-" + std::to_string(t) + "-" + std::to_string(i));
        ++attempts;
      }
    });
  }
  std::vector<double> valid_ms;
  int failures = 0;
  const auto until = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < until) {
    const auto start = Clock::now();
    if (!flood.CheckUserPassword("prom", "s3cret")) ++failures;
    valid_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (auto& t : attackers) t.join();
  Info("16 threads of wrong passwords for a cost-10 user: " + std::to_string(attempts.load()) +
       " attempts in 5 s; the valid client made " + std::to_string(valid_ms.size()) + " checks, " +
       std::to_string(failures) + " failed");
  Figure("auth_valid_cached_under_flood_p50_ms", Percentile(valid_ms, 0.5), "ms", "info");
  Figure("auth_valid_cached_under_flood_p99_ms", Percentile(valid_ms, 0.99), "ms", "info");

  const bool ok = unknown * 2 > u12 && cheap_unknown < cheap_u4 * 4 + 5 && failures == 0;
  std::printf(
      "%s: unknown user %.1f ms vs cost-12 user %.1f ms; with only a cost-4 user %.1f ms vs %.1f ms\n",
      ok ? "PASS" : "FAIL", unknown, u12, cheap_unknown, cheap_u4);
  return ok ? 0 : 1;
}
