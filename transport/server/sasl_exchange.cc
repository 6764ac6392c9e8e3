#include "transport/server/sasl_exchange.h"

#include "transport/server/base64.h"

namespace outpost::smtp_server {

SaslExchange::Step SaslExchange::Refuse(SmtpReply reply) {
  state_ = State::kIdle;
  login_user_.clear();
  Step s;
  s.kind = Step::Kind::kRefused;
  s.reply = std::move(reply);
  return s;
}

SaslExchange::Step SaslExchange::Challenge(State next, std::string text) {
  state_ = next;
  Step s;
  s.kind = Step::Kind::kChallenge;
  s.reply = Reply(334, "", std::move(text));
  return s;
}

SaslExchange::Step SaslExchange::Start(std::string_view argument) {
  size_t sp = argument.find(' ');
  std::string_view mech = argument.substr(0, sp);
  std::string_view initial = sp == argument.npos ? std::string_view() : argument.substr(sp + 1);
  if (EqualsIgnoreCase(mech, "PLAIN")) {
    if (initial.empty()) return Challenge(State::kPlain, "");
    state_ = State::kPlain;
    return Respond(initial);
  }
  if (EqualsIgnoreCase(mech, "LOGIN")) {
    if (initial.empty()) return Challenge(State::kLoginUser, "VXNlcm5hbWU6");  // "Username:"
    state_ = State::kLoginUser;
    return Respond(initial);
  }
  return Refuse(Reply(504, "5.5.4", "Unrecognized authentication mechanism"));
}

SaslExchange::Step SaslExchange::Respond(std::string_view line) {
  if (line == "*") return Refuse(Reply(501, "5.0.0", "Authentication cancelled"));
  StatusOr<std::string> decoded =
      line == "=" ? StatusOr<std::string>(std::string()) : Base64Decode(line);
  if (!decoded.ok()) return Refuse(Reply(501, "5.5.2", "Invalid base64 data"));
  switch (state_) {
    case State::kPlain: {
      // authzid NUL authcid NUL password
      const std::string& s = *decoded;
      size_t n1 = s.find('\0');
      size_t n2 = n1 == s.npos ? s.npos : s.find('\0', n1 + 1);
      if (n2 == s.npos || s.find('\0', n2 + 1) != s.npos) {
        return Refuse(Reply(501, "5.5.2", "Invalid PLAIN response"));
      }
      Step step;
      step.user = s.substr(n1 + 1, n2 - n1 - 1);
      std::string authzid = s.substr(0, n1);
      // Acting for someone else is not supported.
      if (!authzid.empty() && authzid != step.user) {
        return Refuse(Reply(535, "5.7.8", "Authentication credentials invalid"));
      }
      state_ = State::kIdle;
      step.kind = Step::Kind::kCredentials;
      step.password = s.substr(n2 + 1);
      return step;
    }
    case State::kLoginUser:
      login_user_ = std::move(*decoded);
      return Challenge(State::kLoginPass, "UGFzc3dvcmQ6");  // "Password:"
    case State::kLoginPass: {
      Step step;
      step.kind = Step::Kind::kCredentials;
      step.user = std::move(login_user_);
      step.password = std::move(*decoded);
      state_ = State::kIdle;
      login_user_.clear();
      return step;
    }
    case State::kIdle:
      break;
  }
  return Refuse(Reply(503, "5.5.1", "Error: no AUTH exchange in progress"));
}

}  // namespace outpost::smtp_server
