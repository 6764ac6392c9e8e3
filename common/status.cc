#include "common/status.h"

#include <cstdio>
#include <cstdlib>

namespace outpost {

std::string_view StatusCodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kAlreadyExists: return "AlreadyExists";
    case Status::Code::kFailedPrecondition: return "FailedPrecondition";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kIoError: return "IoError";
    case Status::Code::kNoSpace: return "NoSpace";
    case Status::Code::kUnavailable: return "Unavailable";
    case Status::Code::kTimeout: return "Timeout";
    case Status::Code::kCancelled: return "Cancelled";
    case Status::Code::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status Status::Annotate(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

void DieOnBadStatusOrAccess(const Status& s) {
  std::fprintf(stderr, "FATAL: StatusOr::value() on error: %s\n", s.ToString().c_str());
  std::abort();
}

}  // namespace outpost
