#include "transport/smtp/classify.h"

#include <algorithm>
#include <cctype>

namespace outpost::transport::smtp {
namespace {

SmtpReply Synth(int code, const char* enhanced, std::string text) {
  return SmtpReply{code, enhanced, std::move(text)};
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The reply a failure carries: the peer's own when there was one.
SmtpReply ReplyOf(const SessionFailure& f) {
  if (f.reply) return f.reply->ToSmtpReply();
  std::string stage = StageName(f.stage);
  switch (f.kind) {
    case FailureKind::kConnectFailed:
      return Synth(451, "4.4.1", "connect failed: " + f.detail);
    case FailureKind::kLocalSetup:
      return Synth(451, "4.3.0", "local error: " + f.detail);
    case FailureKind::kTimeout:
      return Synth(451, f.stage == Stage::kConnect ? "4.4.1" : "4.4.2", "timeout during " + stage);
    case FailureKind::kClosed:
      return Synth(451, "4.4.2", "connection lost during " + stage);
    case FailureKind::kProtocol:
      return Synth(451, "4.5.0", "protocol error during " + stage + ": " + f.detail);
    case FailureKind::kTlsHandshake:
    case FailureKind::kTlsVerify:
    case FailureKind::kStartTlsUnavailable:
      return Synth(451, "4.7.0", f.detail);
    case FailureKind::kDaneVerify:
      return Synth(451, "4.7.5", f.detail);
    case FailureKind::kAuthUnavailable:
      return Synth(451, "4.7.0", f.detail);
    case FailureKind::kReply:
      return Synth(451, "4.5.0", "unexpected reply during " + stage);
    case FailureKind::kSmtpUtf8Unavailable:
      return Synth(553, "5.6.7", "SMTPUTF8 needed and not offered by peer");
    case FailureKind::kMessageTooBig:
      return Synth(552, "5.3.4", "message too big for peer");
    case FailureKind::kBadAddress:
      return Synth(553, "5.1.7", "bad sender address syntax");
  }
  return Synth(451, "4.0.0", f.detail);
}

FailureVerdict Make(NextStep next, OutcomeKind kind, ErrorClass error, SmtpReply reply) {
  FailureVerdict v;
  v.next = next;
  v.kind = kind;
  v.error = error;
  v.reply = std::move(reply);
  return v;
}

// Lost contact (timeout, drop) or garbage, before the body was sent: another host may do.
FailureVerdict ChannelFailure(const SessionFailure& f) {
  ErrorClass error =
      f.kind == FailureKind::kProtocol ? ErrorClass::kUnexpectedReply : ErrorClass::kConnection;
  return Make(NextStep::kNextHost, OutcomeKind::kTempFail, error, ReplyOf(f));
}

FailureVerdict TlsFailure(const SessionFailure& f, const FailureContext& c) {
  // DANE (RFC 7672 §2.2): the certificate did not match the TLSA records. Never plaintext.
  if (f.kind == FailureKind::kDaneVerify) {
    return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kDane, ReplyOf(f));
  }
  // Only a failed handshake may fall back to plaintext, only under "optional", never with
  // credentials (they must not cross the wire in clear), never twice, never for implicit TLS.
  bool handshake = f.kind != FailureKind::kTlsVerify && f.kind != FailureKind::kStartTlsUnavailable;
  if (handshake && c.starttls == TlsMode::kOptional && !c.implicit_tls && !c.has_credentials &&
      !c.plaintext_retried) {
    return Make(NextStep::kRetryPlaintext, OutcomeKind::kTempFail, ErrorClass::kTls, ReplyOf(f));
  }
  return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kTls, ReplyOf(f));
}

}  // namespace

const char* NextStepName(NextStep step) {
  switch (step) {
    case NextStep::kNextAddress:
      return "next-address";
    case NextStep::kNextHost:
      return "next-host";
    case NextStep::kRetryPlaintext:
      return "retry-plaintext";
    case NextStep::kFinal:
      return "final";
  }
  return "?";
}

