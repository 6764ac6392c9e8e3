#include "transport/tlspolicy/mta_sts.h"

#include <algorithm>
#include <optional>

#include "transport/dns/dns_message.h"

namespace outpost::transport::tlspolicy {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view TrimWsp(std::string_view s) {
  while (!s.empty() && IsWsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWsp(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A host name as RFC 8461's `Domain` (RFC 5321): LDH labels of 1-63 octets, at most 253 in
// total. IDNs must already be A-labels.
bool IsDomain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  size_t start = 0;
  while (start <= d.size()) {
    size_t dot = d.find('.', start);
    if (dot == std::string_view::npos) dot = d.size();
    std::string_view label = d.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

std::string Canonical(std::string_view name) { return dns::NormalizeDnsName(name); }

// One "v=STSv1; id=...;" record, already known to start with "v=STSv1".
StatusOr<MtaStsTxt> ParseOneTxt(std::string_view record) {
  std::optional<std::string> id;
  std::string_view rest = record.substr(7);  // after "v=STSv1"
  bool first = true;
  while (true) {
    rest = TrimWsp(rest);
    if (rest.empty()) break;
    if (rest.front() != ';') {
      return Status::InvalidArgument(first ? "MTA-STS TXT: expected ';' after v=STSv1"
                                           : "MTA-STS TXT: expected ';' between fields");
    }
    rest.remove_prefix(1);
    first = false;
    size_t end = rest.find(';');
    std::string_view field = TrimWsp(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (field.empty()) {
      if (rest.empty()) break;  // trailing ';'
      return Status::InvalidArgument("MTA-STS TXT: empty field");
    }
    size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == field.size()) {
      return Status::InvalidArgument("MTA-STS TXT: malformed field '" + std::string(field) + "'");
    }
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (name == "id") {
      if (id) return Status::InvalidArgument("MTA-STS TXT: duplicate id");
      if (value.size() > 32 || !std::all_of(value.begin(), value.end(), IsAlnum)) {
        return Status::InvalidArgument("MTA-STS TXT: id must be 1-32 letters or digits");
      }
      id = std::string(value);
      continue;
    }
    // sts-extension: checked for shape, otherwise ignored.
    if (name.size() > 32 || !IsAlnum(name.front())) {
      return Status::InvalidArgument("MTA-STS TXT: bad extension name");
    }
    for (char c : value) {
      if (c < 0x21 || c > 0x7e || c == '=' || c == ';') {
        return Status::InvalidArgument("MTA-STS TXT: bad extension value");
      }
    }
  }
  if (!id) return Status::InvalidArgument("MTA-STS TXT: no id field");
  return MtaStsTxt{*id};
}

std::optional<MtaStsMode> ParseMode(std::string_view v) {
  if (v == "enforce") return MtaStsMode::kEnforce;
  if (v == "testing") return MtaStsMode::kTesting;
  if (v == "none") return MtaStsMode::kNone;
  return std::nullopt;
}

Status PolicyError(size_t line, std::string_view what) {
  return Status::InvalidArgument("MTA-STS policy line " + std::to_string(line) + ": " +
                                 std::string(what));
}

}  // namespace

StatusOr<MtaStsTxt> ParseMtaStsTxt(const std::vector<std::string>& txt_records) {
  const std::string* found = nullptr;
  for (const auto& r : txt_records) {
    // "v=STSv1" must be the whole first field: "v=STSv10" is another version.
    if (r.rfind("v=STSv1", 0) != 0) continue;
    if (r.size() > 7 && r[7] != ';' && !IsWsp(r[7])) continue;
    if (found != nullptr) return Status::InvalidArgument("MTA-STS TXT: more than one record");
    found = &r;
  }
  if (found == nullptr) return Status::NotFound("no v=STSv1 TXT record");
  return ParseOneTxt(*found);
}

std::string_view MtaStsModeName(MtaStsMode mode) {
  switch (mode) {
    case MtaStsMode::kEnforce:
      return "enforce";
    case MtaStsMode::kTesting:
      return "testing";
    case MtaStsMode::kNone:
      return "none";
  }
  return "unknown";
}

StatusOr<MtaStsPolicy> ParseMtaStsPolicy(std::string_view body) {
  if (body.size() > kMtaStsMaxPolicyBytes) {
    return Status::InvalidArgument("MTA-STS policy larger than 64 KB");
  }
  if (body.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("MTA-STS policy contains a NUL byte");
  }
  MtaStsPolicy policy;
  bool have_version = false, have_mode = false, have_max_age = false;
  size_t line_no = 0;
  while (!body.empty()) {
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return PolicyError(line_no, "stray CR");
    if (TrimWsp(line).empty()) continue;  // tolerated: blank lines, e.g. a final empty one
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return PolicyError(line_no, "no ':'");
    std::string_view key = line.substr(0, colon);
    std::string_view value = TrimWsp(line.substr(colon + 1));
    if (key.empty() || key.size() > 32 || !IsAlnum(key.front())) {
      return PolicyError(line_no, "bad field name");
    }
    if (key == "version") {
      if (have_version) continue;
      if (value != "STSv1") return PolicyError(line_no, "version is not STSv1");
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) continue;
      auto mode = ParseMode(value);
      if (!mode) return PolicyError(line_no, "mode must be enforce, testing or none");
      policy.mode = *mode;
      have_mode = true;
    } else if (key == "max_age") {
      if (have_max_age) continue;
      if (value.empty() || value.size() > 10 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return PolicyError(line_no, "max_age must be 1-10 digits");
      }
      uint64_t secs = std::stoull(std::string(value));
      policy.max_age = std::chrono::seconds(
          std::min<uint64_t>(secs, static_cast<uint64_t>(kMtaStsMaxAge.count())));
      have_max_age = true;
    } else if (key == "mx") {
      std::string pattern = Lower(value);
      if (!pattern.empty() && pattern.back() == '.') pattern.pop_back();
      std::string_view domain = pattern;
      if (domain.rfind("*.", 0) == 0) domain.remove_prefix(2);
      if (!IsDomain(domain)) return PolicyError(line_no, "bad mx pattern");
      policy.mx.push_back(std::move(pattern));
    }
    // Unknown fields are extensions: ignored (RFC 8461 §3.2).
  }
  if (!have_version) return Status::InvalidArgument("MTA-STS policy: no version field");
  if (!have_mode) return Status::InvalidArgument("MTA-STS policy: no mode field");
  if (!have_max_age) return Status::InvalidArgument("MTA-STS policy: no max_age field");
  if (policy.mx.empty() && policy.mode != MtaStsMode::kNone) {
    return Status::InvalidArgument("MTA-STS policy: no mx field");
  }
  return policy;
}

std::vector<std::string> MtaStsPolicyLines(const MtaStsPolicy& policy) {
  std::vector<std::string> lines;
  lines.push_back("version: STSv1");
  lines.push_back("mode: " + std::string(MtaStsModeName(policy.mode)));
  for (const auto& mx : policy.mx) lines.push_back("mx: " + mx);
  lines.push_back("max_age: " + std::to_string(policy.max_age.count()));
  return lines;
}

std::string FormatMtaStsPolicy(const MtaStsPolicy& policy) {
  std::string out;
  for (const auto& line : MtaStsPolicyLines(policy)) out += line + "\r\n";
  return out;
}

bool MxPatternMatches(std::string_view pattern, std::string_view host) {
  std::string p = Canonical(pattern);
  std::string h = Canonical(host);
  if (p.empty() || h.empty()) return false;
  if (p.rfind("*.", 0) != 0) return p == h;
  std::string_view suffix = std::string_view(p).substr(1);  // ".example.org"
  if (h.size() <= suffix.size()) return false;
  if (h.compare(h.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  std::string_view label = std::string_view(h).substr(0, h.size() - suffix.size());
  return label.find('.') == std::string_view::npos;  // exactly one leftmost label
}

bool PolicyAllowsMx(const MtaStsPolicy& policy, std::string_view host) {
  return std::any_of(policy.mx.begin(), policy.mx.end(),
                     [&](const std::string& p) { return MxPatternMatches(p, host); });
}

std::string MtaStsPolicyHost(std::string_view domain) { return "mta-sts." + Canonical(domain); }

}  // namespace outpost::transport::tlspolicy
