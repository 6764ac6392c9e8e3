#include "transport/server/received_header.h"

#include "common/time_format.h"

namespace outpost::smtp_server {

std::string ReceivedProtocol(const ReceivedInfo& info) {
  if (!info.esmtp && !info.tls && !info.authenticated) return "SMTP";
  std::string p = "ESMTP";
  if (info.tls) p += "S";
  if (info.authenticated) p += "A";
  return p;
}

std::string FormatReceivedHeader(const ReceivedInfo& info) {
  bool v6 = info.client_ip.find(':') != std::string::npos;
  std::string h = "Received: from " + info.helo + " ([" + (v6 ? "IPv6:" : "") + info.client_ip +
                  "])\r\n\tby " + info.hostname;
  if (!info.tls_details.empty()) h += " (" + info.tls_details + ")";
  h += " with " + ReceivedProtocol(info) + " id " + info.trace_id;
  if (!info.single_recipient.empty()) h += "\r\n\tfor <" + info.single_recipient + ">";
  h += "; " + FormatRfc5322Date(info.unix_ms) + "\r\n";
  return h;
}

}  // namespace outpost::smtp_server