FailureVerdict ClassifyFailure(const SessionFailure& f, const FailureContext& c) {
  const bool reply = f.kind == FailureKind::kReply && f.reply.has_value();
  const int klass = reply ? f.reply->klass() : 0;
  switch (f.stage) {
    case Stage::kConnect: {
      FailureVerdict v =
          Make(NextStep::kNextAddress, OutcomeKind::kTempFail, ErrorClass::kConnection, ReplyOf(f));
      // Only the peer's failure marks it down; a bad source IP of ours is not its fault.
      v.mark_host_down = f.kind != FailureKind::kLocalSetup;
      return v;
    }
    case Stage::kTls:
    case Stage::kStartTls:
      return TlsFailure(f, c);
    case Stage::kGreeting:
    case Stage::kEhlo:
      // A refusing greeting or HELO: this host will not talk to us; another may.
      if (reply) {
        return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kUnexpectedReply,
                    ReplyOf(f));
      }
      return ChannelFailure(f);
    case Stage::kAuth:
      // A wrong relay password must not bounce mail: temporary, class connection, reply kept.
      return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kConnection, ReplyOf(f));
    case Stage::kMailFrom:
      switch (f.kind) {
        case FailureKind::kSmtpUtf8Unavailable:
          return Make(NextStep::kNextHost, OutcomeKind::kPermFail, ErrorClass::kUnexpectedReply,
                      ReplyOf(f));
        case FailureKind::kMessageTooBig:
        case FailureKind::kBadAddress:
          return Make(NextStep::kFinal, OutcomeKind::kPermFail, ErrorClass::kUnexpectedReply,
                      ReplyOf(f));
        default:
          break;
      }
      if (reply && klass == 5) {
        return Make(NextStep::kFinal, OutcomeKind::kPermFail, ErrorClass::kUnexpectedReply,
                    ReplyOf(f));
      }
      if (reply) {  // 4xx to MAIL FROM (421 included): try the next host
        return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kUnexpectedReply,
                    ReplyOf(f));
      }
      return ChannelFailure(f);
    case Stage::kRcptTo:
    case Stage::kRset:
      if (reply) {  // 421 while the recipients were being given
        return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kUnexpectedReply,
                    ReplyOf(f));
      }
      return ChannelFailure(f);
    case Stage::kData:
      if (reply && f.reply->code == 421) {
        return Make(NextStep::kNextHost, OutcomeKind::kTempFail, ErrorClass::kUnexpectedReply,
                    ReplyOf(f));
      }
      if (reply) {
        return Make(NextStep::kFinal, klass == 5 ? OutcomeKind::kPermFail : OutcomeKind::kTempFail,
                    ErrorClass::kUnexpectedReply, ReplyOf(f));
      }
      return ChannelFailure(f);  // the body was not completely sent yet
    case Stage::kDataDone: {
      if (reply) {
        return Make(NextStep::kFinal, klass == 5 ? OutcomeKind::kPermFail : OutcomeKind::kTempFail,
                    ErrorClass::kUnexpectedReply, ReplyOf(f));
      }
      // The final dot went out: the peer may have the message. Defer, never fail over.
      FailureVerdict v = Make(
          NextStep::kFinal, OutcomeKind::kTempFail,
          f.kind == FailureKind::kProtocol ? ErrorClass::kUnexpectedReply : ErrorClass::kConnection,
          ReplyOf(f));
      v.possible_duplicate = true;
      return v;
    }
    case Stage::kQuit:
      return Make(NextStep::kFinal, OutcomeKind::kTempFail, ErrorClass::kConnection, ReplyOf(f));
  }
  return ChannelFailure(f);
}

bool IsTooManyRecipients(const Reply& r) {
  if (r.code != 452 && r.code != 552) return false;
  if (r.enhanced == "4.5.3" || r.enhanced == "5.5.3") return true;
  return Lower(r.Text()).find("too many recipients") != std::string::npos;
}

RecipientVerdict ClassifyRecipient(const RecipientReply& r) {
  RecipientVerdict v;
  auto verdict_from = [&v](const Reply& reply) {
    v.reply = reply.ToSmtpReply();
    if (reply.positive()) {
      v.kind = RecipientVerdict::Kind::kDelivered;
      v.error = ErrorClass::kNone;
    } else {
      v.kind = reply.klass() == 5 ? RecipientVerdict::Kind::kPermFail
                                  : RecipientVerdict::Kind::kTempFail;
      v.error = ErrorClass::kUnexpectedReply;
    }
  };
  if (!r.rcpt) return v;
  if (!r.rcpt->positive()) {
    if (IsTooManyRecipients(*r.rcpt)) {
      v.kind = RecipientVerdict::Kind::kFollowUp;
      v.error = ErrorClass::kUnexpectedReply;
      v.reply = r.rcpt->ToSmtpReply();
      return v;
    }
    verdict_from(*r.rcpt);
    return v;
  }
  if (!r.data) return v;
  verdict_from(*r.data);
  return v;
}

}  // namespace outpost::transport::smtp
