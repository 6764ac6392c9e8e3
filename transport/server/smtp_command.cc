#include "transport/server/smtp_command.h"

#include <cctype>
#include <cstring>
#include <vector>

namespace outpost::smtp_server {
namespace {

constexpr size_t kMaxEnvid = 100;  // RFC 3461 4.4
constexpr size_t kMaxOrcpt = 500;  // RFC 3461 4.2

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

SmtpReply SyntaxError(std::string text) { return Reply(501, "5.5.4", std::move(text)); }
SmtpReply UnknownParam(std::string_view kw) {
  return Reply(555, "5.5.4", "unsupported parameter " + std::string(kw));
}

bool IsKeyword(std::string_view kw) {
  if (kw.empty() || !std::isalnum(static_cast<unsigned char>(kw[0]))) return false;
  for (unsigned char c : kw) {
    if (!std::isalnum(c) && c != '-') return false;
  }
  return true;
}

// esmtp-value: printable ASCII except '=' and SP, UTF-8 allowed (RFC 6531).
bool IsParamValue(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c < 33 || c == '=' || c == 127) return false;
  }
  return IsValidUtf8(v);
}

struct Param {
  std::string_view keyword;
  std::optional<std::string_view> value;
};

// Splits "K1=V1 K2 K3=V3" into params; nullopt (with `error` set) on bad syntax.
std::optional<std::vector<Param>> SplitParams(std::string_view s, SmtpReply* error) {
  std::vector<Param> out;
  while (true) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    if (s.empty()) return out;
    size_t sp = s.find(' ');
    std::string_view tok = s.substr(0, sp);
    s = sp == s.npos ? std::string_view() : s.substr(sp);
    Param p;
    size_t eq = tok.find('=');
    p.keyword = tok.substr(0, eq);
    if (eq != tok.npos) p.value = tok.substr(eq + 1);
    if (!IsKeyword(p.keyword) || (p.value && !IsParamValue(*p.value))) {
      *error = SyntaxError("bad parameter syntax");
      return std::nullopt;
    }
    for (const Param& seen : out) {
      if (EqualsIgnoreCase(seen.keyword, p.keyword)) {
        *error = SyntaxError("duplicate parameter " + std::string(p.keyword));
        return std::nullopt;
      }
    }
    out.push_back(p);
  }
}

std::optional<SmtpReply> ApplyMailParam(const Param& p, MailParams* m) {
  auto need_value = [&]() -> std::optional<SmtpReply> {
    if (!p.value) return SyntaxError(std::string(p.keyword) + " needs a value");
    return std::nullopt;
  };
  if (EqualsIgnoreCase(p.keyword, "SIZE")) {
    if (auto e = need_value()) return e;
    std::string_view v = *p.value;
    if (v.size() > 19) return SyntaxError("bad SIZE value");
    uint64_t n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') return SyntaxError("bad SIZE value");
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    m->size = n;
  } else if (EqualsIgnoreCase(p.keyword, "BODY")) {
    if (auto e = need_value()) return e;
    if (EqualsIgnoreCase(*p.value, "7BIT")) {
      m->body = BodyType::k7Bit;
    } else if (EqualsIgnoreCase(*p.value, "8BITMIME")) {
      m->body = BodyType::k8BitMime;
    } else {
      return SyntaxError("BODY must be 7BIT or 8BITMIME");
    }
  } else if (EqualsIgnoreCase(p.keyword, "SMTPUTF8")) {
    if (p.value) return SyntaxError("SMTPUTF8 takes no value");
    m->smtputf8 = true;
  } else if (EqualsIgnoreCase(p.keyword, "RET")) {
    if (auto e = need_value()) return e;
    if (EqualsIgnoreCase(*p.value, "FULL")) {
      m->ret = DsnRet::kFull;
    } else if (EqualsIgnoreCase(*p.value, "HDRS")) {
      m->ret = DsnRet::kHeaders;
    } else {
      return SyntaxError("RET must be FULL or HDRS");
    }
  } else if (EqualsIgnoreCase(p.keyword, "ENVID")) {
    if (auto e = need_value()) return e;
    auto decoded = DecodeXtext(*p.value);
    if (!decoded.ok()) return SyntaxError("bad ENVID: " + decoded.status().message());
    if (decoded->size() > kMaxEnvid) return SyntaxError("ENVID longer than 100");
    m->envid = std::move(*decoded);
  } else if (EqualsIgnoreCase(p.keyword, "AUTH")) {
    // RFC 4954 5: accepted because AUTH is offered; the submitter identity is not trusted.
    if (auto e = need_value()) return e;
    if (!DecodeXtext(*p.value).ok()) return SyntaxError("bad AUTH parameter");
  } else {
    return UnknownParam(p.keyword);
  }
  return std::nullopt;
}

