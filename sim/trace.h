// Structured trace events: a name plus key/value details, hashed as they are
// emitted. The hash of a whole run is its fingerprint: the same seed must
// always give the same trace hash. Optionally written as JSON lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/common/time.h"

namespace sluice::sim {

class Trace {
 public:
  // out may be null: then events are only hashed. Trace does not own out.
  explicit Trace(std::FILE* out = nullptr) : out_(out) {}
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  class Event {
   public:
    Event(Trace* trace, Timestamp time, std::string_view name);
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    ~Event();
    Event& u(std::string_view key, std::uint64_t value);
    Event& i(std::string_view key, std::int64_t value);
    Event& s(std::string_view key, std::string_view value);

   private:
    Trace* trace_;
  };

  Event event(Timestamp time, std::string_view name) { return Event(this, time, name); }

  std::uint64_t hash() const { return hash_; }
  std::uint64_t count() const { return count_; }

 private:
  void mix(std::string_view bytes);
  void mix_u64(std::uint64_t v);

  std::FILE* out_;
  std::string line_;
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::uint64_t count_ = 0;
};

}  // namespace sluice::sim
