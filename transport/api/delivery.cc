#include "transport/api/delivery.h"

#include <array>

namespace outpost::transport {
namespace {

struct ClassName {
  ErrorClass c;
  std::string_view name;
};
constexpr std::array<ClassName, 11> kNames = {{
    {ErrorClass::kNone, "none"},
    {ErrorClass::kDns, "dns"},
    {ErrorClass::kUnexpectedReply, "unexpected-reply"},
    {ErrorClass::kConnection, "connection"},
    {ErrorClass::kTls, "tls"},
    {ErrorClass::kDane, "dane"},
    {ErrorClass::kMtaSts, "mta-sts"},
    {ErrorClass::kRate, "rate"},
    {ErrorClass::kConcurrency, "concurrency"},
    {ErrorClass::kIo, "io"},
    {ErrorClass::kConfig, "config"},
}};

// Stage rank for FurthestStage(): how far into a delivery the error happened.
int StageRank(ErrorClass c) {
  switch (c) {
    case ErrorClass::kNone: return 0;
    case ErrorClass::kConfig: return 1;
    case ErrorClass::kRate: return 1;
    case ErrorClass::kConcurrency: return 1;
    case ErrorClass::kDns: return 2;
    case ErrorClass::kConnection: return 3;
    case ErrorClass::kTls: return 4;
    case ErrorClass::kDane: return 4;
    case ErrorClass::kMtaSts: return 4;
    case ErrorClass::kUnexpectedReply: return 5;
    case ErrorClass::kIo: return 5;
  }
  return 0;
}

}  // namespace

std::string_view ErrorClassName(ErrorClass c) {
  for (const auto& n : kNames) {
    if (n.c == c) return n.name;
  }
  return "none";
}

std::optional<ErrorClass> ParseErrorClass(std::string_view name) {
  for (const auto& n : kNames) {
    if (n.name == name) return n.c;
  }
  return std::nullopt;
}

ErrorClass FurthestStage(ErrorClass a, ErrorClass b) {
  return StageRank(b) > StageRank(a) ? b : a;
}

}  // namespace outpost::transport
