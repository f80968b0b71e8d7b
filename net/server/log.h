// Structured logs for sluiced: one line per event, an event name plus
// key/value fields, as `key=value` text or as JSON lines.
//
//   logger.info("peer.connected").u("peer", 2).s("address", "10.0.0.7:50001");
//
//   text: ts=2024-05-01T12:00:00.123Z level=info event=peer.connected peer=2 address=10.0.0.7:50001
//   json: {"ts":"2024-05-01T12:00:00.123Z","level":"info","event":"peer.connected","peer":2,"address":"10.0.0.7:50001"}
//
// The line is written when the LogLine goes out of scope. Thread-safe: the
// storage thread logs too, and lines never interleave.
#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::net {

enum class LogLevel : std::uint8_t { debug, info, warn, error };
enum class LogFormat : std::uint8_t { text, json };

const char* log_level_name(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view text);
std::optional<LogFormat> parse_log_format(std::string_view text);

class Logger;

// One event being built. Fields keep the order they were added in.
class LogLine {
 public:
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  ~LogLine();

  LogLine& s(std::string_view key, std::string_view value);
  LogLine& u(std::string_view key, std::uint64_t value);
  LogLine& i(std::string_view key, std::int64_t value);
  LogLine& b(std::string_view key, bool value);

 private:
  friend class Logger;
  LogLine(Logger* logger, LogLevel level, std::string_view event);
  void raw(std::string_view key, std::string_view value, bool quote_json);

  Logger* logger_;  // nullptr: below the level, nothing is built
  std::string line_;
};

class Logger {
 public:
  // `out` is not owned and must outlive the logger.
  Logger(LogFormat format, LogLevel level, std::FILE* out = stderr) : format_(format), level_(level), out_(out) {}

  bool enabled(LogLevel level) const { return level >= level_; }
  LogLine log(LogLevel level, std::string_view event) { return LogLine(enabled(level) ? this : nullptr, level, event); }
  LogLine debug(std::string_view event) { return log(LogLevel::debug, event); }
  LogLine info(std::string_view event) { return log(LogLevel::info, event); }
  LogLine warn(std::string_view event) { return log(LogLevel::warn, event); }
  LogLine error(std::string_view event) { return log(LogLevel::error, event); }

  LogFormat format() const { return format_; }

 private:
  friend class LogLine;
  void write(const std::string& line);

  LogFormat format_;
  LogLevel level_;
  std::FILE* out_;
  std::mutex mu_;  // one line at a time
};

}  // namespace sluice::net
