#pragma once

#include <string>
#include <string_view>

#include "transport/server/smtp_command.h"

namespace outpost::smtp_server {

// The server side of AUTH PLAIN (RFC 4616) and AUTH LOGIN as a socket-free exchange: it turns
// the AUTH argument and the client's answers to 334 challenges into either the next challenge,
// a (user, password) pair to check, or a refusal. It checks no password itself.
class SaslExchange {
 public:
  struct Step {
    enum class Kind { kChallenge, kCredentials, kRefused } kind = Kind::kRefused;
    SmtpReply reply;  // kChallenge: the 334 to send; kRefused: the error to send
    std::string user;
    std::string password;
  };

  // `argument` is what followed "AUTH ": "PLAIN", "PLAIN <b64>", "LOGIN", "LOGIN <b64>".
  Step Start(std::string_view argument);
  // A line answering a 334 challenge ("*" cancels, "=" is an empty response).
  Step Respond(std::string_view line);
  // True while a challenge is outstanding (the next line is a SASL response, not a command).
  bool waiting() const { return state_ != State::kIdle; }

 private:
  enum class State { kIdle, kPlain, kLoginUser, kLoginPass };
  Step Refuse(SmtpReply reply);
  Step Challenge(State next, std::string text);

  State state_ = State::kIdle;
  std::string login_user_;
};

}  // namespace outpost::smtp_server
