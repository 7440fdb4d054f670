#include "simulator/sim_options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "simulator/equipment_model.h"

namespace sensorgate {
namespace {

using ApplyFn = Status (*)(std::string_view value, SimOptions* options);

// One command-line option. A row with a null name is a heading in --help.
struct OptionSpec {
  const char* name;        // "--equipment"
  const char* short_name;  // "-o" or nullptr
  const char* arg;         // "N", or nullptr for a flag
  const char* help;        // lines separated by '\n'
  ApplyFn apply;
};

Status Bad(std::string_view option, std::string_view value, std::string_view allowed) {
  std::string m(option);
  m += " ";
  m += value.empty() ? "''" : std::string(value);
  m += ": ";
  m += allowed;
  return Status::Error(std::move(m));
}

bool ParseUint(std::string_view text, uint64_t* out) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

bool ParseDouble(std::string_view text, double* out) {
  if (text.empty()) return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size() && std::isfinite(*out);
}

Status UintIn(std::string_view option, std::string_view text, uint64_t lo, uint64_t hi,
              uint64_t* out) {
  uint64_t v = 0;
  if (!ParseUint(text, &v) || v < lo || v > hi) {
    return Bad(option, text,
               "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  }
  *out = v;
  return Status::Ok();
}

Status IntIn(std::string_view option, std::string_view text, int lo, int hi, int* out) {
  uint64_t v = 0;
  Status s = UintIn(option, text, static_cast<uint64_t>(lo), static_cast<uint64_t>(hi), &v);
  if (s.ok()) *out = static_cast<int>(v);
  return s;
}

Status FractionIn(std::string_view option, std::string_view text, double hi, double* out) {
  double v = 0;
  if (!ParseDouble(text, &v) || v < 0 || v > hi) {
    std::string allowed = "must be a number from 0 to ";
    allowed += hi == 1 ? "1" : std::to_string(hi).substr(0, 4);
    return Bad(option, text, allowed);
  }
  *out = v;
  return Status::Ok();
}

Status DurationIn(std::string_view option, std::string_view text, int64_t* out) {
  int64_t micros = 0;
  if (!ParseDuration(text, &micros) || micros <= 0) {
    return Bad(option, text, "must be a positive duration with a unit, e.g. 500ms, 30s, 5m, 2h");
  }
  *out = micros;
  return Status::Ok();
}

constexpr uint64_t kMaxCount = 1000000000000000ULL;  // 1e15

// A range "A-B" of whole numbers in [0, 1000], A <= B.
Status RangeIn(std::string_view option, std::string_view text, int* lo, int* hi) {
  const size_t dash = text.find('-');
  uint64_t a = 0;
  uint64_t b = 0;
  if (dash == std::string_view::npos || !ParseUint(text.substr(0, dash), &a) ||
      !ParseUint(text.substr(dash + 1), &b) || a > b || b > 1000) {
    return Bad(option, text, "must be a range A-B of whole numbers, 0 <= A <= B <= 1000");
  }
  *lo = static_cast<int>(a);
  *hi = static_cast<int>(b);
  return Status::Ok();
}

const char* ProfileName(SimProfile p) {
  switch (p) {
    case SimProfile::kTemperature:
      return "temperature";
    case SimProfile::kTraffic:
      return "traffic";
    case SimProfile::kProcesses:
      return "processes";
    case SimProfile::kFlows:
      return "flows";
  }
  return "?";
}

const OptionSpec kOptions[] = {
    {nullptr, nullptr, nullptr, "What to generate:", nullptr},
    {"--profile", nullptr, "P",
     "temperature, traffic, processes or flows: the kind of records (see\n"
     "PROFILES below) [temperature]",
     [](std::string_view v, SimOptions* o) {
       for (SimProfile p : {SimProfile::kTemperature, SimProfile::kTraffic, SimProfile::kProcesses,
                            SimProfile::kFlows}) {
         if (v == ProfileName(p)) {
           o->profile = p;
           return Status::Ok();
         }
       }
       return Bad("--profile", v, "must be temperature, traffic, processes or flows");
     }},
    {"--equipment", nullptr, "N",
     "number of keys: sensors sensor01..sensorNN (cells C01.., machines\n"
     "M01.., flow devices), zero-padded to the width of N (at least 2\n"
     "digits) [50]",
     [](std::string_view v, SimOptions* o) {
       return IntIn("--equipment", v, 1, 1000000, &o->equipment);
     }},
    {"--count", nullptr, "N",
     "stop after N good records (malformed lines from --bad are extra and\n"
     "not counted); not with processes (see --cycles) [no limit]",
     [](std::string_view v, SimOptions* o) {
       return UintIn("--count", v, 1, kMaxCount, &o->count);
     }},
    {"--duration", nullptr, "D",
     "stop after D of wall-clock time, e.g. 30s, 5m [no limit]; with neither\n"
     "--count nor --duration, run until SIGINT or SIGTERM",
     [](std::string_view v, SimOptions* o) {
       return DurationIn("--duration", v, &o->duration_micros);
     }},
    {"--rate", nullptr, "R",
     "good records per second overall (a fraction such as 0.5 is allowed);\n"
     "0 = as fast as possible [0]",
     [](std::string_view v, SimOptions* o) {
       double r = 0;
       if (!ParseDouble(v, &r) || r < 0 || r > 1e9) {
         return Bad("--rate", v, "must be a number from 0 to 1000000000");
       }
       o->rate = r;
       return Status::Ok();
     }},
    {"--seed", nullptr, "S",
     "random seed, an integer from 0 to 2^64-1: the same seed and options give\n"
     "byte-identical output, except wall-clock timestamps (see --start-time) [1]",
     [](std::string_view v, SimOptions* o) {
       return UintIn("--seed", v, 0, UINT64_MAX, &o->seed);
     }},
    {"--start-time", nullptr, "T",
     "simulated time: the first cycle is stamped T (RFC 3339, e.g.\n"
     "2023-03-15T12:00:00Z) and each cycle adds --step, whatever the wall\n"
     "clock says; without it, every reading is stamped with the wall clock",
     [](std::string_view v, SimOptions* o) {
       if (!ParseRfc3339(v, &o->start_time)) {
         return Bad("--start-time", v, "must be an RFC 3339 time such as 2023-03-15T12:00:00Z");
       }
       o->has_start_time = true;
       return Status::Ok();
     }},
    {"--step", nullptr, "D",
     "simulated time between cycles, with --start-time only (processes: also\n"
     "without) [temperature 100ms, traffic 1s, processes 10s, flows 1s]. A\n"
     "temperature cycle is one reading from each equipment, in a shuffled\n"
     "order, a few microseconds apart (always less than D in all)",
     [](std::string_view v, SimOptions* o) {
       o->step_given = true;
       return DurationIn("--step", v, &o->step_micros);
     }},

    {nullptr, nullptr, nullptr, "Hot equipment:", nullptr},
    {"--hot", nullptr, "N",
     "N equipment (chosen by the seed) run hot once: a ramp up to --hot-temp,\n"
     "a plateau above it, a ramp down below their normal mean and a recovery\n"
     "[0]. Other equipment wander around a mean of 20-62 C and never read\n"
     "above 70.0, so no 60-reading average of theirs exceeds 70. traffic: N\n"
     "cells get a surge and N others a latency anomaly [0]; flows: the number\n"
     "of web servers [10, at most --equipment]",
     [](std::string_view v, SimOptions* o) { return IntIn("--hot", v, 0, 1000000, &o->hot); }},
    {"--hot-temp", nullptr, "X",
     "plateau readings are above X, in degrees C; above 70, at most 1000 [80]",
     [](std::string_view v, SimOptions* o) {
       double t = 0;
       if (!ParseDouble(v, &t) || !(t > 70) || t > 1000) {
         return Bad("--hot-temp", v, "must be a number above 70 and at most 1000");
       }
       o->hot_temp_tenths = static_cast<int32_t>(std::floor(t * 10 + 0.5));
       if (o->hot_temp_tenths <= 700) o->hot_temp_tenths = 701;
       return Status::Ok();
     }},
    {"--truth", nullptr, "FILE",
     "write what a correct analysis must find, one JSON object a line (see\n"
     "TRUTH FILE and PROFILES below), when the run ends",
     [](std::string_view v, SimOptions* o) {
       if (v.empty()) return Bad("--truth", v, "must be a file name");
       o->truth_path = std::string(v);
       return Status::Ok();
     }},

    {nullptr, nullptr, nullptr, "Faults:", nullptr},
    {"--late", nullptr, "FRACTION",
     "each good reading is late with this probability: held back and emitted\n"
     "at the end of the next cycle, with its original timestamp, so it arrives\n"
     "after later readings (also after its own equipment's next one, unless\n"
     "that one is late too) [0]",
     [](std::string_view v, SimOptions* o) {
       return FractionIn("--late", v, 1, &o->late_fraction);
     }},
    {"--bad", nullptr, "FRACTION",
     "this fraction of all lines are malformed records (see MALFORMED RECORDS\n"
     "below); they are extra lines, so the good readings, --count and the\n"
     "truth file are the same as without --bad; at most 0.99 [0]",
     [](std::string_view v, SimOptions* o) {
       return FractionIn("--bad", v, kMaxBadFraction, &o->bad_fraction);
     }},
    {"--glitch", nullptr, "FRACTION",
     "temperature: each good reading is, with this probability, a sensor\n"
     "fault instead: -999.9 or 9999.9 (chosen by the seed) [0]",
     [](std::string_view v, SimOptions* o) {
       return FractionIn("--glitch", v, 1, &o->glitch_fraction);
     }},
    {"--spike", nullptr, "FRACTION",
     "temperature: each good reading is, with this probability, a spike: its\n"
     "normal value + 30.0 C, still in range (at most 100.0) [0]. Glitches\n"
     "and spikes spare a key's first 60 readings, hot episodes and the 60\n"
     "readings after them; two spikes of a key are more than 60 readings\n"
     "apart, so a 60-reading window before a spike holds normal readings\n"
     "only (their noise is within +-5.0 C of a wandering mean, a standard\n"
     "deviation near 3 C): a count 60 window with outlier_z = 5 flags every\n"
     "spike and no normal reading of a key that is not hot",
     [](std::string_view v, SimOptions* o) {
       return FractionIn("--spike", v, 1, &o->spike_fraction);
     }},

    {nullptr, nullptr, nullptr, "Profile processes:", nullptr},
    {"--cycles", nullptr, "N",
     "stop after N whole cycles of --step (--count is not allowed: the\n"
     "records per cycle vary) [no limit]",
     [](std::string_view v, SimOptions* o) {
       return UintIn("--cycles", v, 1, kMaxCount, &o->cycles);
     }},
    {"--cycle-records", nullptr, "A-B",
     "each cycle every machine sends X records stamped in it, X drawn from\n"
     "A..B per machine and cycle [5-15]",
     [](std::string_view v, SimOptions* o) {
       return RangeIn("--cycle-records", v, &o->cycle_records_min, &o->cycle_records_max);
     }},
    {"--late-records", nullptr, "A-B",
     "and Y more stamped in it but emitted after all records of the next\n"
     "cycle, Y drawn from A..B [0-3]",
     [](std::string_view v, SimOptions* o) {
       return RangeIn("--late-records", v, &o->late_records_min, &o->late_records_max);
     }},

    {nullptr, nullptr, nullptr, "Profile flows:", nullptr},
    {"--split", nullptr, "N",
     "write N files instead of --output FILE: FILE-1 .. FILE-N (the number\n"
     "zero-padded to the width of N, before the extension: out/flows.log\n"
     "gives out/flows-1.log ..), the records in time order cut into N\n"
     "consecutive parts of (nearly) equal count; their concatenation is the\n"
     "file written without --split. Needs --count [off]",
     [](std::string_view v, SimOptions* o) { return IntIn("--split", v, 1, 10000, &o->split); }},

    {nullptr, nullptr, nullptr, "File output (the default):", nullptr},
    {"--output", "-o", "FILE",
     "append to FILE; '-' = standard output [-]. Lines are written whole:\n"
     "batched (1 MiB) at --rate 0, flushed before every pause otherwise, at\n"
     "exit and before every rotation",
     [](std::string_view v, SimOptions* o) {
       if (v.empty()) return Bad("--output", v, "must be a file name or -");
       o->output_path = v == "-" ? std::string() : std::string(v);
       return Status::Ok();
     }},
    {"--crlf", nullptr, nullptr, "end lines with CR LF, as the sample file does [LF]",
     [](std::string_view, SimOptions* o) {
       o->crlf = true;
       return Status::Ok();
     }},
    {"--rotate-size", nullptr, "SIZE",
     "rotate FILE before a line would take it past SIZE bytes (B, KiB, MiB,\n"
     "GiB, e.g. 10MiB): as logrotate does, FILE.1 becomes FILE.2 and so on up to\n"
     "FILE.K (the oldest is dropped), FILE becomes FILE.1 and a new FILE is\n"
     "created [off]",
     [](std::string_view v, SimOptions* o) {
       if (!ParseByteSize(v, &o->rotate_size) || o->rotate_size == 0) {
         return Bad("--rotate-size", v, "must be a positive size such as 500KiB or 10MiB");
       }
       return Status::Ok();
     }},
    {"--rotate-lines", nullptr, "N", "rotate FILE once it holds N lines [off]",
     [](std::string_view v, SimOptions* o) {
       return UintIn("--rotate-lines", v, 1, kMaxCount, &o->rotate_lines);
     }},
    {"--rotate-keep", nullptr, "K", "rotated files kept, FILE.1 (newest) to FILE.K [5]",
     [](std::string_view v, SimOptions* o) {
       return IntIn("--rotate-keep", v, 1, 1000, &o->rotate_keep);
     }},
    {"--copytruncate", nullptr, nullptr,
     "rotate by copying FILE to FILE.1 and truncating FILE in place (same\n"
     "inode) instead of renaming it",
     [](std::string_view, SimOptions* o) {
       o->copytruncate = true;
       return Status::Ok();
     }},
    {"--rewrite-every", nullptr, "N",
     "every N cycles, truncate FILE and write on from its start, as a\n"
     "generator that rewrites its file does (not with rotation) [off]",
     [](std::string_view v, SimOptions* o) {
       return UintIn("--rewrite-every", v, 1, kMaxCount, &o->rewrite_every);
     }},

    {nullptr, nullptr, nullptr,
     "MQTT output (instead of a file; needs a build with SENSORGATE_WITH_MQTT):", nullptr},
    {"--mqtt", nullptr, "URI", "publish to this broker, e.g. tcp://127.0.0.1:1883",
     [](std::string_view v, SimOptions* o) {
       if (!SimHasMqtt()) {
         return Status::Error(
             "--mqtt: this sensorgate-sim was built without MQTT support "
             "(configure with -DSENSORGATE_WITH_MQTT=ON)");
       }
       if (v.empty()) return Bad("--mqtt", v, "must be a URI such as tcp://127.0.0.1:1883");
       o->mqtt_uri = std::string(v);
       return Status::Ok();
     }},
    {"--topic", nullptr, "T",
     "topic; {key} is replaced by the equipment key [plant/{key}/temperature]",
     [](std::string_view v, SimOptions* o) {
       if (v.empty() || v.find_first_of("+#") != std::string_view::npos) {
         return Bad("--topic", v, "must be a non-empty topic name without + or #");
       }
       o->topic = std::string(v);
       return Status::Ok();
     }},
    {"--qos", nullptr, "0|1",
     "at 1, every message is acknowledged by the broker before the program\n"
     "exits (at most 1000 in flight) and none is lost: after a reconnection the\n"
     "unacknowledged ones are published again (a few may arrive twice); it\n"
     "gives up (exit 1) after 60 s without an acknowledgement [1]",
     [](std::string_view v, SimOptions* o) {
       if (v != "0" && v != "1") return Bad("--qos", v, "must be 0 or 1");
       o->qos = v[0] - '0';
       return Status::Ok();
     }},
    {"--client-id", nullptr, "ID", "MQTT client id [sensorgate-sim-<pid>]",
     [](std::string_view v, SimOptions* o) {
       if (v.empty() || v.size() > 23 * 1000) return Bad("--client-id", v, "must not be empty");
       o->client_id = std::string(v);
       return Status::Ok();
     }},
    {"--payload", nullptr, "json|number",
     "json: the record as in a file (no line ending); number: the bare\n"
     "temperature, e.g. 73.3 [json]",
     [](std::string_view v, SimOptions* o) {
       if (v == "json") {
         o->payload = PayloadFormat::kJson;
       } else if (v == "number") {
         o->payload = PayloadFormat::kNumber;
       } else {
         return Bad("--payload", v, "must be json or number");
       }
       return Status::Ok();
     }},

    {nullptr, nullptr, nullptr, "Other:", nullptr},
    {"--help", "-h", nullptr, "print this help and exit", nullptr},
    {"--version", nullptr, nullptr, "print the version and exit", nullptr},
};

const char kHelpHead[] =
    "Usage: sensorgate-sim [options]\n"
    "\n"
    "Generates industrial temperature readings, one JSON object a line, in the\n"
    "record format of the plant's sample file:\n"
    "\n"
    "  {\"id_sensor\":\"Sensor-1503-762GK\",\"id_equipamento\":\"Equipament-0323XH-762GK\",\n"
    "   \"sensor\":\"sensor16\", \"data_evento\":\"2023-03-15T12:15:37.166944Z\",\n"
    "   \"padrao\":{\"formato\":\"iot:leitura:sensor:temp\",\n"
    "   \"leitura\":{\"temperatura\":73.3}}}\n"
    "\n"
    "(on one line). Options take their value as the next argument or after '='.\n"
    "--profile chooses other kinds of records (see PROFILES below).\n";

const char kHelpTail[] =
    "\n"
    "TRUTH FILE (--truth) of the temperature profile: one JSON object a line, one\n"
    "per hot equipment, sorted by key, e.g.\n"
    "  {\"key\":\"sensor07\",\"hot_from_reading\":1200,\"hot_to_reading\":1574,\n"
    "   \"from\":\"2023-03-15T12:02:00.000417Z\",\"to\":\"2023-03-15T12:02:37.400388Z\",\n"
    "   \"peak\":88.1,\"episode_from_reading\":1125,\"episode_to_reading\":1724}\n"
    "A reading number is the 0-based index of that equipment's own good\n"
    "readings in the order they were generated (late readings keep theirs).\n"
    "Readings hot_from_reading..hot_to_reading (both included) are exactly the\n"
    "readings of the key above --hot-temp; \"from\" and \"to\" are their\n"
    "timestamps and \"peak\" the highest of them. episode_from_reading..\n"
    "episode_to_reading is the whole excursion (ramp up, plateau, ramp down,\n"
    "recovery); outside it the key reads normally. The plateau has at least 60\n"
    "readings. The episode lies within the run when --count is given (which\n"
    "then needs at least 170 readings per equipment) or when --duration and\n"
    "--rate are (it is planned for 90% of the readings they should give);\n"
    "otherwise within the first ~1000 readings of each key. Fields the run\n"
    "ended before reaching are null; the file is written when the run ends.\n"
    "A gateway with a 60-reading window, above = 75, clear_below = 73 and\n"
    "min_samples = 10 fires once for each hot key (at a reading in\n"
    "episode_from_reading..hot_to_reading) and resolves it after\n"
    "hot_to_reading, and never fires for any other key.\n"
    "With --glitch or --spike, one line per glitch and spike follows, in the\n"
    "order they were generated:\n"
    "  {\"sensor\":\"sensor07\",\"kind\":\"glitch\",\"time\":\"<RFC 3339>\",\"value\":-999.9}\n"
    "  {\"sensor\":\"sensor12\",\"kind\":\"spike\",\"time\":\"<RFC 3339>\",\"value\":81.4}\n"
    "\n"
    "PROFILES (--profile). Keys are the --equipment keys; over MQTT, {key} is\n"
    "the record's key (cell, machine, flows: SrcDevice). Times are simulated\n"
    "with --start-time, the wall clock otherwise.\n"
    "\n"
    "traffic: telecom cells C01..CNN; each cycle (--step 1s) every cell sends\n"
    "one record, in a shuffled order, a few microseconds apart:\n"
    "  {\"time\":\"2023-03-15T12:00:00.000000Z\",\"cell\":\"C07\",\"protocol\":\"TCP\",\n"
    "   \"bytes\":123456,\"packets\":124,\"latency_ms\":23.4}\n"
    "protocol TCP 70%, UDP 25%, ICMP 5%. TCP/UDP bytes are the cell's level\n"
    "(50000-500000) x 0.9-1.1; ICMP bytes 64-1500; packets bytes/1000 + 1;\n"
    "latency_ms the cell's level (10-60) x 0.9-1.1. --hot N: N cells get a\n"
    "surge (TCP/UDP bytes x 6) and N other cells a latency anomaly (x 8), each\n"
    "for 120 s of cycles, starting after at least 600 s of normal cycles and\n"
    "ending before the run ends (--count must hold enough cycles; without it,\n"
    "they are planned for 90% of --duration x --rate, else within 600-1200 s).\n"
    "Truth, one line per episode, sorted by from then cell (from: the first\n"
    "affected cycle's time, to: the next cycle's, exclusive):\n"
    "  {\"cell\":\"C07\",\"kind\":\"surge\",\"from\":\"<RFC 3339>\",\"to\":\"<RFC 3339>\"}\n"
    "and kind \"latency\". A time the run did not reach is null.\n"
    "\n"
    "processes: host events of machines M01..MNN:\n"
    "  {\"ts\":1678881600,\"machine\":\"M03\",\"pid\":4321,\"cmd\":\"nginx\",\"cpu\":12.5,\n"
    "   \"mem\":3.2}\n"
    "Cycle c covers [start + c x step, start + (c+1) x step) (--step 10s, whole\n"
    "seconds; --start-time a multiple of it; without --start-time, start is the\n"
    "wall clock at start rounded down to the step). Each record of cycle c has\n"
    "ts = its start + an offset drawn in [0, step). Every machine sends X\n"
    "records (--cycle-records) and Y late ones (--late-records) stamped in\n"
    "cycle c; the late ones are emitted after all records of cycle c+1 (those\n"
    "of the last cycle at the very end); order shuffled within each part. A\n"
    "stop (--duration, a signal) finishes the current cycle. Truth, one line per\n"
    "machine and cycle, sorted by cycle then machine (records = X + Y):\n"
    "  {\"machine\":\"M03\",\"cycle\":12,\"from\":1678881720,\"to\":1678881730,\n"
    "   \"records\":14,\"late\":2}\n"
    "\n"
    "flows: network flows in the LANL release's fields and types:\n"
    "  {\"Time\":1678881600,\"Duration\":12,\"SrcDevice\":\"Comp123456\",\n"
    "   \"DstDevice\":\"Comp654321\",\"Protocol\":6,\"SrcPort\":\"Port52137\",\n"
    "   \"DstPort\":\"443\",\"SrcPackets\":10,\"DstPackets\":8,\"SrcBytes\":1234,\n"
    "   \"DstBytes\":5678}\n"
    "Every port is a string: a well-known port as its number, others as\n"
    "Port + 5 digits; Protocol 6, 17 or 1 (ICMP, ports \"0\"); Time epoch\n"
    "seconds, non-decreasing. --equipment N devices: Comp + 6 digits (unique)\n"
    "and, from N = 10 on, a few named ones (EnterpriseAppServer,\n"
    "ActiveDirectory, ...). Each cycle (--step 1s) holds 1 to 2F-1 flows, F =\n"
    "N/10 within 3..50. Exactly --hot devices (the web servers) appear as\n"
    "DstDevice with DstPort 443 or 8000, each at least once (the first --hot\n"
    "flows, one each; --count must be at least --hot); they also serve other\n"
    "ports, as other devices do. Truth, one line, names sorted:\n"
    "  {\"web_servers\":[\"ActiveDirectory\",\"Comp123456\"],\"count\":2}\n"
    "\n"
    "Malformed lines (--bad) of traffic, processes and flows: a good line cut\n"
    "short, garbage text or an empty object {}.\n"
    "\n"
    "MALFORMED RECORDS (--bad), of kinds chosen by the seed: truncated JSON; a\n"
    "temperature that is a string (\"73.3\"), true or null; no \"sensor\" field;\n"
    "no temperature; a control character in the sensor name, written as the\n"
    "JSON escape \\u0001 or as a raw 0x01 byte; a line over 64 KiB; garbage text;\n"
    "an empty sensor name. With --payload number: an empty payload, a lone '-',\n"
    "a string, true, null, garbage text or over 64 KiB of digits.\n"
    "\n"
    "SIGINT and SIGTERM stop the run cleanly: held late readings are written,\n"
    "the output is flushed (and, over MQTT, acknowledged) and the truth file is\n"
    "written. A closed standard output ends the run quietly.\n"
    "\n"
    "Exit status: 0 done; 64 bad command line; 1 any other failure (a file that\n"
    "cannot be written, a broker that cannot be reached).\n";

const OptionSpec* FindOption(std::string_view name) {
  for (const OptionSpec& spec : kOptions) {
    if (spec.name == nullptr) continue;
    if (name == spec.name || (spec.short_name != nullptr && name == spec.short_name)) {
      return &spec;
    }
  }
  return nullptr;
}

bool Given(const std::vector<std::string_view>& given, std::string_view name) {
  for (std::string_view g : given) {
    if (g == name) return true;
  }
  return false;
}

// Options that only one profile takes, and the profile's own checks.
Status CheckProfile(const SimOptions& o, const std::vector<std::string_view>& given) {
  const std::string profile = ProfileName(o.profile);
  const auto only = [&](const char* name, SimProfile p) {
    if (o.profile == p || !Given(given, name)) return Status::Ok();
    return Status::Error(std::string(name) + " is for --profile " + ProfileName(p) + ", not " +
                         profile);
  };
  for (const char* name : {"--hot-temp", "--late", "--glitch", "--spike", "--payload"}) {
    Status s = only(name, SimProfile::kTemperature);
    if (!s.ok()) return s;
  }
  for (const char* name : {"--cycles", "--cycle-records", "--late-records"}) {
    Status s = only(name, SimProfile::kProcesses);
    if (!s.ok()) return s;
  }
  Status s = only("--split", SimProfile::kFlows);
  if (!s.ok()) return s;
  const std::string n = std::to_string(o.equipment);
  switch (o.profile) {
    case SimProfile::kTemperature:
      break;
    case SimProfile::kTraffic:
      if (2 * static_cast<int64_t>(o.hot) > o.equipment) {
        return Status::Error("--hot " + std::to_string(o.hot) +
                             ": traffic needs 2 x --hot cells at most --equipment (" + n + ")");
      }
      if (o.hot > 0 && o.count != 0) {
        const uint64_t cycles = TrafficMinCycles(o.step_micros);
        if (o.count / static_cast<uint64_t>(o.equipment) < cycles) {
          return Status::Error("--hot needs at least " + std::to_string(cycles) +
                               " cycles of traffic (600 s of history, a 120 s episode and one "
                               "more): with --equipment " +
                               n + ", --count must be at least " +
                               std::to_string(cycles * static_cast<uint64_t>(o.equipment)));
        }
      }
      break;
    case SimProfile::kProcesses:
      if (Given(given, "--count")) {
        return Status::Error(
            "--count is not for --profile processes (records per cycle vary): use --cycles N");
      }
      if (Given(given, "--hot")) return Status::Error("--hot is not for --profile processes");
      if (o.cycle_records_max + o.late_records_max == 0) {
        return Status::Error("--cycle-records: with --late-records 0-0, must allow a record");
      }
      if (o.step_micros % kMicrosPerSecond != 0) {
        return Status::Error("--step: --profile processes needs whole seconds");
      }
      if (o.has_start_time && o.start_time % o.step_micros != 0) {
        return Status::Error(
            "--start-time: --profile processes needs a multiple of --step since the epoch");
      }
      break;
    case SimProfile::kFlows:
      if (o.hot < 1 || o.hot > o.equipment) {
        return Status::Error("--hot " + std::to_string(o.hot) + ": flows needs 1 to --equipment (" +
                             n + ") web servers");
      }
      if (o.count != 0 && o.count < static_cast<uint64_t>(o.hot)) {
        return Status::Error("--count must be at least --hot (" + std::to_string(o.hot) +
                             "): every web server serves at least one flow");
      }
      if (o.split != 0) {
        if (o.output_path.empty() || !o.mqtt_uri.empty()) {
          return Status::Error("--split needs --output FILE (not standard output)");
        }
        if (o.count == 0) return Status::Error("--split needs --count (the parts are equal)");
        if (o.count < static_cast<uint64_t>(o.split)) {
          return Status::Error("--split " + std::to_string(o.split) + ": must be at most --count");
        }
        if (o.rotate_size != 0 || o.rotate_lines != 0 || o.rewrite_every != 0) {
          return Status::Error("--split cannot be combined with rotation or --rewrite-every");
        }
      }
      break;
  }
  return Status::Ok();
}

// Checks the options against each other, once all are parsed.
Status CheckTogether(const SimOptions& o, const std::vector<std::string_view>& given) {
  const bool mqtt = !o.mqtt_uri.empty();
  for (const char* name : {"--topic", "--qos", "--client-id", "--payload"}) {
    if (!mqtt && Given(given, name)) return Status::Error(std::string(name) + " needs --mqtt");
  }
  for (const char* name : {"--output", "--crlf", "--rotate-size", "--rotate-lines", "--rotate-keep",
                           "--copytruncate", "--rewrite-every"}) {
    if (mqtt && Given(given, name)) {
      return Status::Error(std::string(name) +
                           " is for file output and cannot be used with --mqtt");
    }
  }
  const bool rotating = o.rotate_size != 0 || o.rotate_lines != 0;
  if ((rotating || o.rewrite_every != 0) && o.output_path.empty() && !mqtt) {
    return Status::Error(
        std::string(rotating ? "--rotate-size/--rotate-lines" : "--rewrite-every") +
        " needs --output FILE (not standard output)");
  }
  if (o.copytruncate && !rotating) {
    return Status::Error("--copytruncate needs --rotate-size or --rotate-lines");
  }
  if (Given(given, "--rotate-keep") && !rotating) {
    return Status::Error("--rotate-keep needs --rotate-size or --rotate-lines");
  }
  if (rotating && o.rewrite_every != 0) {
    return Status::Error("--rewrite-every cannot be combined with rotation");
  }
  if (o.step_given && !o.has_start_time && o.profile != SimProfile::kProcesses) {
    return Status::Error("--step needs --start-time (without it, timestamps are the wall clock)");
  }
  Status s = CheckProfile(o, given);
  if (!s.ok() || o.profile != SimProfile::kTemperature) return s;
  if (o.hot > o.equipment) {
    return Status::Error("--hot " + std::to_string(o.hot) + ": must be at most --equipment (" +
                         std::to_string(o.equipment) + ")");
  }
  if (o.hot > 0 && o.count != 0 &&
      o.count / static_cast<uint64_t>(o.equipment) < kMinHotReadingsPerEquipment) {
    return Status::Error(
        "--hot needs at least " + std::to_string(kMinHotReadingsPerEquipment) +
        " readings per equipment: with --equipment " + std::to_string(o.equipment) +
        ", --count must be at least " +
        std::to_string(kMinHotReadingsPerEquipment * static_cast<uint64_t>(o.equipment)));
  }
  return Status::Ok();
}

}  // namespace

uint64_t TrafficMinCycles(int64_t step_micros) {
  const auto cycles = [step_micros](int64_t micros) {
    return static_cast<uint64_t>((micros + step_micros - 1) / step_micros);
  };
  return cycles(kTrafficLeadMicros) + cycles(kTrafficEpisodeMicros) + 1;
}

bool SimHasMqtt() {
#ifdef SENSORGATE_SIM_WITH_MQTT
  return true;
#else
  return false;
#endif
}

bool ParseByteSize(std::string_view text, uint64_t* bytes) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  uint64_t n = 0;
  if (!ParseUint(text.substr(0, digits), &n)) return false;
  const std::string_view unit = text.substr(digits);
  uint64_t scale = 1;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = uint64_t{1} << 10;
  } else if (unit == "MiB") {
    scale = uint64_t{1} << 20;
  } else if (unit == "GiB") {
    scale = uint64_t{1} << 30;
  } else {
    return false;
  }
  if (n > UINT64_MAX / scale) return false;
  *bytes = n * scale;
  return true;
}

std::string SimHelpText() {
  std::string text = kHelpHead;
  for (const OptionSpec& spec : kOptions) {
    if (spec.name == nullptr) {
      text += "\n";
      text += spec.help;
      text += "\n";
      continue;
    }
    std::string left = "  ";
    if (spec.short_name != nullptr) {
      left += spec.short_name;
      left += ", ";
    }
    left += spec.name;
    if (spec.arg != nullptr) {
      left += " ";
      left += spec.arg;
    }
    // The help is re-wrapped by words to fit 79 columns.
    constexpr size_t kColumn = 24;
    constexpr size_t kWidth = 79 - kColumn;
    std::vector<std::string> lines(1);
    std::string_view help = spec.help;
    while (!help.empty()) {
      const size_t end = help.find_first_of(" \n");
      const std::string_view word = help.substr(0, end);
      help = end == std::string_view::npos ? std::string_view() : help.substr(end + 1);
      if (word.empty()) continue;
      if (!lines.back().empty() && lines.back().size() + 1 + word.size() > kWidth) {
        lines.emplace_back();
      }
      if (!lines.back().empty()) lines.back() += ' ';
      lines.back() += word;
    }
    text += left;
    if (left.size() + 1 > kColumn) {
      text += "\n";
      text.append(kColumn, ' ');
    } else {
      text.append(kColumn - left.size(), ' ');
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) text.append(kColumn, ' ');
      text += lines[i];
      text += "\n";
    }
  }
  text += kHelpTail;
  return text;
}

