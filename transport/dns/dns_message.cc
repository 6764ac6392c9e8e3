#include "transport/dns/dns_message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <optional>

namespace outpost::transport::dns {
namespace {

constexpr uint16_t kClassIn = 1;
constexpr uint16_t kTypeOpt = 41;
constexpr int kMaxCnameLinks = 16;
constexpr size_t kMaxNameLength = 255;
constexpr int kMaxPointerJumps = 64;

enum Rcode : int {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomainRcode = 3,
  kNotImp = 4,
  kRefused = 5
};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A bounds-checked cursor over the packet. Every read either succeeds or sets `failed`.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> p) : p_(p) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return p_.size() - pos_; }

  bool U8(uint8_t* out) {
    if (remaining() < 1) return false;
    *out = p_[pos_++];
    return true;
  }
  bool U16(uint16_t* out) {
    if (remaining() < 2) return false;
    *out = static_cast<uint16_t>((p_[pos_] << 8) | p_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool U32(uint32_t* out) {
    uint16_t hi = 0, lo = 0;
    if (!U16(&hi) || !U16(&lo)) return false;
    *out = (static_cast<uint32_t>(hi) << 16) | lo;
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (remaining() < n) return false;
    out->assign(reinterpret_cast<const char*>(p_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool Skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }

  // Reads a possibly compressed name at the cursor; the cursor moves past the name as it
  // appears in place. Pointers may only go backwards, and the jump count is bounded, so a
  // hostile packet cannot loop.
  bool Name(std::string* out) {
    out->clear();
    size_t cursor = pos_;
    size_t wire_length = 1;
    int jumps = 0;
    bool jumped = false;
    while (true) {
      if (cursor >= p_.size()) return false;
      uint8_t len = p_[cursor];
      if ((len & 0xC0) == 0xC0) {
        if (cursor + 1 >= p_.size()) return false;
        size_t target = (static_cast<size_t>(len & 0x3F) << 8) | p_[cursor + 1];
        if (target >= cursor || ++jumps > kMaxPointerJumps) return false;
        if (!jumped) pos_ = cursor + 2;
        jumped = true;
        cursor = target;
        continue;
      }
      if ((len & 0xC0) != 0) return false;  // 0x40/0x80 label types are obsolete
      if (len == 0) {
        if (!jumped) pos_ = cursor + 1;
        return true;
      }
      if (cursor + 1 + len > p_.size()) return false;
      wire_length += len + 1;
      if (wire_length > kMaxNameLength) return false;
      if (!out->empty()) out->push_back('.');
      AppendLabel(p_.subspan(cursor + 1, len), out);
      cursor += 1 + len;
    }
  }

 private:
  // Printable label bytes are kept (lower-cased); '.', '\\' and anything else are escaped
  // as \DDD so a label can never smuggle a dot or a control character into a host name.
  static void AppendLabel(std::span<const uint8_t> label, std::string* out) {
    for (uint8_t b : label) {
      if (b > 0x20 && b < 0x7F && b != '.' && b != '\\') {
        out->push_back(Lower(static_cast<char>(b)));
      } else {
        char buf[5];
        std::snprintf(buf, sizeof(buf), "\\%03u", static_cast<unsigned>(b));
        out->append(buf);
      }
    }
  }

  std::span<const uint8_t> p_;
  size_t pos_ = 0;
};

struct RawRecord {
  std::string owner;
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  size_t rdata_offset = 0;  // into the packet, so names inside rdata can be decompressed
  uint16_t rdata_length = 0;
};

bool ReadRecord(Reader& r, RawRecord* rec) {
  if (!r.Name(&rec->owner)) return false;
  if (!r.U16(&rec->type) || !r.U16(&rec->klass) || !r.U32(&rec->ttl)) return false;
  if (!r.U16(&rec->rdata_length)) return false;
  rec->rdata_offset = r.pos();
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  if (rec->ttl & 0x80000000u) rec->ttl = 0;
  return r.Skip(rec->rdata_length);
}

// Reader positioned on a record's rdata, limited to it.
Reader RdataReader(std::span<const uint8_t> packet, const RawRecord& rec, size_t* end) {
  Reader r(packet.first(rec.rdata_offset + rec.rdata_length));
  r.Skip(rec.rdata_offset);
  *end = rec.rdata_offset + rec.rdata_length;
  return r;
}

Status BadRdata(const RawRecord& rec) {
  return Status::Corruption("malformed rdata in record of type " + std::to_string(rec.type) +
                            " for " + rec.owner);
}

// Decodes one record of the asked type into `out`.
Status DecodeRdata(std::span<const uint8_t> packet, const RawRecord& rec, DnsType type,
                   DnsResult* out) {
  size_t end = 0;
  Reader r = RdataReader(packet, rec, &end);
  switch (type) {
    case DnsType::kA:
    case DnsType::kAaaa: {
      const bool v4 = type == DnsType::kA;
      const size_t size = v4 ? 4 : 16;
      std::string raw;
      if (rec.rdata_length != size || !r.Bytes(size, &raw)) return BadRdata(rec);
      char text[INET6_ADDRSTRLEN] = {};
      if (inet_ntop(v4 ? AF_INET : AF_INET6, raw.data(), text, sizeof(text)) == nullptr) {
        return BadRdata(rec);
      }
      out->addresses.emplace_back(text);
      return Status::Ok();
    }
    case DnsType::kMx: {
      MxRecord mx;
      if (!r.U16(&mx.preference) || !r.Name(&mx.exchange) || r.pos() != end) {
        return BadRdata(rec);
      }
      out->mx.push_back(std::move(mx));
      return Status::Ok();
    }
    case DnsType::kTxt: {
      std::string joined;
      while (r.pos() < end) {
        uint8_t len = 0;
        std::string part;
        if (!r.U8(&len) || !r.Bytes(len, &part)) return BadRdata(rec);
        joined += part;
      }
      out->txt.push_back(std::move(joined));
      return Status::Ok();
    }
    case DnsType::kTlsa: {
      TlsaRecord t;
      if (!r.U8(&t.usage) || !r.U8(&t.selector) || !r.U8(&t.matching_type) ||
          !r.Bytes(end - r.pos(), &t.data)) {
        return BadRdata(rec);
      }
      out->tlsa.push_back(std::move(t));
      return Status::Ok();
    }
    case DnsType::kCname:
    case DnsType::kSoa:
      break;
  }
  return Status::InvalidArgument("cannot ask for type " + std::string(DnsTypeName(type)));
}

// The negative-caching TTL of RFC 2308 §5: min(SOA TTL, SOA MINIMUM).
std::optional<uint32_t> SoaNegativeTtl(std::span<const uint8_t> packet, const RawRecord& rec) {
  size_t end = 0;
  Reader r = RdataReader(packet, rec, &end);
  std::string mname, rname;
  uint32_t serial, refresh, retry, expire, minimum;
  if (!r.Name(&mname) || !r.Name(&rname) || !r.U32(&serial) || !r.U32(&refresh) || !r.U32(&retry) ||
      !r.U32(&expire) || !r.U32(&minimum)) {
    return std::nullopt;
  }
  return std::min(rec.ttl, minimum);
}

bool ValidWireLabelChar(char c) { return c > 0x20 && c < 0x7F && c != '\\' && c != '.'; }

}  // namespace

std::string_view DnsTypeName(DnsType type) {
  switch (type) {
    case DnsType::kA:
      return "A";
    case DnsType::kCname:
      return "CNAME";
    case DnsType::kSoa:
      return "SOA";
    case DnsType::kMx:
      return "MX";
    case DnsType::kTxt:
      return "TXT";
    case DnsType::kAaaa:
      return "AAAA";
    case DnsType::kTlsa:
      return "TLSA";
  }
  return "?";
}

std::string_view DnsOutcomeName(DnsOutcome outcome) {
  switch (outcome) {
    case DnsOutcome::kAnswer:
      return "answer";
    case DnsOutcome::kNoData:
      return "nodata";
    case DnsOutcome::kNxDomain:
      return "nxdomain";
    case DnsOutcome::kTempFail:
      return "tempfail";
  }
  return "?";
}

std::string NormalizeDnsName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = Lower(c);
  return out;
}

StatusOr<std::string> BuildDnsQuery(std::string_view name, DnsType type, uint16_t id) {
  std::string norm = NormalizeDnsName(name);
  if (norm.empty()) return Status::InvalidArgument("empty DNS name");
  std::string q;
  q.reserve(12 + norm.size() + 2 + 4 + 11);
  auto put16 = [&q](uint16_t v) {
    q.push_back(static_cast<char>(v >> 8));
    q.push_back(static_cast<char>(v & 0xFF));
  };
  put16(id);
  put16(0x0120);  // RD (0x0100) + AD (0x0020)
  put16(1);       // QDCOUNT
  put16(0);       // ANCOUNT
  put16(0);       // NSCOUNT
  put16(1);       // ARCOUNT: the OPT record
  size_t start = 0;
  while (start <= norm.size()) {
    size_t dot = norm.find('.', start);
    if (dot == std::string::npos) dot = norm.size();
    std::string_view label(norm.data() + start, dot - start);
    if (label.empty() || label.size() > 63) {
      return Status::InvalidArgument("bad DNS name '" + norm + "': label length");
    }
    if (!std::all_of(label.begin(), label.end(), ValidWireLabelChar)) {
      return Status::InvalidArgument("bad DNS name '" + norm + "': character");
    }
    q.push_back(static_cast<char>(label.size()));
    q.append(label);
    start = dot + 1;
  }
  q.push_back('\0');
  if (q.size() - 12 > kMaxNameLength) return Status::InvalidArgument("DNS name too long");
  put16(static_cast<uint16_t>(type));
  put16(kClassIn);
  // OPT pseudo-record (RFC 6891): root owner, type 41, UDP size 1232, no flags, no options.
  q.push_back('\0');
  put16(kTypeOpt);
  put16(1232);
  put16(0);
  put16(0);
  put16(0);
  return q;
}

StatusOr<DnsResult> ParseDnsResponse(std::span<const uint8_t> packet, std::string_view name,
                                     DnsType type) {
  Reader r(packet);
  uint16_t id, flags, qdcount, ancount, nscount, arcount;
  if (!r.U16(&id) || !r.U16(&flags) || !r.U16(&qdcount) || !r.U16(&ancount) || !r.U16(&nscount) ||
      !r.U16(&arcount)) {
    return Status::Corruption("DNS response shorter than its header");
  }
  if ((flags & 0x8000) == 0) return Status::Corruption("DNS packet is not a response");
  const bool truncated = (flags & 0x0200) != 0;
  const int rcode = flags & 0x000F;
  const std::string qname = NormalizeDnsName(name);

  if (qdcount > 1) return Status::Corruption("DNS response with several questions");
  if (qdcount == 1) {
    std::string owner;
    uint16_t qtype = 0, qclass = 0;
    if (!r.Name(&owner) || !r.U16(&qtype) || !r.U16(&qclass)) {
      return Status::Corruption("truncated question section");
    }
    if (owner != qname || qtype != static_cast<uint16_t>(type)) {
      return Status::Corruption("DNS response to another question (" + owner + ")");
    }
  }

  std::vector<RawRecord> answers;
  std::optional<uint32_t> negative_ttl;
  // A truncated (TC) UDP answer may legitimately stop mid-section; use what parsed.
  bool cut_short = false;
  for (uint32_t i = 0; i < static_cast<uint32_t>(ancount) + nscount; ++i) {
    RawRecord rec;
    if (!ReadRecord(r, &rec)) {
      if (truncated) {
        cut_short = true;
        break;
      }
      return Status::Corruption("truncated DNS record");
    }
    if (rec.klass != kClassIn) continue;
    if (i < ancount) {
      answers.push_back(std::move(rec));
    } else if (rec.type == static_cast<uint16_t>(DnsType::kSoa)) {
      negative_ttl = SoaNegativeTtl(packet, rec);
    }
  }
  (void)arcount;  // additional records (OPT, glue) are not used

  DnsResult result;
  result.authenticated = (flags & 0x0020) != 0;
  switch (rcode) {
    case kNoError:
    case kNxDomainRcode:
      break;
    case kServFail:
      return DnsResult::TempFail("SERVFAIL");
    case kRefused:
      return DnsResult::TempFail("REFUSED");
    case kNotImp:
      return DnsResult::TempFail("NOTIMP");
    case kFormErr:
      return DnsResult::TempFail("FORMERR");
    default:
      return DnsResult::TempFail("RCODE " + std::to_string(rcode));
  }

  // Follow the CNAME chain from the question name.
  std::string current = qname;
  uint32_t ttl = UINT32_MAX;
  for (int link = 0; link <= kMaxCnameLinks; ++link) {
    auto it = std::find_if(answers.begin(), answers.end(), [&](const RawRecord& rec) {
      return rec.type == static_cast<uint16_t>(DnsType::kCname) && rec.owner == current;
    });
    if (it == answers.end()) break;
    if (link == kMaxCnameLinks) return DnsResult::TempFail("CNAME chain too long");
    size_t end = 0;
    Reader cr = RdataReader(packet, *it, &end);
    std::string target;
    if (!cr.Name(&target) || cr.pos() != end) return BadRdata(*it);
    ttl = std::min(ttl, it->ttl);
    current = std::move(target);
  }
  result.canonical_name = current;

  for (const RawRecord& rec : answers) {
    if (rec.type != static_cast<uint16_t>(type) || rec.owner != current) continue;
    OUTPOST_RETURN_IF_ERROR(DecodeRdata(packet, rec, type, &result));
    ttl = std::min(ttl, rec.ttl);
  }
  const bool have_records = !result.mx.empty() || !result.addresses.empty() ||
                            !result.txt.empty() || !result.tlsa.empty();
  if (have_records) {
    result.outcome = DnsOutcome::kAnswer;
    result.ttl_seconds = ttl;
    return result;
  }
  if (truncated || cut_short) return DnsResult::TempFail("truncated answer without records");
  result.ttl_seconds = negative_ttl.value_or(0);
  if (rcode == kNxDomainRcode) {
    result.outcome = DnsOutcome::kNxDomain;
    result.detail = "NXDOMAIN";
  } else {
    result.outcome = DnsOutcome::kNoData;
    result.detail = "no " + std::string(DnsTypeName(type)) + " records";
  }
  return result;
}

}  // namespace outpost::transport::dns
