// The alert mail of DESIGN.md section 8, as RFC 5322 text with CRLF line ends.
//
// Headers: From, To, Subject, Date, Message-ID, MIME-Version, Content-Type
// (text/plain; charset=utf-8) and Content-Transfer-Encoding: quoted-printable.
// The subject reads "[sensorgate NAME] 3 firing, 1 resolved", RFC 2047
// encoded (UTF-8, base64) when it holds anything but printable ASCII. The
// body has one line per alert (key, rule, state, the aggregate and its
// threshold, window count, time, a sparkline of the key's window), then a
// footer with the gateway name and the dashboard address.
//
// Nothing from a reading reaches a header: keys appear in the body only,
// where control characters are shown as \xNN, invalid UTF-8 as U+FFFD, and
// the whole body is quoted-printable, so no byte of a key can end a line or
// start a header.
//
// Pure functions; any thread.
#ifndef SENSORGATE_ALERTS_MAIL_COMPOSER_H_
#define SENSORGATE_ALERTS_MAIL_COMPOSER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/mail_grouper.h"

namespace sensorgate {

struct MailHeaderInfo {
  std::string gateway;              // [gateway] name
  std::string from;                 // addr-spec, checked by the configuration
  std::vector<std::string> to;      // addr-specs
  std::string dashboard_url;        // "http://127.0.0.1:9108/", or "" without [http]
  std::string message_id;           // "<...@...>", from MakeMessageId()
  int64_t date_us = 0;              // wall clock, µs since the epoch
};

// The whole message: headers, blank line, quoted-printable body.
std::string ComposeMail(const MailHeaderInfo& info, const MailNotification& n);

// The plain (unencoded UTF-8) body lines of the message, for tests and logs.
std::string MailBodyText(const MailHeaderInfo& info, const MailNotification& n);

// "[sensorgate NAME] 3 firing, 1 resolved" (not yet encoded).
std::string MailSubject(std::string_view gateway, const MailNotification& n);

// A Message-ID unique to this mail: "<WALLUS.SEQ.RANDOM@sensorgate.HOST>",
// HOST the gateway name reduced to [A-Za-z0-9.-] (or "gateway").
std::string MakeMessageId(std::string_view gateway, int64_t wall_us, uint64_t seq, uint64_t random);

// An unstructured header value: as is when printable ASCII (and free of
// "=?"), else RFC 2047 encoded-words (=?utf-8?B?...?=), folded with CRLF SP.
std::string EncodeHeaderText(std::string_view text);

// Quoted-printable (RFC 2045) of text whose lines end in "\n"; the output
// lines end in CRLF and are at most 76 characters.
std::string QuotedPrintable(std::string_view text);

// Text safe for one body line: control characters as \xNN, invalid UTF-8 as
// U+FFFD.
std::string SafeLineText(std::string_view text);

// Up to 16 blocks of ▁▂▃▄▅▆▇█, one per value, scaled from the values' min to
// max (all equal: ▄).
std::string Sparkline(const std::vector<double>& values);

// RFC 5322 date: "Mon, 30 Nov 2026 13:45:00 +0000".
std::string MailDate(int64_t wall_us);

}  // namespace sensorgate

#endif  // SENSORGATE_ALERTS_MAIL_COMPOSER_H_