Status ParseSimCommandLine(int argc, const char* const* argv, SimOptions* options,
                           CommandLineAction* action) {
  *action = CommandLineAction::kRun;
  std::vector<std::string_view> given;
  for (int i = 1; i < argc; ++i) {
    std::string_view word = argv[i];
    std::string_view name = word;
    std::string_view value;
    bool has_inline_value = false;
    if (word.size() > 2 && word.substr(0, 2) == "--") {
      const size_t eq = word.find('=');
      if (eq != std::string_view::npos) {
        name = word.substr(0, eq);
        value = word.substr(eq + 1);
        has_inline_value = true;
      }
    }
    const OptionSpec* spec = FindOption(name);
    if (spec == nullptr) {
      if (word.empty() || word[0] != '-' || word == "-") {
        return Status::Error("unexpected argument '" + std::string(word) +
                             "' (sensorgate-sim takes options only)");
      }
      return Status::Error("unknown option '" + std::string(name) + "'");
    }
    if (std::strcmp(spec->name, "--help") == 0) {
      *action = CommandLineAction::kHelp;
      return Status::Ok();
    }
    if (std::strcmp(spec->name, "--version") == 0) {
      *action = CommandLineAction::kVersion;
      return Status::Ok();
    }
    if (spec->arg == nullptr) {
      if (has_inline_value) {
        return Status::Error(std::string(spec->name) + " takes no value");
      }
    } else if (!has_inline_value) {
      if (i + 1 >= argc) {
        return Status::Error(std::string(spec->name) + " needs a value (" + spec->arg + ")");
      }
      value = argv[++i];
    }
    Status s = spec->apply(value, options);
    if (!s.ok()) return s;
    given.push_back(spec->name);
  }
  // Defaults that depend on the profile.
  if (!options->step_given) {
    switch (options->profile) {
      case SimProfile::kTemperature:
        break;
      case SimProfile::kTraffic:
      case SimProfile::kFlows:
        options->step_micros = kMicrosPerSecond;
        break;
      case SimProfile::kProcesses:
        options->step_micros = 10 * kMicrosPerSecond;
        break;
    }
  }
  if (options->profile == SimProfile::kFlows && !Given(given, "--hot")) {
    options->hot = std::min(kDefaultWebServers, options->equipment);
  }
  return CheckTogether(*options, given);
}

}  // namespace sensorgate
