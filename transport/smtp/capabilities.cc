#include "transport/smtp/capabilities.h"

#include <algorithm>
#include <cctype>

namespace outpost::transport::smtp {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<uint64_t> ParseSize(const std::vector<std::string>& words) {
  if (words.size() < 2) return 0;
  uint64_t v = 0;
  for (char c : words[1]) {
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

bool Capabilities::HasAuth(std::string_view mechanism) const {
  return std::find(auth_mechanisms.begin(), auth_mechanisms.end(), Upper(mechanism)) !=
         auth_mechanisms.end();
}

Capabilities ParseCapabilities(const Reply& ehlo_reply) {
  Capabilities caps;
  for (size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    std::string line = ehlo_reply.lines[i];
    // Old servers write "AUTH=LOGIN PLAIN".
    if (line.size() > 5 && Upper(line.substr(0, 5)) == "AUTH=") line[4] = ' ';
    std::vector<std::string> words = Words(line);
    if (words.empty()) continue;
    std::string keyword = Upper(words[0]);
    if (keyword == "PIPELINING") {
      caps.pipelining = true;
    } else if (keyword == "STARTTLS") {
      caps.starttls = true;
    } else if (keyword == "8BITMIME") {
      caps.eight_bit_mime = true;
    } else if (keyword == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (keyword == "DSN") {
      caps.dsn = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      caps.enhanced_status_codes = true;
    } else if (keyword == "SIZE") {
      caps.size = ParseSize(words);
    } else if (keyword == "AUTH") {
      for (size_t w = 1; w < words.size(); ++w) {
        std::string mech = Upper(words[w]);
        if (!caps.HasAuth(mech)) caps.auth_mechanisms.push_back(mech);
      }
    }
  }
  return caps;
}

}  // namespace outpost::transport::smtp
