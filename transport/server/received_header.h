#pragma once

#include <cstdint>
#include <string>

namespace outpost::smtp_server {

struct ReceivedInfo {
  std::string helo;       // client's EHLO/HELO name (already validated as one safe token)
  std::string client_ip;  // "192.0.2.1" or "2001:db8::1"
  std::string hostname;   // ours
  bool esmtp = true;      // EHLO (vs HELO)
  bool tls = false;
  bool authenticated = false;
  std::string tls_details;  // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384", or ""
  std::string trace_id;
  std::string single_recipient;  // "for <...>" only when the message has exactly one
  int64_t unix_ms = 0;
};

// The protocol name of RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA.
std::string ReceivedProtocol(const ReceivedInfo& info);

// "Received: from helo ([ip])\r\n\tby host with ESMTPS id X\r\n\tfor <rcpt>; date\r\n"
std::string FormatReceivedHeader(const ReceivedInfo& info);

}  // namespace outpost::smtp_server
