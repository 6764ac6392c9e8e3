#include "router/functions.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace outpost::router {
namespace {

constexpr std::array<FunctionInfo, 22> kFunctions = {{
    {"is_local_domain", Function::kIsLocalDomain, 1, 2},
    {"is_local_address", Function::kIsLocalAddress, 1, 2},
    {"key_exists", Function::kKeyExists, 2, 2},
    {"key_get", Function::kKeyGet, 2, 2},
    {"contains", Function::kContains, 2, 2},
    {"is_intersect", Function::kIsIntersect, 2, 2},
    {"starts_with", Function::kStartsWith, 2, 2},
    {"ends_with", Function::kEndsWith, 2, 2},
    {"matches", Function::kMatches, 2, 2},
    {"email_part", Function::kEmailPart, 2, 2},
    {"to_lowercase", Function::kToLowercase, 1, 1},
    {"to_uppercase", Function::kToUppercase, 1, 1},
    {"len", Function::kLen, 1, 1},
    {"count", Function::kCount, 1, 1},
    {"split", Function::kSplit, 2, 2},
    {"trim", Function::kTrim, 1, 1},
    {"is_ip_in_cidr", Function::kIsIpInCidr, 2, 2},
    {"is_empty", Function::kIsEmpty, 1, 1},
    {"if_then", Function::kIfThen, 3, 3},
    {"is_email", Function::kIsEmail, 1, 1},
    {"eq_ignore_case", Function::kEqIgnoreCase, 2, 2},
    {"contains_ignore_case", Function::kContainsIgnoreCase, 2, 2},
}};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string Lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Case-insensitive membership without allocating when the key is already lower case.
bool SetContains(const StringSet& set, std::string_view key) {
  if (!HasUpper(key)) return set.find(key) != set.end();
  return set.find(Lowered(key)) != set.end();
}

std::string_view Trimmed(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Text functions applied to an array map over its elements (Stalwart semantics).
template <typename F>
Value MapText(const Value& v, F f) {
  if (v.is_array()) {
    Value::Array out;
    out.reserve(v.array().size());
    for (const Value& item : v.array()) out.push_back(MapText(item, f));
    return Value::MakeArray(std::move(out));
  }
  return f(v);
}

bool IsLocalDomain(const Lookups* lk, std::string_view domain) {
  return lk != nullptr && SetContains(lk->local_domains, domain);
}

bool IsLocalAddress(const Lookups* lk, std::string_view address) {
  size_t at = address.rfind('@');
  if (lk == nullptr || at == std::string_view::npos || at == 0) return false;
  if (!IsLocalDomain(lk, address.substr(at + 1))) return false;
  if (!lk->local_users) return true;
  return SetContains(*lk->local_users, address.substr(0, at));
}

const NamedList* ListFor(const CallContext& ctx, const Value& name) {
  if (ctx.list) return ctx.list;
  return ctx.lookups ? ctx.lookups->FindList(name.str()) : nullptr;
}

bool Contains(const Value& haystack, const Value& needle) {
  if (haystack.is_array()) {
    return std::any_of(haystack.array().begin(), haystack.array().end(),
                       [&](const Value& v) { return ValuesEqual(v, needle); });
  }
  if (!haystack.is_string()) return false;
  return haystack.str().find(needle.is_string() ? needle.str() : needle.ToString()) !=
         std::string_view::npos;
}

bool IsIntersect(const Value& a, const Value& b) {
  if (!a.is_array() && !b.is_array()) return ValuesEqual(a, b);
  if (!a.is_array()) return Contains(b, a);
  return std::any_of(a.array().begin(), a.array().end(),
                     [&](const Value& v) { return b.is_array() ? Contains(b, v) : ValuesEqual(v, b); });
}

Value EmailPart(const Value& addr, std::string_view part) {
  return MapText(addr, [part](const Value& v) {
    std::string_view s = v.is_string() ? v.str() : std::string_view();
    size_t at = s.rfind('@');
    if (at == std::string_view::npos) return Value::View(std::string_view());
    if (part == "local") return v.Slice(s.substr(0, at));
    if (part == "domain") return v.Slice(s.substr(at + 1));
    return Value::View(std::string_view());
  });
}

Value Split(const Value& v, const Value& sep) {
  std::string_view s = v.is_string() ? v.str() : std::string_view();
  std::string_view d = sep.is_string() ? sep.str() : std::string_view();
  Value::Array out;
  if (d.empty()) {
    out.push_back(v.Slice(s));
    return Value::MakeArray(std::move(out));
  }
  size_t start = 0;
  while (true) {
    size_t pos = s.find(d, start);
    if (pos == std::string_view::npos) {
      out.push_back(v.Slice(s.substr(start)));
      break;
    }
    out.push_back(v.Slice(s.substr(start, pos - start)));
    start = pos + d.size();
  }
  return Value::MakeArray(std::move(out));
}

// Longer subjects never match: std::regex's matcher recurses per character, and nothing an
// outbound policy looks at (addresses, host names, IPs) is anywhere near this long.
constexpr size_t kMaxRegexSubject = 4096;

Value Matches(const CallContext& ctx, const Value& subject) {
  if (ctx.regex == nullptr) return Value::Int(0);
  auto match_one = [&](std::string_view s) {
    if (s.size() > kMaxRegexSubject) return false;
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_search(s.begin(), s.end(), m, *ctx.regex)) return false;
    if (ctx.captures) {
      ctx.captures->clear();
      for (const auto& g : m) ctx.captures->emplace_back(g.first, g.second);
    }
    return true;
  };
  if (subject.is_array()) {
    for (const Value& v : subject.array()) {
      if (v.is_string() && match_one(v.str())) return Value::Int(1);
    }
    return Value::Int(0);
  }
  std::string text = subject.is_string() ? std::string() : subject.ToString();
  return Value::Bool(match_one(subject.is_string() ? subject.str() : std::string_view(text)));
}

int64_t Length(const Value& v) {
  if (v.is_array()) return static_cast<int64_t>(v.array().size());
  if (v.is_string()) return static_cast<int64_t>(v.str().size());
  return static_cast<int64_t>(v.ToString().size());
}

bool ParseIp(std::string_view text, std::array<uint8_t, 16>* bytes, int* bits) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (inet_pton(AF_INET, buf, bytes->data()) == 1) {
    *bits = 32;
    return true;
  }
  if (inet_pton(AF_INET6, buf, bytes->data()) == 1) {
    *bits = 128;
    return true;
  }
  return false;
}

}  // namespace

