// Records in the sample's format fed to a Pipeline, for the unit tests of
// the stages that take the pipeline's output (metrics, the HTTP sink).
#ifndef SENSORGATE_TESTS_UNIT_PIPELINE_RECORDS_H_
#define SENSORGATE_TESTS_UNIT_PIPELINE_RECORDS_H_

#include <gtest/gtest.h>

#include <string>

#include "gateway/base/json_format.h"
#include "gateway/pipeline/pipeline.h"

namespace sensorgate {
namespace test_records {

// A JSON record in the format of the sample data.
inline std::string Record(const std::string& key_json, double celsius, const std::string& time) {
  std::string r = "{\"sensor\":" + key_json + ",\"padrao\":{\"leitura\":{\"temperatura\":";
  AppendJsonNumber(&r, celsius);
  return r + "}},\"data_evento\":\"" + time + "\"}";
}

// Feeds one record from a buffer with the padding the pipeline requires.
inline void Feed(Pipeline* p, const std::string& record, TimeMicros arrival_us = 0) {
  std::string buf = record;
  buf.append(kRecordPadding, 'x');
  p->ProcessRecord(buf.data(), record.size(), arrival_us, RecordOrigin{"test", 1});
}

// Hot above 75 until below 73; stale after a minute without a reading.
inline Config AlertConfigAbove75() {
  ConfigResult r = LoadConfigText("[alert]\nabove = 75\nclear_below = 73\nstale_after = 1m\n",
                                  "test.ini", ConfigMode::kReplay);
  EXPECT_TRUE(r.ok());
  return r.config;
}

}  // namespace test_records
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_UNIT_PIPELINE_RECORDS_H_
