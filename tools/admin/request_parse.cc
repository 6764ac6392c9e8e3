#include "tools/admin/request_parse.h"

#include <charconv>
#include <chrono>

#include "queue/recipient_state.h"
#include "router/units.h"
#include "storage/keys.h"

namespace outpost::admin {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

StatusOr<int64_t> ParseRfc3339(std::string_view t) {
  auto bad = [&]() {
    return Status::InvalidArgument("'" + std::string(t) +
                                   "' is not an RFC 3339 time (2026-01-31T12:00:00Z)");
  };
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || !Digits(t, 0, 4, &y) || t[4] != '-' || !Digits(t, 5, 2, &mo) ||
      t[7] != '-' || !Digits(t, 8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
      !Digits(t, 11, 2, &h) || t[13] != ':' || !Digits(t, 14, 2, &mi) || t[16] != ':' ||
      !Digits(t, 17, 2, &s)) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    size_t start = pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      frac_ms += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset_min = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    int oh, om;
    if (!Digits(t, pos + 1, 2, &oh) || pos + 3 >= t.size() || t[pos + 3] != ':' ||
        !Digits(t, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_min = (t[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != t.size()) return bad();
  using namespace std::chrono;
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return bad();
  const int64_t days = sys_days(ymd).time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + int64_t{s} * 1000 + frac_ms;
}

StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  if (AllDigits(text)) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size()) return v;
  }
  if (auto d = router::ParseDuration(text)) return static_cast<int64_t>(d->count());
  return Status::InvalidArgument("'" + std::string(text) +
                                 "' is not a duration (e.g. 90s, 30m, 2h, 3d)");
}

StatusOr<int64_t> ParseTimeArg(std::string_view text, int64_t now_unix_ms) {
  if (auto d = router::ParseDuration(text)) return now_unix_ms - d->count();
  return ParseRfc3339(text);
}

StatusOr<FilterSpec> ParseFilterFields(const std::map<std::string, std::string>& fields,
                                       int64_t now_unix_ms) {
  FilterSpec spec;
  queue::Filter& f = spec.filter;
  for (const auto& [name, value] : fields) {
    auto field_error = [&, &name = name](const Status& st) {
      return Status::InvalidArgument("filter " + name + ": " + st.message());
    };
    if (name == "state") {
      auto s = queue::ParseRecipientState(value);
      if (!s) {
        return Status::InvalidArgument(
            "filter state: '" + value +
            "' is not one of scheduled, deferred, delivered, failed, held, cancelled");
      }
      f.state = *s;
    } else if (name == "rcptDomain") {
      f.rcpt_domain = value;
    } else if (name == "sender") {
      f.sender = value;
    } else if (name == "queue") {
      f.virtual_queue = value;
    } else if (name == "error") {
      f.error_class = value;
    } else if (name == "olderThan") {
      auto d = ParseDurationMs(value);
      if (!d.ok()) return field_error(d.status());
      f.received_before_unix_ms = now_unix_ms - *d;
      if (f.received_before_unix_ms <= 0) f.received_before_unix_ms = 1;
    } else if (name == "since") {
      auto t = ParseTimeArg(value, now_unix_ms);
      if (!t.ok()) return field_error(t.status());
      f.failed_since_unix_ms = std::max<int64_t>(*t, 1);
    } else if (name == "until") {
      auto t = ParseTimeArg(value, now_unix_ms);
      if (!t.ok()) return field_error(t.status());
      f.failed_until_unix_ms = std::max<int64_t>(*t, 1);
    } else {
      return Status::InvalidArgument(
          "unknown filter field '" + name +
          "' (known: state, rcptDomain, sender, queue, olderThan, error, since, until)");
    }
  }
  return spec;
}

StatusOr<std::unique_ptr<rj::Document>> ParseJsonObject(std::string_view body) {
  auto doc = std::make_unique<rj::Document>();
  doc->Parse(body.data(), body.size());
  if (doc->HasParseError()) {
    return Status::InvalidArgument("bad JSON at offset " + std::to_string(doc->GetErrorOffset()) +
                                   ": " + rj::GetParseError_En(doc->GetParseError()));
  }
  if (!doc->IsObject()) return Status::InvalidArgument("the body must be a JSON object");
  return doc;
}

std::optional<std::string> ScalarToString(const rj::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsBool()) return std::string(v.GetBool() ? "true" : "false");
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  return std::nullopt;
}

StatusOr<std::map<std::string, std::string>> ScalarFields(const rj::Value& object,
                                                          std::string_view where) {
  if (!object.IsObject()) {
    return Status::InvalidArgument(std::string(where) + " must be a JSON object");
  }
  std::map<std::string, std::string> out;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    auto v = ScalarToString(it->value);
    if (v) {
      out[name] = std::move(*v);
    } else {
      return Status::InvalidArgument(std::string(where) + "." + name +
                                     ": expected a string, an integer or a boolean");
    }
  }
  return out;
}

StatusOr<uint64_t> ParseId(std::string_view text) {
  auto id = storage::ParseMessageId(text);
  if (!id || text.size() != 16) {
    return Status::InvalidArgument("'" + std::string(text.substr(0, 64)) +
                                   "' is not a message id (16 hex digits)");
  }
  return *id;
}

StatusOr<std::vector<uint64_t>> ParseIds(const rj::Value& array) {
  if (!array.IsArray()) return Status::InvalidArgument("ids must be an array of message ids");
  std::vector<uint64_t> ids;
  for (const auto& v : array.GetArray()) {
    if (!v.IsString()) return Status::InvalidArgument("ids must be an array of strings");
    OUTPOST_ASSIGN_OR_RETURN(uint64_t id,
                             ParseId(std::string_view(v.GetString(), v.GetStringLength())));
    ids.push_back(id);
  }
  if (ids.empty()) return Status::InvalidArgument("ids is empty");
  return ids;
}

Status CheckAddress(std::string_view a, bool allow_empty) {
  if (a.empty()) {
    return allow_empty ? Status::Ok() : Status::InvalidArgument("empty recipient address");
  }
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("address '" + std::string(a.substr(0, 256)) + "': " +
                                   std::string(why));
  };
  if (a.size() > queue::kMaxAddressBytes) return bad("too long");
  for (unsigned char c : a) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>') {
      return bad("spaces, control characters and angle brackets are not allowed");
    }
  }
  size_t at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) {
    return bad("expected local-part@domain");
  }
  return Status::Ok();
}

std::string ToCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace outpost::admin