std::optional<SmtpReply> ApplyRcptParam(const Param& p, RcptParams* r) {
  if (EqualsIgnoreCase(p.keyword, "NOTIFY")) {
    if (!p.value) return SyntaxError("NOTIFY needs a value");
    std::string_view v = *p.value;
    NotifyFlags f;
    size_t start = 0;
    while (true) {
      size_t comma = v.find(',', start);
      std::string_view item = v.substr(start, comma == v.npos ? v.npos : comma - start);
      bool* flag = EqualsIgnoreCase(item, "NEVER")     ? &f.never
                   : EqualsIgnoreCase(item, "SUCCESS") ? &f.success
                   : EqualsIgnoreCase(item, "FAILURE") ? &f.failure
                   : EqualsIgnoreCase(item, "DELAY")   ? &f.delay
                                                       : nullptr;
      if (flag == nullptr || *flag) return SyntaxError("bad NOTIFY value");
      *flag = true;
      if (comma == v.npos) break;
      start = comma + 1;
    }
    if (f.never && (f.success || f.failure || f.delay)) {
      return SyntaxError("NOTIFY=NEVER cannot be combined");
    }
    r->notify = f;
  } else if (EqualsIgnoreCase(p.keyword, "ORCPT")) {
    if (!p.value) return SyntaxError("ORCPT needs a value");
    std::string_view v = *p.value;
    size_t semi = v.find(';');
    if (semi == v.npos || semi == 0 || !IsKeyword(v.substr(0, semi))) {
      return SyntaxError("ORCPT must be addr-type;xtext");
    }
    auto decoded = DecodeXtext(v.substr(semi + 1));
    if (!decoded.ok() || decoded->empty()) return SyntaxError("bad ORCPT address");
    std::string out = std::string(v.substr(0, semi)) + ";" + *decoded;
    if (out.size() > kMaxOrcpt) return SyntaxError("ORCPT longer than 500");
    r->orcpt = std::move(out);
  } else {
    return UnknownParam(p.keyword);
  }
  return std::nullopt;
}

// "FROM:<a@b> PARAMS" or "TO:<a@b> PARAMS" after the verb.
ParsedCommand ParsePathCommand(Verb verb, std::string_view rest) {
  const bool mail = verb == Verb::kMail;
  std::string_view prefix = mail ? "FROM:" : "TO:";
  rest = TrimSpaces(rest);
  if (!StartsWithIgnoreCase(rest, prefix)) {
    return SyntaxError(mail ? "syntax: MAIL FROM:<address>" : "syntax: RCPT TO:<address>");
  }
  rest.remove_prefix(prefix.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // lenient, like Postfix
  PathOptions opts;
  opts.allow_null = mail;
  opts.allow_postmaster = !mail;
  auto path = ParsePath(rest, opts);
  if (!path.ok()) {
    return Reply(501, mail ? "5.1.7" : "5.1.3", "bad address: " + path.status().message());
  }
  SmtpCommand cmd;
  cmd.verb = verb;
  cmd.path = std::move(*path);
  std::string_view params = rest.substr(cmd.path.consumed);
  if (!params.empty() && params.front() != ' ') return SyntaxError("garbage after address");
  SmtpReply error;
  auto split = SplitParams(params, &error);
  if (!split) return error;
  for (const Param& p : *split) {
    auto e = mail ? ApplyMailParam(p, &cmd.mail) : ApplyRcptParam(p, &cmd.rcpt);
    if (e) return *e;
  }
  if (mail && !cmd.path.null_path && !cmd.path.mailbox.IsAscii() && !cmd.mail.smtputf8) {
    return Reply(553, "5.6.7", "non-ASCII address needs SMTPUTF8");
  }
  return cmd;
}

struct VerbName {
  std::string_view name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"EHLO", Verb::kEhlo}, {"HELO", Verb::kHelo},         {"MAIL", Verb::kMail},
    {"RCPT", Verb::kRcpt}, {"DATA", Verb::kData},         {"RSET", Verb::kRset},
    {"NOOP", Verb::kNoop}, {"QUIT", Verb::kQuit},         {"VRFY", Verb::kVrfy},
    {"HELP", Verb::kHelp}, {"STARTTLS", Verb::kStartTls}, {"AUTH", Verb::kAuth},
};

}  // namespace

SmtpReply Reply(int code, std::string enhanced, std::string text) {
  SmtpReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  return r;
}

