#include "net/http/json_fields.h"

#include <algorithm>
#include <limits>

#include "core/broker/names.h"

namespace sluice::http::detail {
namespace {

// Whether brackets nest deeper than `max` outside strings. A cheap pass
// that keeps deeply nested input away from the parser and the destructor.
bool too_deep(std::string_view text, std::size_t max) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

}  // namespace

void fail(std::string message) { throw Reject{bad_request(std::move(message))}; }
void fail(HttpError error) { throw Reject{std::move(error)}; }

std::string quote(std::string_view text) {
  constexpr std::size_t kShown = 64;
  std::string out = "'";
  for (const char c : text.substr(0, kShown)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (text.size() > kShown) out += "...";
  return out + "'";
}

Json parse_object(std::string_view text, std::string_view what) {
  if (blank(text)) return Json::object();
  if (too_deep(text, kJsonDepthMax)) {
    fail(std::string(what) + " nests deeper than " + std::to_string(kJsonDepthMax) + " levels");
  }
  // Keys seen, per open object: a key given twice is ambiguous (which one
  // wins differs between parsers), so it is refused.
  std::vector<std::set<std::string>> open;
  std::string duplicate;
  auto callback = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: open.emplace_back(); break;
      case Json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default: break;
    }
    return true;
  };
  Json j;
  try {
    j = Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::exception& e) {
    // Not only parse_error: a number too large for a double ("1e500") is
    // out_of_range. Found by fuzz_rest_json; any of them escaping would
    // take the node's loop down with it.
    // "[json.exception.parse_error.101] parse error at line 1, column 3: ..." without the bracket.
    std::string m = e.what();
    const std::size_t close = m.find("] ");
    fail(std::string(what) + " is not valid JSON: " + (close == std::string::npos ? m : m.substr(close + 2)));
  }
  if (!duplicate.empty()) fail(std::string(what) + " has field " + quote(duplicate) + " twice");
  if (!j.is_object()) fail(std::string(what) + " must be a JSON object");
  return j;
}

Fields::Fields(Json object, std::vector<std::string_view> allowed, std::string prefix)
    : object_(std::move(object)), prefix_(std::move(prefix)) {
  SLUICE_ASSERT(object_.is_object(), "Fields reads a JSON object");
  for (const auto& [key, value] : object_.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) fail("unknown " + name(key));
  }
}

std::string Fields::name(std::string_view field) const { return "field " + quote(prefix_ + std::string(field)); }

const Json* Fields::raw(std::string_view field) const {
  const auto it = object_.find(field);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool Fields::has(std::string_view field) const { return raw(field) != nullptr; }

std::optional<std::string> Fields::str(std::string_view field) const {
  const Json* v = raw(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) fail(name(field) + " must be a string");
  return v->get<std::string>();
}

std::string Fields::str_required(std::string_view field) const {
  auto v = str(field);
  if (!v) fail(name(field) + " is required");
  return *v;
}

std::optional<std::uint64_t> Fields::u64(std::string_view field) const {
  const Json* v = raw(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_unsigned()) fail(name(field) + " must be a non-negative integer");
  return v->get<std::uint64_t>();
}

std::uint64_t Fields::u64_required(std::string_view field) const {
  auto v = u64(field);
  if (!v) fail(name(field) + " is required");
  return *v;
}

std::optional<std::uint32_t> Fields::u32(std::string_view field) const {
  auto v = u64(field);
  if (!v) return std::nullopt;
  if (*v > std::numeric_limits<std::uint32_t>::max()) fail(name(field) + " is too large");
  return static_cast<std::uint32_t>(*v);
}

std::optional<bool> Fields::boolean(std::string_view field) const {
  const Json* v = raw(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) fail(name(field) + " must be true or false");
  return v->get<bool>();
}

std::optional<Duration> Fields::millis(std::string_view field, Duration max) const {
  auto v = u64(field);
  if (!v) return std::nullopt;
  const auto max_ms = static_cast<std::uint64_t>(max.to_ms());
  if (*v > max_ms) {
    fail(name(field) + " is " + std::to_string(*v) + "; the limit is " + std::to_string(max_ms) + " ms");
  }
  return Duration::millis(static_cast<std::int64_t>(*v));
}

std::optional<std::vector<std::uint64_t>> Fields::u64_array(std::string_view field) const {
  const Json* v = raw(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) fail(name(field) + " must be an array of non-negative integers");
  std::vector<std::uint64_t> out;
  out.reserve(v->size());
  for (const Json& e : *v) {
    if (!e.is_number_unsigned()) fail(name(field) + " must be an array of non-negative integers");
    out.push_back(e.get<std::uint64_t>());
  }
  return out;
}

std::optional<broker::Tags> Fields::tags(std::string_view field) const {
  const Json* v = raw(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) fail(name(field) + " must be an object of strings");
  broker::Tags out;
  for (const auto& [k, value] : v->items()) {
    if (!value.is_string()) fail("tag " + quote(k) + " must be a string");
    out[k] = value.get<std::string>();
  }
  return out;
}

broker::MessageIn Fields::message(std::string channel) const {
  broker::MessageIn m;
  m.channel = std::move(channel);
  m.id = str("id").value_or("");
  m.metadata = str("metadata").value_or("");
  m.client_id = str("client_id").value_or("");
  m.tags = tags("tags").value_or(broker::Tags{});
  auto body = str("body");
  auto body64 = str("body_base64");
  if (body && body64) fail("give " + name("body") + " or " + name("body_base64") + ", not both");
  if (body64) {
    auto bytes = base64_decode(*body64);
    if (!bytes) fail(name("body_base64") + " is not base64 (RFC 4648, standard alphabet)");
    m.body = std::move(*bytes);
  } else {
    m.body = body.value_or("");
  }
  return m;
}

broker::IdempotencyKey Fields::key() const {
  broker::IdempotencyKey k;
  k.producer_id = str("producer_id").value_or("");
  k.producer_seq = u64("producer_seq").value_or(0);
  k.by_message_id = boolean("dedup_by_id").value_or(false);
  if (!k.producer_id.empty() && !has("producer_seq")) fail(name("producer_seq") + " is required with producer_id");
  return k;
}

std::vector<std::string_view> join(std::vector<std::string_view> a, const std::vector<std::string_view>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Query::Query(const std::vector<std::pair<std::string, std::string>>& params, std::vector<std::string_view> allowed)
    : params_(params) {
  std::set<std::string_view> seen;
  for (const auto& [k, v] : params) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) fail("unknown query parameter " + quote(k));
    if (!seen.insert(k).second) fail("query parameter " + quote(k) + " is given twice");
  }
}

std::optional<std::string> Query::get(std::string_view name) const {
  for (const auto& [k, v] : params_) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t out = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    out = out * 10 + d;
  }
  return out;
}

std::optional<std::uint64_t> Query::u64(std::string_view name) const {
  auto v = get(name);
  if (!v) return std::nullopt;
  const auto n = parse_u64(*v);
  if (!n) fail("query parameter " + quote(name) + " must be a non-negative integer");
  return n;
}

void check_channel(const std::string& name, std::string_view what) {
  const Status s = broker::validate_channel(name);
  if (!s.ok()) fail(std::string(what) + s.message());
}

void check_pattern(const std::string& pattern) {
  const Status s = broker::validate_pattern(pattern);
  if (!s.ok()) fail(s.message());
}

void check(const Status& status, std::string_view prefix) {
  if (!status.ok()) fail(std::string(prefix) + status.message());
}

}  // namespace sluice::http::detail
