#include "router/envelope.h"

#include <array>

namespace outpost::router {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(Variable::kCount)> kNames = {
    "rcpt",        "rcpt_domain", "recipients", "sender",           "sender_domain",
    "priority",    "retry_num",   "notify_num", "expires_in",       "last_status",
    "last_error",  "queue_name",  "queue_age",  "source",           "size",
    "received_from_ip", "received_via_port", "mx", "remote_ip",     "local_ip",
};

}  // namespace

std::string_view VariableName(Variable v) { return kNames[static_cast<size_t>(v)]; }

std::optional<Variable> VariableByName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Variable>(i);
  }
  return std::nullopt;
}

bool VariableAllowed(Variable v, VariableSet set) {
  if (set == VariableSet::kHost) return true;
  return v != Variable::kMx && v != Variable::kRemoteIp && v != Variable::kLocalIp;
}

bool VariableIsString(Variable v) {
  switch (v) {
    case Variable::kRecipients:
    case Variable::kPriority:
    case Variable::kRetryNum:
    case Variable::kNotifyNum:
    case Variable::kExpiresIn:
    case Variable::kQueueAge:
    case Variable::kSize:
    case Variable::kReceivedViaPort:
    case Variable::kCount:
      return false;
    default:
      return true;
  }
}

SplitAddressResult NormalizeAddress(std::string_view address) {
  SplitAddressResult r;
  r.address.reserve(address.size());
  for (char c : address) {
    r.address.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  size_t at = r.address.rfind('@');
  if (at != std::string::npos) r.domain = r.address.substr(at + 1);
  return r;
}

}  // namespace outpost::router
