#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace outpost {

// The result of an operation at a module edge. Cheap to copy when OK (no allocation).
// Codes are coarse on purpose: callers decide on the code, humans read the message.
class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,    // bad input from a caller, config or peer
    kNotFound,
    kAlreadyExists,
    kFailedPrecondition, // e.g. illegal state transition, store opened read-only
    kCorruption,         // a persisted record or file cannot be decoded
    kIoError,            // the OS or storage engine failed; may clear up (retry later)
    kNoSpace,            // disk full or below the free-space watermark
    kUnavailable,        // temporarily unavailable (store in error, shutting down)
    kTimeout,
    kCancelled,
    kInternal,           // a bug; log loudly
  };

  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status NoSpace(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool Is(Code c) const { return code_ == c; }

  // "IoError: write failed: No space left on device"
  std::string ToString() const;

  // Prefixes the message with context, keeping the code: "open store: <message>".
  Status Annotate(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view StatusCodeName(Status::Code code);

// Either a value or a non-OK Status. Accessing value() of an error is a bug and aborts.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(v_).ok()) v_ = Status::Internal("StatusOr constructed from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<StatusOr*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return const_cast<StatusOr*>(this)->Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<StatusOr*>(this)->Checked(); }

 private:
  T& Checked();
  std::variant<T, Status> v_;
};

[[noreturn]] void DieOnBadStatusOrAccess(const Status& s);

template <typename T>
T& StatusOr<T>::Checked() {
  if (!ok()) DieOnBadStatusOrAccess(std::get<Status>(v_));
  return std::get<T>(v_);
}

}  // namespace outpost

// Returns early from the enclosing function if `expr` yields a non-OK Status.
#define OUTPOST_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::outpost::Status _st = (expr);              \
    if (!_st.ok()) return _st;                   \
  } while (0)

#define OUTPOST_CONCAT_INNER(a, b) a##b
#define OUTPOST_CONCAT(a, b) OUTPOST_CONCAT_INNER(a, b)
// OUTPOST_ASSIGN_OR_RETURN(auto x, F()); assigns the value or returns the error.
#define OUTPOST_ASSIGN_OR_RETURN(lhs, expr)                                  \
  auto OUTPOST_CONCAT(_so_, __LINE__) = (expr);                             \
  if (!OUTPOST_CONCAT(_so_, __LINE__).ok())                                 \
    return OUTPOST_CONCAT(_so_, __LINE__).status();                         \
  lhs = std::move(OUTPOST_CONCAT(_so_, __LINE__)).value()
