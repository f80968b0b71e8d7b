// Operating errors as values. Bugs are assertions (SLUICE_ASSERT), never Status.
//
// Result<T> is our stand-in for std::expected (C++23, not in GCC 12): either a
// value or a non-ok Status, never both.
#pragma once

#include <cassert>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace sluice {

enum class Code : std::uint8_t {
  ok = 0,
  invalid_argument,  // the caller sent something malformed or over a limit
  not_found,
  corruption,        // a checksum did not match: the data must not be used
  io_error,          // the device failed a read, write or sync
  no_space,          // the device is full; nothing was written
  unavailable,       // try again later (no leader, recovering, poisoned peer)
  poisoned,          // this node saw a failed write or sync and stopped serving
  timeout,
  version_mismatch,  // stored data has a format this build does not read
};

const char* code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return code_ == Code::ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::ok;
  std::string message_;
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const char* why);

// A broken invariant is a bug: stop the process with the reason. Always on,
// also in release builds, because a broker that guesses loses data.
#define SLUICE_ASSERT(cond, why)                                   \
  do {                                                             \
    if (!(cond)) ::sluice::assert_fail(#cond, __FILE__, __LINE__, (why)); \
  } while (0)

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    SLUICE_ASSERT(!std::get<Status>(v_).ok(), "a Result error must not be ok");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    SLUICE_ASSERT(!ok(), "status() of a Result that holds a value");
    return std::get<Status>(v_);
  }
  T& value() & {
    SLUICE_ASSERT(ok(), "value() of a Result that holds an error");
    return std::get<T>(v_);
  }
  const T& value() const& {
    SLUICE_ASSERT(ok(), "value() of a Result that holds an error");
    return std::get<T>(v_);
  }
  T&& value() && {
    SLUICE_ASSERT(ok(), "value() of a Result that holds an error");
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sluice
