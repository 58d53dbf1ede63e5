// Text: the immutable string of the OpenStack model (nova.h) and of the storage-mapping model that joins it
// (exporters/storage-mapping/storage_model.h). One pointer wide, and a copy shares the
// bytes instead of duplicating them, so the mapping's rows, the history and the source snapshots they were
// joined from hold each Cinder id, server name or serial once. At 100k volumes a std::string row of 22 fields
// cost about 1.2 KB (the 32-byte objects plus a heap copy of every long field); a Text row costs about 200 B.
//
// A TextPool interns the values a listing repeats (statuses, volume types, projects, hypervisors, devices),
// so 100k volumes in 20 projects keep 20 project ids, not 100k.
//
// Thread-safety: a Text is immutable. Copies of one Text may be made and destroyed on any thread (the count
// is atomic); as with std::shared_ptr, one Text object itself must not be assigned on one thread while
// another reads it. A TextPool is not thread-safe: one parse owns it.
#pragma once

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_set>

namespace estate::openstack {

class Text {
 public:
  Text() noexcept = default;
  Text(std::string_view s);  // NOLINT(google-explicit-constructor): a Text is a string
  Text(const std::string& s) : Text(std::string_view(s)) {}  // NOLINT(google-explicit-constructor)
  Text(const char* s) : Text(std::string_view(s)) {}         // NOLINT(google-explicit-constructor)
  Text(const Text& other) noexcept : rep_(other.rep_) { Ref(); }
  Text(Text&& other) noexcept : rep_(other.rep_) { other.rep_ = nullptr; }
  Text& operator=(const Text& other) noexcept {
    if (rep_ != other.rep_) {
      Text copy(other);
      Swap(copy);
    }
    return *this;
  }
  Text& operator=(Text&& other) noexcept {
    Text moved(std::move(other));
    Swap(moved);
    return *this;
  }
  Text& operator=(std::string_view s) { return *this = Text(s); }
  Text& operator=(const std::string& s) { return *this = Text(std::string_view(s)); }
  Text& operator=(const char* s) { return *this = Text(std::string_view(s)); }
  ~Text() { Unref(); }

  std::string_view view() const noexcept {
    return rep_ ? std::string_view(Chars(rep_), rep_->size) : std::string_view();
  }
  operator std::string_view() const noexcept { return view(); }  // NOLINT(google-explicit-constructor)
  std::string str() const { return std::string(view()); }
  const char* data() const noexcept { return rep_ ? Chars(rep_) : ""; }
  const char* c_str() const noexcept { return data(); }  // always NUL-terminated
  std::size_t size() const noexcept { return rep_ ? rep_->size : 0; }
  bool empty() const noexcept { return rep_ == nullptr; }
  char operator[](std::size_t i) const noexcept { return Chars(rep_)[i]; }
  const char* begin() const noexcept { return data(); }
  const char* end() const noexcept { return data() + size(); }
  // Whether both share one buffer (a copy of the other, or interned by one pool).
  bool SameBytes(const Text& other) const noexcept { return rep_ == other.rep_; }

  void Swap(Text& other) noexcept { std::swap(rep_, other.rep_); }

  friend bool operator==(const Text& a, const Text& b) noexcept {
    return a.rep_ == b.rep_ || a.view() == b.view();
  }
  friend bool operator==(const Text& a, std::string_view b) noexcept { return a.view() == b; }
  friend bool operator==(const Text& a, const std::string& b) noexcept { return a.view() == b; }
  friend bool operator==(const Text& a, const char* b) noexcept { return a.view() == b; }
  friend std::strong_ordering operator<=>(const Text& a, const Text& b) noexcept {
    return a.view() <=> b.view();
  }
  friend std::strong_ordering operator<=>(const Text& a, std::string_view b) noexcept {
    return a.view() <=> b;
  }
  friend std::strong_ordering operator<=>(const Text& a, const std::string& b) noexcept {
    return a.view() <=> std::string_view(b);
  }
  friend std::strong_ordering operator<=>(const Text& a, const char* b) noexcept {
    return a.view() <=> std::string_view(b);
  }
  friend std::string operator+(const std::string& a, const Text& b) { return a + std::string(b.view()); }
  friend std::string operator+(const Text& a, const std::string& b) { return std::string(a.view()) + b; }
  friend std::string operator+(const char* a, const Text& b) { return a + std::string(b.view()); }
  friend std::string operator+(const Text& a, const char* b) { return std::string(a.view()) + b; }
  friend std::ostream& operator<<(std::ostream& os, const Text& t) { return os << t.view(); }

 private:
  // The header of a heap block; the size bytes and a NUL follow it.
  struct Rep {
    std::atomic<std::uint32_t> refs;
    std::uint32_t size;
  };
  static const char* Chars(const Rep* rep) noexcept { return reinterpret_cast<const char*>(rep + 1); }
  void Ref() const noexcept {
    if (rep_) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void Unref() noexcept;

  Rep* rep_ = nullptr;  // null for the empty string
};

// Interns values: the same bytes give the same shared Text. For one listing's repeated values; ids that are
// unique anyway gain nothing from it.
class TextPool {
 public:
  Text Intern(std::string_view s);
  std::size_t size() const { return set_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  std::unordered_set<Text, Hash, Eq> set_;
};

}  // namespace estate::openstack

template <>
struct std::hash<estate::openstack::Text> {
  std::size_t operator()(const estate::openstack::Text& t) const noexcept {
    return std::hash<std::string_view>{}(t.view());
  }
};
