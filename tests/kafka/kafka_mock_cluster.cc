// kafka_mock_cluster: librdkafka's mock cluster (rdkafka_mock.h) as a
// process of its own, for the tests and the benchmark.
//
//   kafka_mock_cluster [--brokers N] [--partitions P] TOPIC...
//
// Starts N brokers (3) on 127.0.0.1, creates each TOPIC with P partitions (3)
// and replication factor min(N, 3), prints the bootstrap servers as one line
// on standard output, then reads commands from standard input, one a line:
//   down          every broker stops accepting and drops its connections
//   up            every broker accepts connections again
//   down ID, up ID  one broker (1..N)
//   quit          (or end of input) stops the cluster
// and answers each with "ok" (or "error ...") on standard output.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  int brokers = 3, partitions = 3;
  std::vector<std::string> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
    } else if (a == "--partitions" && i + 1 < argc) {
      partitions = std::atoi(argv[++i]);
    } else {
      topics.push_back(a);
    }
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the cluster; it talks to nobody.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: cannot create the cluster\n");
    return 1;
  }
  for (const auto& t : topics) {
    const rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(mc, t.c_str(), partitions, brokers < 3 ? brokers : 3);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka_mock_cluster: topic %s: %s\n", t.c_str(), rd_kafka_err2str(e));
      return 1;
    }
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);

  char line[256];
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    char cmd[32] = {0};
    int id = -1;
    const int n = std::sscanf(line, "%31s %d", cmd, &id);
    if (n < 1) continue;
    if (n < 2) id = -1;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (std::strcmp(cmd, "quit") == 0) {
      break;
    } else if (std::strcmp(cmd, "down") == 0) {
      if (id >= 0) {
        e = rd_kafka_mock_broker_set_down(mc, id);
      } else {
        for (int b = 1; b <= brokers && !e; ++b) e = rd_kafka_mock_broker_set_down(mc, b);
      }
    } else if (std::strcmp(cmd, "up") == 0) {
      if (id >= 0) {
        e = rd_kafka_mock_broker_set_up(mc, id);
      } else {
        for (int b = 1; b <= brokers && !e; ++b) e = rd_kafka_mock_broker_set_up(mc, b);
      }
    } else {
      std::printf("error unknown command %s\n", cmd);
      std::fflush(stdout);
      continue;
    }
    if (e) {
      std::printf("error %s\n", rd_kafka_err2str(e));
    } else {
      std::printf("ok\n");
    }
    std::fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
