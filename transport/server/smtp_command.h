#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "transport/api/delivery.h"
#include "transport/server/smtp_address.h"

namespace outpost::smtp_server {

using transport::DsnRet;
using transport::NotifyFlags;
using transport::SmtpReply;

// Command line limits (RFC 5321 4.5.3.1.4; RFC 4954 4 for AUTH), CRLF included.
inline constexpr size_t kMaxCommandLine = 512;
inline constexpr size_t kMaxAuthLine = 12288;

enum class Verb {
  kEhlo,
  kHelo,
  kMail,
  kRcpt,
  kData,
  kRset,
  kNoop,
  kQuit,
  kVrfy,
  kHelp,
  kStartTls,
  kAuth,
};

enum class BodyType { kUnspecified, k7Bit, k8BitMime };

struct MailParams {
  std::optional<uint64_t> size;  // SIZE=
  BodyType body = BodyType::kUnspecified;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnspecified;
  std::string envid;  // ENVID, xtext-decoded
};

struct RcptParams {
  NotifyFlags notify;
  std::string orcpt;  // "addr-type;address", xtext-decoded ("rfc822;a@b"), or ""
};

struct SmtpCommand {
  Verb verb = Verb::kNoop;
  // EHLO/HELO: the client's name; AUTH: "MECH [initial-response]"; VRFY: the argument.
  std::string argument;
  ParsedPath path;  // MAIL and RCPT
  MailParams mail;
  RcptParams rcpt;
};

// A command, or the reply that refuses the line (500/501/502/555 ...).
using ParsedCommand = std::variant<SmtpCommand, SmtpReply>;

// Parses one command line (CRLF already removed). Pure and total: hostile input yields a
// refusal reply, never a crash. Semantic checks that need session state (sequence, SIZE
// against the limit, SMTPUTF8 addresses in RCPT) are the session's.
ParsedCommand ParseCommand(std::string_view line);

// Decodes RFC 3461 xtext ("+2B" escapes). Control characters and malformed escapes are errors.
StatusOr<std::string> DecodeXtext(std::string_view in);

// "250-first\r\n250 second\r\n" from a reply whose text lines are joined by '\n'. The enhanced
// code, when set, starts every line.
std::string FormatReply(const SmtpReply& reply);
SmtpReply Reply(int code, std::string enhanced, std::string text);

// Splits the input stream into command lines, enforcing the length limits. Lines end at LF;
// a CR before it is removed (bare-LF command lines are tolerated as Postfix does; only DATA
// is strict). A line over the limit is discarded up to its end and reported as kTooLong, so
// the connection stays usable and memory stays bounded.
class CommandLineReader {
 public:
  struct Result {
    enum class Kind { kNeedMore, kLine, kTooLong } kind = Kind::kNeedMore;
    size_t consumed = 0;    // bytes the caller must drop from the front of its buffer
    std::string_view line;  // kLine: the line without CR/LF (points into the input)
  };
  // `buf` is the unread input (callers may pass only its first kMaxAuthLine bytes).
  // `sasl_response`: the line answers an AUTH challenge, so the AUTH limit applies.
  Result Next(std::string_view buf, bool sasl_response);

 private:
  bool discarding_ = false;  // inside an overlong line, dropping bytes up to its LF
};

}  // namespace outpost::smtp_server
