#include "queue/dsn/dsn_composer.h"

#include <cstdio>
#include <memory>
#include <random>
#include <string_view>
#include <utility>

#include "common/time_format.h"
#include "queue/dsn/field_codec.h"
#include "queue/dsn/returned_content.h"

namespace outpost::dsn {
namespace {

// Peer reply texts are bounded before they are written (after sanitizing).
constexpr size_t kMaxReplyText = 2000;
// Width of the human-readable text; longer words are split at kMaxTextWord.
constexpr size_t kTextWidth = 76;
constexpr size_t kMaxTextWord = 900;
// Attempts to draw a boundary that does not occur in any part.
constexpr int kBoundaryDraws = 8;

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// A host name or address literal: what may follow "dns;" and "@".
bool IsPlausibleHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

// Cuts at `max` bytes without splitting a UTF-8 sequence, marking the cut.
std::string Bounded(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  s.append("...");
  return s;
}

std::string StatusFor(const RecipientReport& r) {
  if (IsValidEnhancedStatus(r.status)) return r.status;
  if (IsValidEnhancedStatus(r.reply_enhanced)) return r.reply_enhanced;
  int cls = r.smtp_code / 100;
  if (r.smtp_code >= 200 && r.smtp_code <= 599 && (cls == 2 || cls == 4 || cls == 5)) {
    return std::to_string(cls) + ".0.0";
  }
  switch (r.action) {
    case DsnAction::kFailed:
      return "5.0.0";
    case DsnAction::kDelayed:
      return "4.0.0";
    default:
      return "2.0.0";
  }
}

// An address field value: "rfc822; a@b" or, for non-ASCII, "utf-8; <unitext>" (RFC 6533).
std::string AddressField(std::string_view type, const std::string& addr) {
  if (!IsAscii(addr)) return "utf-8; " + EncodeUtf8AddrUnitext(addr);
  return std::string(type) + "; " + addr;
}

// A recipient report made safe to print: every string sanitized and bounded.
struct Prepared {
  std::string final_recipient;
  std::string orcpt_type;  // "" when no ORCPT
  std::string orcpt_address;
  DsnAction action = DsnAction::kFailed;
  std::string status;
  std::string diagnostic_type;  // "smtp", "x-outpost" or "" (none)
  std::string diagnostic;       // "550 5.1.1 user unknown"
  std::string remote_mta;
  std::optional<int64_t> last_attempt;
  std::optional<int64_t> retry_until;
};

bool IsAddrTypeToken(std::string_view t) {
  if (t.empty() || t.size() > 32) return false;
  for (char c : t) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

void PrepareOrcpt(std::string_view orcpt, Prepared* p) {
  if (orcpt.empty()) return;
  std::string type = "rfc822";
  std::string_view value = orcpt;
  if (auto semi = orcpt.find(';'); semi != std::string_view::npos) {
    type = AsciiLower(TrimWhitespace(orcpt.substr(0, semi)));
    value = TrimWhitespace(orcpt.substr(semi + 1));
  }
  std::string decoded = XtextDecode(value);
  if (type == "utf-8") decoded = DecodeUtf8Addr(decoded);
  p->orcpt_address = SanitizeFieldText(decoded, true);
  if (p->orcpt_address.empty()) return;
  p->orcpt_type = IsAddrTypeToken(type) && type != "utf-8" ? type : "rfc822";
}

Prepared Prepare(const RecipientReport& r) {
  Prepared p;
  p.final_recipient = SanitizeFieldText(r.final_recipient, true);
  PrepareOrcpt(r.original_recipient, &p);
  p.action = r.action;
  p.status = StatusFor(r);
  bool has_code = r.smtp_code >= 200 && r.smtp_code <= 599;
  // Peer text is kept ASCII so a report never needs SMTPUTF8 just because of a reply.
  std::string text = Bounded(SanitizeFieldText(r.reply_text, false), kMaxReplyText);
  if (has_code) {
    p.diagnostic_type = "smtp";
    p.diagnostic = std::to_string(r.smtp_code);
    // The enhanced code goes after the reply code unless the text already starts with it.
    if (IsValidEnhancedStatus(r.reply_enhanced) &&
        !std::string_view(text).starts_with(r.reply_enhanced)) {
      p.diagnostic += " " + r.reply_enhanced;
    }
    if (!text.empty()) p.diagnostic += " " + text;
  } else if (!text.empty()) {
    p.diagnostic_type = "x-outpost";
    p.diagnostic = text;
  }
  p.remote_mta = Bounded(SanitizeFieldText(r.remote_mta, false), 255);
  p.last_attempt = r.last_attempt_unix_ms;
  if (r.action == DsnAction::kDelayed) p.retry_until = r.will_retry_until_unix_ms;
  return p;
}

bool NeedsUtf8(const OriginalMessage& original, const std::vector<Prepared>& rcpts) {
  if (!IsAscii(original.return_path)) return true;
  for (const Prepared& p : rcpts) {
    if (!IsAscii(p.final_recipient) || !IsAscii(p.orcpt_address)) {
      return true;
    }
  }
  return false;
}

// Appends `text` as paragraph lines of at most kTextWidth (words longer than kMaxTextWord are
// split), continuation lines indented by `indent`.
void AppendWrapped(std::string_view text, std::string_view indent, std::string* out) {
  size_t line_len = 0;
  bool line_empty = true;
  while (!text.empty()) {
    size_t sp = text.find(' ');
    std::string_view word = text.substr(0, sp);
    text.remove_prefix(sp == std::string_view::npos ? text.size() : sp + 1);
    while (!word.empty()) {
      std::string_view piece = word.substr(0, kMaxTextWord);
      while (piece.size() < word.size() && piece.size() > 1 &&
             (static_cast<unsigned char>(word[piece.size()]) & 0xc0) == 0x80) {
        piece.remove_suffix(1);
      }
      word.remove_prefix(piece.size());
      if (!line_empty && line_len + 1 + piece.size() > kTextWidth) {
        out->append("\r\n").append(indent);
        line_len = indent.size();
        line_empty = true;
      }
      if (!line_empty) out->push_back(' '), ++line_len;
      out->append(piece);
      line_len += piece.size();
      line_empty = false;
    }
  }
  out->append("\r\n");
}

std::string_view Subject(DsnEvent event) {
  switch (event) {
    case DsnEvent::kFailure:
      return "Undelivered Mail Returned to Sender";
    case DsnEvent::kDelay:
      return "Delayed Mail (still being retried)";
    case DsnEvent::kSuccess:
      return "Successful Mail Delivery Report";
  }
  return "";
}

std::string_view Intro(DsnEvent event) {
  switch (event) {
    case DsnEvent::kFailure:
      return "I'm sorry to have to inform you that your message could not be delivered to one "
             "or more recipients. The reasons are given below.";
    case DsnEvent::kDelay:
      return "Your message could not be delivered yet to one or more recipients. The mail "
             "system will keep trying; you do not need to send the message again.";
    case DsnEvent::kSuccess:
      return "Your message was successfully delivered to the destination(s) listed below. If "
             "the message was delivered to a mailbox you will receive no further "
             "notifications. Otherwise you may still receive notifications of mail delivery "
             "errors from other systems.";
  }
  return "";
}

std::string RecipientSentence(const Prepared& p) {
  std::string s = "<" + p.final_recipient + ">";
  if (!p.orcpt_address.empty() && p.orcpt_address != p.final_recipient) {
    s += " (originally <" + p.orcpt_address + ">)";
  }
  switch (p.action) {
    case DsnAction::kFailed:
      s += ": delivery failed (status " + p.status + ").";
      break;
    case DsnAction::kDelayed:
      s += ": delivery delayed (status " + p.status + ").";
      if (p.retry_until) s += " Retries continue until " + FormatRfc5322Date(*p.retry_until) + ".";
      break;
    case DsnAction::kDelivered:
      s += ": delivered.";
      break;
    case DsnAction::kRelayed:
      s += ": relayed to a system that does not send delivery notifications.";
      break;
    case DsnAction::kExpanded:
      s += ": expanded to further recipients.";
      break;
  }
  if (!p.diagnostic.empty()) {
    s += p.remote_mta.empty() ? " The last reply was: " : " Host " + p.remote_mta + " said: ";
    s += p.diagnostic;
  }
  return s;
}

std::string HumanPart(const std::string& host, DsnEvent event, const std::vector<Prepared>& rcpts,
                      const ReturnedContent& rc) {
  std::string out;
  AppendWrapped("This is the mail system at host " + host + ".", "", &out);
  out.append("\r\n");
  AppendWrapped(Intro(event), "", &out);
  out.append("\r\n");
  for (const Prepared& p : rcpts) {
    AppendWrapped(RecipientSentence(p), "    ", &out);
    out.append("\r\n");
  }
  if (!rc.note.empty()) {
    AppendWrapped(rc.note, "", &out);
  } else if (rc.full) {
    AppendWrapped("The original message is attached.", "", &out);
  } else if (!rc.content_type.empty()) {
    AppendWrapped("The headers of the original message are attached.", "", &out);
  }
  return out;
}

std::string StatusPart(const OriginalMessage& original, const std::string& host,
                       const std::vector<Prepared>& rcpts) {
  std::string out = FoldField("Reporting-MTA", "dns; " + host);
  out += FoldField("X-Outpost-Queue-ID", Hex16(original.id));
  std::string envid = SanitizeFieldText(XtextDecode(original.envid), false);
  if (!envid.empty()) out += FoldField("Original-Envelope-Id", Bounded(envid, 500));
  out += FoldField("Arrival-Date", FormatRfc5322Date(original.arrival_unix_ms));
  for (const Prepared& p : rcpts) {
    out.append("\r\n");
    if (!p.orcpt_type.empty()) {
      out += FoldField("Original-Recipient", AddressField(p.orcpt_type, p.orcpt_address));
    }
    out += FoldField("Final-Recipient", AddressField("rfc822", p.final_recipient));
    out += FoldField("Action", DsnActionName(p.action));
    out += FoldField("Status", p.status);
    if (!p.remote_mta.empty()) out += FoldField("Remote-MTA", "dns; " + p.remote_mta);
    if (!p.diagnostic.empty()) {
      out += FoldField("Diagnostic-Code", p.diagnostic_type + "; " + p.diagnostic);
    }
    if (p.last_attempt) out += FoldField("Last-Attempt-Date", FormatRfc5322Date(*p.last_attempt));
    if (p.retry_until) out += FoldField("Will-Retry-Until", FormatRfc5322Date(*p.retry_until));
  }
  return out;
}

struct Part {
  std::string headers;  // CRLF-terminated header lines
  std::string body;
};

std::string PartHeaders(std::string_view type, std::string_view description, bool eight_bit) {
  std::string h = "Content-Description: " + std::string(description) + "\r\n";
  h += "Content-Type: " + std::string(type) + "\r\n";
  h += std::string("Content-Transfer-Encoding: ") + (eight_bit ? "8bit" : "7bit") + "\r\n";
  return h;
}

bool BoundaryFree(const std::string& boundary, const std::vector<Part>& parts) {
  std::string delimiter = "--" + boundary;
  for (const Part& p : parts) {
    if (p.body.find(delimiter) != std::string::npos) return false;
  }
  return true;
}

}  // namespace

RandomBits SeededRandomBits(uint64_t seed) {
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine] { return (*engine)(); };
}

DsnComposer::DsnComposer(DsnComposerOptions options, RandomBits random)
    : options_(std::move(options)), random_(std::move(random)) {}

StatusOr<ComposedDsn> DsnComposer::Compose(const OriginalMessage& original, DsnEvent event,
                                           const std::vector<RecipientReport>& recipients,
                                           int64_t now_unix_ms) const {
  if (original.return_path.empty()) {
    return Status::InvalidArgument("no DSN for the null return path");
  }
  if (recipients.empty()) return Status::InvalidArgument("a DSN needs at least one recipient");
  if (!IsPlausibleHost(options_.reporting_mta)) {
    return Status::InvalidArgument("reporting MTA is not a host name: '" +
                                   SanitizeFieldText(options_.reporting_mta, false) + "'");
  }
  if (!random_) return Status::InvalidArgument("no random source for boundaries");
  std::vector<Prepared> rcpts;
  rcpts.reserve(recipients.size());
  for (const RecipientReport& r : recipients) {
    if (EventOfAction(r.action) != event) {
      return Status::InvalidArgument("action '" + std::string(DsnActionName(r.action)) +
                                     "' does not belong in this report");
    }
    rcpts.push_back(Prepare(r));
    if (rcpts.back().final_recipient.empty()) {
      return Status::InvalidArgument("a recipient report has no final recipient");
    }
  }

  ComposedDsn dsn;
  const std::string& host = options_.reporting_mta;
  dsn.envelope_to = original.return_path;
  dsn.smtputf8 = NeedsUtf8(original, rcpts);
  ReturnedContent rc = SelectReturnedContent(
      original.raw, event == DsnEvent::kFailure && original.ret == DsnRet::kFull, dsn.smtputf8,
      {options_.max_full_message_bytes, options_.max_header_bytes});
  dsn.full_message_attached = rc.full;
  dsn.eight_bit = rc.eight_bit;

  std::vector<Part> parts;
  std::string text_type =
      dsn.smtputf8 ? "text/plain; charset=utf-8" : "text/plain; charset=us-ascii";
  parts.push_back(
      {PartHeaders(text_type, "Notification", dsn.smtputf8), HumanPart(host, event, rcpts, rc)});
  parts.push_back(
      {PartHeaders(dsn.smtputf8 ? "message/global-delivery-status" : "message/delivery-status",
                   "Delivery report", dsn.smtputf8),
       StatusPart(original, host, rcpts)});
  if (!rc.content_type.empty()) {
    parts.push_back(
        {PartHeaders(rc.content_type,
                     rc.full ? "Undelivered Message" : "Undelivered Message Headers", rc.eight_bit),
         std::move(rc.body)});
  }

  std::string boundary;
  for (int i = 0; i < kBoundaryDraws && boundary.empty(); ++i) {
    uint64_t hi = random_();
    uint64_t lo = random_();
    std::string candidate = "=_outpost_" + Hex16(hi) + Hex16(lo);
    if (BoundaryFree(candidate, parts)) boundary = std::move(candidate);
  }
  if (boundary.empty()) return Status::Internal("no MIME boundary free of the content");
  dsn.message_id = "dsn." + Hex16(original.id) + "." + Hex16(random_()) + "@" + host;

  std::string& m = dsn.message;
  m += "From: Mail Delivery Subsystem <MAILER-DAEMON@" + host + ">\r\n";
  m += FoldField("To", "<" + SanitizeFieldText(original.return_path, dsn.smtputf8) + ">");
  m += "Subject: " + std::string(Subject(event)) + "\r\n";
  m += "Date: " + FormatRfc5322Date(now_unix_ms) + "\r\n";
  m += "Message-ID: <" + dsn.message_id + ">\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary +
       "\"\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n";
  for (const Part& p : parts) {
    m += "\r\n--" + boundary + "\r\n" + p.headers + "\r\n" + p.body;
  }
  m += "\r\n--" + boundary + "--\r\n";
  return dsn;
}

}  // namespace outpost::dsn
