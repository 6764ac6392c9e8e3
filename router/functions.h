#pragma once

#include <cstdint>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "router/lookups.h"
#include "router/value.h"

namespace outpost::router {

// The built-in functions of the expression language (reference/stalwart.md §1.4, the subset
// an outbound policy needs).
enum class Function : uint16_t {
  kIsLocalDomain,
  kIsLocalAddress,
  kKeyExists,
  kKeyGet,
  kContains,
  kIsIntersect,
  kStartsWith,
  kEndsWith,
  kMatches,
  kEmailPart,
  kToLowercase,
  kToUppercase,
  kLen,
  kCount,
  kSplit,
  kTrim,
  kIsIpInCidr,
  kIsEmpty,
  kIfThen,
  kIsEmail,
  kEqIgnoreCase,
  kContainsIgnoreCase,
};

struct FunctionInfo {
  std::string_view name;
  Function id;
  int min_args;
  int max_args;
};

// Null when there is no function of that name.
const FunctionInfo* FindFunction(std::string_view name);

// What a call needs besides its arguments. regex: the compiled pattern of matches(); list:
// the list resolved at load for key_exists/key_get with a literal name (else null).
struct CallContext {
  const Lookups* lookups = nullptr;
  const std::regex* regex = nullptr;
  const NamedList* list = nullptr;
  std::vector<std::string>* captures = nullptr;
};

// Applies `fn` to `args` (arity already checked at compile time). Total: bad data yields
// 0/''/[] rather than an error.
Value CallFunction(Function fn, std::span<const Value> args, const CallContext& ctx);

// True when `ip` (v4 or v6 literal) lies in `cidr` ("10.0.0.0/8", "::1/128", or a bare IP).
bool IpInCidr(std::string_view ip, std::string_view cidr);

}  // namespace outpost::router