const FunctionInfo* FindFunction(std::string_view name) {
  for (const FunctionInfo& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool IpInCidr(std::string_view ip, std::string_view cidr) {
  std::string_view net = cidr;
  int prefix = -1;
  if (size_t slash = cidr.find('/'); slash != std::string_view::npos) {
    net = cidr.substr(0, slash);
    std::string_view p = cidr.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || prefix < 0) return false;
  }
  std::array<uint8_t, 16> a{}, n{};
  int abits = 0, nbits = 0;
  if (!ParseIp(Trimmed(ip), &a, &abits) || !ParseIp(net, &n, &nbits) || abits != nbits) {
    return false;
  }
  if (prefix < 0) prefix = nbits;
  if (prefix > nbits) return false;
  for (int i = 0; i < prefix / 8; ++i) {
    if (a[i] != n[i]) return false;
  }
  if (int rem = prefix % 8; rem != 0) {
    uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rem));
    if ((a[prefix / 8] & mask) != (n[prefix / 8] & mask)) return false;
  }
  return true;
}

Value CallFunction(Function fn, std::span<const Value> args, const CallContext& ctx) {
  auto text = [&](size_t i) { return args[i].is_string() ? args[i].str() : std::string_view(); };
  switch (fn) {
    case Function::kIsLocalDomain:  // (domain) or (directory, domain): one directory here
      return Value::Bool(IsLocalDomain(ctx.lookups, text(args.size() - 1)));
    case Function::kIsLocalAddress:
      return Value::Bool(IsLocalAddress(ctx.lookups, text(args.size() - 1)));
    case Function::kKeyExists: {
      const NamedList* list = ListFor(ctx, args[0]);
      return Value::Bool(list != nullptr && list->entries.count(args[1].ToString()) > 0);
    }
    case Function::kKeyGet: {
      const NamedList* list = ListFor(ctx, args[0]);
      if (list == nullptr) return Value::View(std::string_view());
      auto it = list->entries.find(args[1].ToString());
      return it == list->entries.end() ? Value::View(std::string_view())
                                       : Value::View(it->second);
    }
    case Function::kContains:
      return Value::Bool(Contains(args[0], args[1]));
    case Function::kContainsIgnoreCase:
      if (args[0].is_array()) {
        return Value::Bool(std::any_of(
            args[0].array().begin(), args[0].array().end(), [&](const Value& v) {
              return EqualsIgnoreCase(v.ToString(), args[1].ToString());
            }));
      }
      return Value::Bool(Lowered(args[0].ToString()).find(Lowered(args[1].ToString())) !=
                         std::string::npos);
    case Function::kIsIntersect:
      return Value::Bool(IsIntersect(args[0], args[1]));
    case Function::kStartsWith:
      return Value::Bool(text(0).starts_with(text(1)));
    case Function::kEndsWith:
      return Value::Bool(text(0).ends_with(text(1)));
    case Function::kMatches:
      return Matches(ctx, args[1]);
    case Function::kEmailPart:
      return EmailPart(args[0], text(1));
    case Function::kToLowercase:
      return MapText(args[0], [](const Value& v) {
        return HasUpper(v.str()) || !v.is_string() ? Value::Owned(Lowered(v.ToString())) : v;
      });
    case Function::kToUppercase:
      return MapText(args[0], [](const Value& v) {
        std::string s = v.ToString();
        for (char& c : s) c = Upper(c);
        return Value::Owned(std::move(s));
      });
    case Function::kLen:
      return Value::Int(Length(args[0]));
    case Function::kCount:
      return Value::Int(args[0].is_array() ? static_cast<int64_t>(args[0].array().size()) : 1);
    case Function::kSplit:
      return Split(args[0], args[1]);
    case Function::kTrim:
      return MapText(args[0], [](const Value& v) {
        return v.is_string() ? v.Slice(Trimmed(v.str())) : v;
      });
    case Function::kIsIpInCidr:
      return Value::Bool(IpInCidr(text(0), text(1)));
    case Function::kIsEmpty:
      return Value::Bool(!args[0].Truthy() && !args[0].is_number());
    case Function::kIfThen:
      return args[0].Truthy() ? args[1] : args[2];
    case Function::kIsEmail: {
      std::string_view s = text(0);
      size_t at = s.rfind('@');
      return Value::Bool(at != std::string_view::npos && at > 0 && at + 1 < s.size() &&
                         s.substr(at + 1).find('.') != std::string_view::npos);
    }
    case Function::kEqIgnoreCase:
      return Value::Bool(EqualsIgnoreCase(args[0].ToString(), args[1].ToString()));
  }
  return Value::Int(0);
}

}  // namespace outpost::router
