#include "sim/trace.h"

#include "core/common/random.h"

namespace sluice::sim {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

void Trace::mix(std::string_view bytes) {
  hash_ = fnv1a64(bytes.data(), bytes.size(), hash_);
  hash_ = fnv1a64("\x1f", 1, hash_);  // field separator: "ab"+"c" != "a"+"bc"
}

void Trace::mix_u64(std::uint64_t v) {
  unsigned char b[8];
  for (int k = 0; k < 8; ++k) b[k] = static_cast<unsigned char>(v >> (8 * k));
  hash_ = fnv1a64(b, 8, hash_);
}

Trace::Event::Event(Trace* trace, Timestamp time, std::string_view name) : trace_(trace) {
  ++trace_->count_;
  trace_->mix_u64(static_cast<std::uint64_t>(time.ns));
  trace_->mix(name);
  if (trace_->out_ != nullptr) {
    trace_->line_ = "{\"t\":" + std::to_string(time.ns) + ",\"ev\":";
    append_json_string(trace_->line_, name);
  }
}

Trace::Event::~Event() {
  trace_->mix("\n");
  if (trace_->out_ != nullptr) {
    trace_->line_ += "}\n";
    std::fwrite(trace_->line_.data(), 1, trace_->line_.size(), trace_->out_);
  }
}

Trace::Event& Trace::Event::u(std::string_view key, std::uint64_t value) {
  trace_->mix(key);
  trace_->mix_u64(value);
  if (trace_->out_ != nullptr) {
    trace_->line_ += ',';
    append_json_string(trace_->line_, key);
    trace_->line_ += ':' + std::to_string(value);
  }
  return *this;
}

Trace::Event& Trace::Event::i(std::string_view key, std::int64_t value) {
  trace_->mix(key);
  trace_->mix_u64(static_cast<std::uint64_t>(value));
  if (trace_->out_ != nullptr) {
    trace_->line_ += ',';
    append_json_string(trace_->line_, key);
    trace_->line_ += ':' + std::to_string(value);
  }
  return *this;
}

Trace::Event& Trace::Event::s(std::string_view key, std::string_view value) {
  trace_->mix(key);
  trace_->mix(value);
  if (trace_->out_ != nullptr) {
    trace_->line_ += ',';
    append_json_string(trace_->line_, key);
    trace_->line_ += ':';
    append_json_string(trace_->line_, value);
  }
  return *this;
}

}  // namespace sluice::sim
