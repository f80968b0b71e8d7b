// A small binary codec for records the core writes itself (broker commands,
// state records, snapshots): fixed-width big-endian integers and
// length-prefixed strings. The Decoder never reads past its input: every
// read reports failure instead, and a failed decoder stays failed, so a
// caller checks once at the end (`ok()` and `done()`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/bytes.h"
#include "core/common/time.h"

namespace sluice {

class Encoder {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void u32(std::uint32_t v) { put_u32_be(out_, v); }
  void u64(std::uint64_t v) { put_u64_be(out_, v); }
  void i64(std::int64_t v) { put_u64_be(out_, static_cast<std::uint64_t>(v)); }
  void timestamp(Timestamp t) { i64(t.ns); }
  void duration(Duration d) { i64(d.ns); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }

  const std::string& bytes() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  std::uint8_t u8() { return need(1) ? static_cast<std::uint8_t>(in_[pos_++]) : 0; }
  bool boolean() {
    const std::uint8_t v = u8();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    const std::uint32_t v = get_u32_be(in_, pos_);
    pos_ += 4;
    return v;
  }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    const std::uint64_t v = get_u64_be(in_, pos_);
    pos_ += 8;
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  Timestamp timestamp() { return Timestamp{i64()}; }
  Duration duration() { return Duration{i64()}; }
  std::string str() {
    const std::uint32_t n = u32();
    if (!need(n)) return {};
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // A count of items that follow, each at least `min_item_bytes` long: a
  // corrupt count cannot make the caller loop or allocate beyond the input.
  std::uint32_t count(std::size_t min_item_bytes) {
    const std::uint32_t n = u32();
    if (ok_ && min_item_bytes > 0 && n > (in_.size() - pos_) / min_item_bytes) ok_ = false;
    return ok_ ? n : 0;
  }

  bool ok() const { return ok_; }
  // Everything read, nothing failed.
  bool done() const { return ok_ && pos_ == in_.size(); }

 private:
  bool need(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace sluice
