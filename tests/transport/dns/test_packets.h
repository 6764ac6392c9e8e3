#pragma once

// Hand-built DNS response packets for the parser and resolver tests.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace outpost::transport::dns::testing {

class PacketBuilder {
 public:
  // rcode 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED.
  PacketBuilder(std::string_view qname, uint16_t qtype, int rcode = 0, bool ad = false,
                bool tc = false) {
    Put16(0x1234);
    uint16_t flags = 0x8000 | 0x0100 | 0x0080 | static_cast<uint16_t>(rcode & 0xF);
    if (ad) flags |= 0x0020;
    if (tc) flags |= 0x0200;
    Put16(flags);
    Put16(1);
    Put16(0);
    Put16(0);
    Put16(0);
    question_offset_ = bytes_.size();
    PutName(qname);
    Put16(qtype);
    Put16(1);
  }

  // A record in the answer (or authority) section with uncompressed owner.
  PacketBuilder& Answer(std::string_view owner, uint16_t type, uint32_t ttl,
                        const std::string& rdata) {
    return Record(owner, type, ttl, rdata, 6);
  }
  PacketBuilder& Authority(std::string_view owner, uint16_t type, uint32_t ttl,
                           const std::string& rdata) {
    return Record(owner, type, ttl, rdata, 8);
  }
  // An answer whose owner is a compression pointer to the question name.
  PacketBuilder& AnswerAtQuestion(uint16_t type, uint32_t ttl, const std::string& rdata) {
    Bump(6);
    bytes_.push_back(static_cast<char>(0xC0 | (question_offset_ >> 8)));
    bytes_.push_back(static_cast<char>(question_offset_ & 0xFF));
    RecordTail(type, ttl, rdata);
    return *this;
  }

  std::vector<uint8_t> Build() const { return {bytes_.begin(), bytes_.end()}; }

  static std::string Name(std::string_view name) {
    std::string out;
    size_t start = 0;
    while (start < name.size()) {
      size_t dot = name.find('.', start);
      if (dot == std::string_view::npos) dot = name.size();
      out.push_back(static_cast<char>(dot - start));
      out.append(name.substr(start, dot - start));
      start = dot + 1;
    }
    out.push_back('\0');
    return out;
  }
  static std::string U16(uint16_t v) {
    return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
  }
  static std::string U32(uint32_t v) { return U16(v >> 16) + U16(v & 0xFFFF); }
  static std::string Mx(uint16_t pref, std::string_view exchange) {
    return U16(pref) + Name(exchange);
  }
  static std::string A(std::initializer_list<int> octets) {
    std::string out;
    for (int o : octets) out.push_back(static_cast<char>(o));
    return out;
  }
  static std::string Soa(uint32_t minimum) {
    return Name("ns.example") + Name("hostmaster.example") + U32(1) + U32(3600) + U32(600) +
           U32(86400) + U32(minimum);
  }

 private:
  void Put16(uint16_t v) { bytes_ += U16(v); }
  void PutName(std::string_view name) { bytes_ += Name(name); }
  void Bump(size_t count_offset) {
    uint16_t n = static_cast<uint16_t>((static_cast<uint8_t>(bytes_[count_offset]) << 8) |
                                       static_cast<uint8_t>(bytes_[count_offset + 1]));
    ++n;
    bytes_[count_offset] = static_cast<char>(n >> 8);
    bytes_[count_offset + 1] = static_cast<char>(n & 0xFF);
  }
  PacketBuilder& Record(std::string_view owner, uint16_t type, uint32_t ttl,
                        const std::string& rdata, size_t count_offset) {
    Bump(count_offset);
    PutName(owner);
    RecordTail(type, ttl, rdata);
    return *this;
  }
  void RecordTail(uint16_t type, uint32_t ttl, const std::string& rdata) {
    Put16(type);
    Put16(1);
    bytes_ += U32(ttl);
    Put16(static_cast<uint16_t>(rdata.size()));
    bytes_ += rdata;
  }

  std::string bytes_;
  size_t question_offset_ = 0;
};

}  // namespace outpost::transport::dns::testing
