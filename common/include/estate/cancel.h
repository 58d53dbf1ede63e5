// Deadline and cancellation shared by a background refresh or a /probe request and the upstream calls it makes.
// Thread-safe: Cancel() may be called from any thread while others read.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

namespace estate {

using Clock = std::chrono::steady_clock;

class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void Cancel() const { flag_->store(true, std::memory_order_relaxed); }
  bool Cancelled() const { return flag_->load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// What a unit of work may spend: a deadline (time_point::max() = none) and a cancel flag.
struct Budget {
  Clock::time_point deadline = Clock::time_point::max();
  CancelToken cancel;

  bool Expired() const { return cancel.Cancelled() || Clock::now() >= deadline; }
  // Seconds left, or a large number when there is no deadline.
  double SecondsLeft() const {
    if (deadline == Clock::time_point::max()) return 1e9;
    return std::chrono::duration<double>(deadline - Clock::now()).count();
  }
};

}  // namespace estate
