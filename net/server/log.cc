#include "net/server/log.h"

#include <chrono>
#include <ctime>

namespace sluice::net {
namespace {

// RFC 3339 in UTC with milliseconds: sortable, and what log collectors parse.
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Text values are quoted when a reader could not tell where they end.
void append_text_value(std::string& out, std::string_view text) {
  bool plain = !text.empty();
  for (const char c : text) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) plain = false;
  }
  if (plain) {
    out += text;
  } else {
    append_json_string(out, text);
  }
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn" || text == "warning") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return std::nullopt;
}

LogLine::LogLine(Logger* logger, LogLevel level, std::string_view event) : logger_(logger) {
  if (logger_ == nullptr) return;
  line_.reserve(160);
  if (logger_->format() == LogFormat::json) line_ += '{';
  raw("ts", utc_now(), true);
  raw("level", log_level_name(level), true);
  raw("event", event, true);
}

LogLine::~LogLine() {
  if (logger_ == nullptr) return;
  if (logger_->format() == LogFormat::json) line_ += '}';
  line_ += '\n';
  logger_->write(line_);
}

void LogLine::raw(std::string_view key, std::string_view value, bool quote_json) {
  if (logger_->format() == LogFormat::json) {
    if (line_.size() > 1) line_ += ',';
    append_json_string(line_, key);
    line_ += ':';
    if (quote_json) {
      append_json_string(line_, value);
    } else {
      line_ += value;
    }
  } else {
    if (!line_.empty()) line_ += ' ';
    line_ += key;
    line_ += '=';
    append_text_value(line_, value);
  }
}

LogLine& LogLine::s(std::string_view key, std::string_view value) {
  if (logger_ != nullptr) raw(key, value, true);
  return *this;
}

LogLine& LogLine::u(std::string_view key, std::uint64_t value) {
  if (logger_ != nullptr) raw(key, std::to_string(value), false);
  return *this;
}

LogLine& LogLine::i(std::string_view key, std::int64_t value) {
  if (logger_ != nullptr) raw(key, std::to_string(value), false);
  return *this;
}

LogLine& LogLine::b(std::string_view key, bool value) {
  if (logger_ != nullptr) raw(key, value ? "true" : "false", false);
  return *this;
}

void Logger::write(const std::string& line) {
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

}  // namespace sluice::net
