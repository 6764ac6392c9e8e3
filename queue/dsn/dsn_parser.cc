#include "queue/dsn/dsn_parser.h"

#include "queue/dsn/rfc5322_date.h"

namespace outpost::dsn {
namespace {

constexpr int kMaxNesting = 4;

bool IsStatusType(std::string_view t) {
  return t == "message/delivery-status" || t == "message/global-delivery-status";
}

bool IsReturnedType(std::string_view t) {
  return t == "message/rfc822" || t == "text/rfc822-headers" || t == "message/global" ||
         t == "message/global-headers";
}

std::string_view FirstToken(std::string_view v) {
  v = TrimWhitespace(v);
  size_t end = v.find_first_of(" \t(;");
  return v.substr(0, end);
}

DsnAddress ReadAddress(std::string_view value) {
  DsnAddress a;
  std::optional<TypedValue> tv = SplitTypedValue(value);
  // A bare address (no type) is read as rfc822, as some old generators write it.
  a.type = tv ? tv->type : "rfc822";
  std::string addr = tv ? tv->value : std::string(TrimWhitespace(value));
  if (a.type == "utf-8") addr = DecodeUtf8Addr(addr);
  if (addr.size() >= 2 && addr.front() == '<' && addr.back() == '>') {
    addr = addr.substr(1, addr.size() - 2);
  }
  a.address = std::move(addr);
  return a;
}

std::optional<int64_t> ReadDate(const std::vector<HeaderField>& group, std::string_view name) {
  std::optional<std::string> v = FindField(group, name);
  return v ? ParseRfc5322Date(*v) : std::nullopt;
}

StatusOr<ParsedRecipient> ReadRecipient(std::vector<HeaderField> group, size_t index) {
  ParsedRecipient r;
  std::string where = "recipient group " + std::to_string(index + 1) + ": ";
  std::optional<std::string> final_rcpt = FindField(group, "Final-Recipient");
  if (!final_rcpt || TrimWhitespace(*final_rcpt).empty()) {
    return Status::InvalidArgument(where + "no Final-Recipient");
  }
  r.final_recipient = ReadAddress(*final_rcpt);
  std::optional<std::string> action = FindField(group, "Action");
  std::optional<DsnAction> parsed_action =
      action ? ParseDsnAction(FirstToken(*action)) : std::nullopt;
  if (!parsed_action) {
    return Status::InvalidArgument(
        where + (action ? "unknown Action '" + SanitizeFieldText(*action, false) + "'"
                        : std::string("no Action")));
  }
  r.action = *parsed_action;
  if (auto orcpt = FindField(group, "Original-Recipient"))
    r.original_recipient = ReadAddress(*orcpt);
  if (auto status = FindField(group, "Status")) r.status = std::string(FirstToken(*status));
  if (auto mta = FindField(group, "Remote-MTA")) r.remote_mta = SplitTypedValue(*mta);
  if (auto diag = FindField(group, "Diagnostic-Code")) {
    r.diagnostic_code = SplitTypedValue(*diag);
    if (!r.diagnostic_code) r.diagnostic_code = TypedValue{"", std::string(TrimWhitespace(*diag))};
  }
  r.last_attempt_unix_ms = ReadDate(group, "Last-Attempt-Date");
  r.will_retry_until_unix_ms = ReadDate(group, "Will-Retry-Until");
  r.fields = std::move(group);
  return r;
}

Status ReadStatusBlock(std::string_view block, ParsedDsn* out) {
  std::vector<std::vector<HeaderField>> groups;
  // Each round consumes at least one line (an empty one just ends an empty group), so this
  // is linear in the block even when it is mostly blank lines.
  while (!block.empty()) {
    std::string_view rest;
    std::vector<HeaderField> group = ReadFields(block, &rest);
    if (!group.empty()) groups.push_back(std::move(group));
    block = rest;
  }
  if (groups.size() < 2) {
    return Status::InvalidArgument("delivery-status part has no per-recipient fields");
  }
  out->per_message_fields = std::move(groups[0]);
  const auto& msg = out->per_message_fields;
  if (auto mta = FindField(msg, "Reporting-MTA")) out->reporting_mta = SplitTypedValue(*mta);
  if (auto envid = FindField(msg, "Original-Envelope-Id")) out->original_envelope_id = *envid;
  out->arrival_unix_ms = ReadDate(msg, "Arrival-Date");
  for (size_t i = 1; i < groups.size(); ++i) {
    StatusOr<ParsedRecipient> r = ReadRecipient(std::move(groups[i]), i - 1);
    if (!r.ok()) return r.status();
    out->recipients.push_back(std::move(*r));
  }
  return Status::Ok();
}

// Fills `out` from the parts of a multipart/report.
Status ReadReport(const std::vector<std::string_view>& parts, ParsedDsn* out) {
  bool have_status = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    MimeEntity part = ReadEntity(parts[i]);
    ContentType ct = ParseContentType(FindField(part.headers, "Content-Type"));
    std::optional<std::string> cte = FindField(part.headers, "Content-Transfer-Encoding");
    if (i == 0 && ct.type.starts_with("text/")) {
      StatusOr<std::string> text = DecodeBody(part.body, cte);
      if (text.ok()) out->human_readable = std::move(*text);
    } else if (!have_status && IsStatusType(ct.type)) {
      OUTPOST_ASSIGN_OR_RETURN(std::string block, DecodeBody(part.body, cte));
      out->status_content_type = ct.type;
      OUTPOST_RETURN_IF_ERROR(ReadStatusBlock(block, out));
      have_status = true;
    } else if (have_status && out->returned_content_type.empty() && IsReturnedType(ct.type)) {
      StatusOr<std::string> content = DecodeBody(part.body, cte);
      if (content.ok()) {
        out->returned_content_type = ct.type;
        out->returned_content = std::move(*content);
      }
    }
  }
  if (!have_status) return Status::InvalidArgument("report has no message/delivery-status part");
  return Status::Ok();
}

// Finds the multipart/report in `entity` (itself, or nested in a multipart) and reads it.
Status FindReport(const MimeEntity& entity, int depth, ParsedDsn* out) {
  ContentType ct = ParseContentType(FindField(entity.headers, "Content-Type"));
  if (!ct.type.starts_with("multipart/")) {
    return Status::InvalidArgument("not a multipart/report message (Content-Type " +
                                   SanitizeFieldText(ct.type, false) + ")");
  }
  std::optional<std::string> boundary = ct.Param("boundary");
  OUTPOST_ASSIGN_OR_RETURN(auto parts, SplitMultipart(entity.body, boundary.value_or("")));
  if (ct.type == "multipart/report") {
    std::optional<std::string> report_type = ct.Param("report-type");
    if (report_type && !EqualsIgnoreCase(*report_type, "delivery-status")) {
      return Status::InvalidArgument("report-type is '" + SanitizeFieldText(*report_type, false) +
                                     "', not delivery-status");
    }
    return ReadReport(parts, out);
  }
  if (depth >= kMaxNesting) return Status::InvalidArgument("MIME nesting too deep");
  Status last = Status::InvalidArgument("no multipart/report part");
  for (std::string_view p : parts) {
    MimeEntity child = ReadEntity(p);
    if (!ParseContentType(FindField(child.headers, "Content-Type"))
             .type.starts_with("multipart/")) {
      continue;
    }
    ParsedDsn attempt;
    last = FindReport(child, depth + 1, &attempt);
    if (last.ok()) {
      attempt.headers = std::move(out->headers);
      *out = std::move(attempt);
      return Status::Ok();
    }
  }
  return last;
}

}  // namespace

StatusOr<ParsedDsn> ParseDsn(std::string_view message) {
  ParsedDsn dsn;
  MimeEntity top = ReadEntity(message);
  if (top.headers.empty()) return Status::InvalidArgument("no message header");
  dsn.headers = top.headers;
  OUTPOST_RETURN_IF_ERROR(FindReport(top, 0, &dsn));
  return dsn;
}

}  // namespace outpost::dsn
