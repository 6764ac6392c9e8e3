#include "transport/smtp/commands.h"

namespace outpost::transport::smtp {

std::string XtextEncode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    if (u >= '!' && u <= '~' && c != '+' && c != '=') {
      out.push_back(c);
    } else {
      out.push_back('+');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

Status ValidateEnvelopeAddress(std::string_view address) {
  if (address.size() > 1000) return Status::InvalidArgument("envelope address too long");
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>') {
      return Status::InvalidArgument("envelope address contains a forbidden character");
    }
  }
  return Status::Ok();
}

std::string GreetingCommand(std::string_view verb, std::string_view name) {
  std::string out(verb);
  out += ' ';
  out += name;
  out += "\r\n";
  return out;
}

StatusOr<std::string> MailFromCommand(const DeliveryMessage& message, const Capabilities& caps) {
  OUTPOST_RETURN_IF_ERROR(ValidateEnvelopeAddress(message.return_path));
  std::string out = "MAIL FROM:<" + message.return_path + ">";
  if (caps.size.has_value() && message.body) {
    out += " SIZE=" + std::to_string(message.body->size());
  }
  if (message.eight_bit && caps.eight_bit_mime) out += " BODY=8BITMIME";
  if (message.smtputf8) out += " SMTPUTF8";
  if (caps.dsn) {
    if (message.ret == DsnRet::kFull) out += " RET=FULL";
    if (message.ret == DsnRet::kHeaders) out += " RET=HDRS";
    if (!message.envid.empty()) out += " ENVID=" + XtextEncode(message.envid);
  }
  out += "\r\n";
  return out;
}

StatusOr<std::string> RcptToCommand(const DeliveryRecipient& rcpt, const Capabilities& caps) {
  OUTPOST_RETURN_IF_ERROR(ValidateEnvelopeAddress(rcpt.address));
  if (rcpt.address.empty()) return Status::InvalidArgument("empty recipient address");
  std::string out = "RCPT TO:<" + rcpt.address + ">";
  if (caps.dsn) {
    if (rcpt.notify.never) {
      out += " NOTIFY=NEVER";
    } else if (rcpt.notify.specified()) {
      std::string flags;
      auto add = [&flags](bool on, const char* name) {
        if (!on) return;
        if (!flags.empty()) flags += ',';
        flags += name;
      };
      add(rcpt.notify.success, "SUCCESS");
      add(rcpt.notify.failure, "FAILURE");
      add(rcpt.notify.delay, "DELAY");
      out += " NOTIFY=" + flags;
    }
    if (!rcpt.orcpt.empty()) {
      // Stored as "addr-type;address"; the address part is xtext-encoded on the wire.
      size_t semi = rcpt.orcpt.find(';');
      std::string type = semi == std::string::npos ? "rfc822" : rcpt.orcpt.substr(0, semi);
      std::string addr = semi == std::string::npos ? rcpt.orcpt : rcpt.orcpt.substr(semi + 1);
      out += " ORCPT=" + XtextEncode(type) + ";" + XtextEncode(addr);
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace outpost::transport::smtp
