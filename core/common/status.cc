#include "core/common/status.h"

namespace sluice {

const char* code_name(Code code) {
  switch (code) {
    case Code::ok: return "ok";
    case Code::invalid_argument: return "invalid_argument";
    case Code::not_found: return "not_found";
    case Code::corruption: return "corruption";
    case Code::io_error: return "io_error";
    case Code::no_space: return "no_space";
    case Code::unavailable: return "unavailable";
    case Code::poisoned: return "poisoned";
    case Code::timeout: return "timeout";
    case Code::version_mismatch: return "version_mismatch";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

void assert_fail(const char* expr, const char* file, int line, const char* why) {
  std::fprintf(stderr, "sluice: assertion failed at %s:%d: %s (%s)\n", file, line, why, expr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace sluice