std::string FormatReply(const SmtpReply& reply) {
  std::string out;
  std::string_view text = reply.text;
  std::string code = std::to_string(reply.code);
  while (true) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    out += code;
    out += nl == text.npos ? ' ' : '-';
    if (!reply.enhanced.empty()) {
      out += reply.enhanced;
      if (!line.empty()) out += ' ';
    }
    // Reply text never carries CR/LF of its own: those would forge reply lines.
    for (char c : line) out += (c == '\r' || c == '\0') ? ' ' : c;
    out += "\r\n";
    if (nl == text.npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

StatusOr<std::string> DecodeXtext(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = in[i];
    if (c == '+') {
      if (in.size() - i < 3) return Status::InvalidArgument("truncated +XX escape");
      int v = 0;
      for (size_t k = 1; k <= 2; ++k) {
        unsigned char h = in[i + k];
        v <<= 4;
        if (h >= '0' && h <= '9') {
          v |= h - '0';
        } else if (h >= 'A' && h <= 'F') {
          v |= h - 'A' + 10;
        } else if (h >= 'a' && h <= 'f') {
          v |= h - 'a' + 10;  // lenient: RFC 3461 wants upper case
        } else {
          return Status::InvalidArgument("bad +XX escape");
        }
      }
      if (v < 32 || v == 127) return Status::InvalidArgument("control character in xtext");
      out += static_cast<char>(v);
      i += 2;
    } else if (c < 33 || c == '=' || c == 127) {
      return Status::InvalidArgument("bad xtext character");
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

ParsedCommand ParseCommand(std::string_view line) {
  for (unsigned char c : line) {
    if (c == '\0' || c == '\r' || c == '\n') return Reply(500, "5.5.2", "invalid characters");
  }
  size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  std::string_view rest = sp == line.npos ? std::string_view() : line.substr(sp + 1);
  const VerbName* found = nullptr;
  for (const VerbName& v : kVerbs) {
    if (EqualsIgnoreCase(word, v.name)) found = &v;
  }
  if (found == nullptr) {
    if (EqualsIgnoreCase(word, "BDAT") || EqualsIgnoreCase(word, "EXPN") ||
        EqualsIgnoreCase(word, "TURN") || EqualsIgnoreCase(word, "ETRN")) {
      return Reply(502, "5.5.1", "command not implemented");
    }
    return Reply(500, "5.5.2", "command not recognized");
  }
  SmtpCommand cmd;
  cmd.verb = found->verb;
  std::string_view arg = TrimSpaces(rest);
  switch (cmd.verb) {
    case Verb::kEhlo:
    case Verb::kHelo:
      if (arg.empty()) return SyntaxError(std::string(found->name) + " needs a hostname");
      // A domain or address literal (RFC 5321 4.1.1.1); HELO names are free-form in the wild,
      // so only reject what could break the Received header.
      if (arg.size() > 255 || arg.find_first_of(" ()<>;\\\"") != arg.npos) {
        return SyntaxError("invalid hostname");
      }
      for (unsigned char c : arg) {
        if (c < 33 || c > 126) return SyntaxError("invalid hostname");
      }
      cmd.argument = std::string(arg);
      return cmd;
    case Verb::kMail:
    case Verb::kRcpt:
      return ParsePathCommand(cmd.verb, rest);
    case Verb::kData:
    case Verb::kRset:
    case Verb::kQuit:
    case Verb::kStartTls:
      if (!arg.empty()) return SyntaxError("no parameters allowed");
      return cmd;
    case Verb::kAuth:
      if (arg.empty()) return SyntaxError("AUTH needs a mechanism");
      cmd.argument = std::string(arg);
      return cmd;
    case Verb::kVrfy:
      if (arg.empty()) return SyntaxError("VRFY needs an argument");
      cmd.argument = std::string(arg);
      return cmd;
    case Verb::kNoop:
    case Verb::kHelp:
      return cmd;
  }
  return Reply(500, "5.5.2", "command not recognized");
}

CommandLineReader::Result CommandLineReader::Next(std::string_view buf, bool sasl_response) {
  Result r;
  if (buf.size() > kMaxAuthLine) buf = buf.substr(0, kMaxAuthLine);
  size_t lf = buf.find('\n');
  if (discarding_) {
    if (lf == buf.npos) {
      r.consumed = buf.size();
      return r;
    }
    discarding_ = false;
    r.kind = Result::Kind::kTooLong;
    r.consumed = lf + 1;
    return r;
  }
  if (lf == buf.npos) {
    if (buf.size() >= kMaxAuthLine) {
      discarding_ = true;
      r.consumed = buf.size();
    }
    return r;
  }
  r.consumed = lf + 1;
  std::string_view line = buf.substr(0, lf);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  bool auth = sasl_response || StartsWithIgnoreCase(line, "AUTH ");
  if (line.size() + 2 > (auth ? kMaxAuthLine : kMaxCommandLine)) {
    r.kind = Result::Kind::kTooLong;
    return r;
  }
  r.kind = Result::Kind::kLine;
  r.line = line;
  return r;
}

}  // namespace outpost::smtp_server
