// MockClusterProcess: tests/kafka/kafka_mock_cluster (librdkafka's mock
// cluster, 3 brokers on 127.0.0.1) as a child process of a test, driven
// through its standard input; and the helpers that read a topic back with
// an independent consumer (Debian's kcat) and compute the Java client's
// partition of a key.
#ifndef SENSORGATE_TESTS_KAFKA_MOCK_CLUSTER_PROCESS_H_
#define SENSORGATE_TESTS_KAFKA_MOCK_CLUSTER_PROCESS_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace sensorgate {
namespace testing_util {

class MockClusterProcess {
 public:
  // Starts the cluster with `topics` (3 partitions each) and waits for its
  // bootstrap servers; bootstrap() is empty when it did not start.
  MockClusterProcess(const std::string& binary, const std::vector<std::string>& topics) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
      std::vector<char*> args{const_cast<char*>(binary.c_str())};
      for (const auto& t : topics) args.push_back(const_cast<char*>(t.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    in_ = in[1];
    out_ = out[0];
    bootstrap_ = ReadLine(10000);
  }
  ~MockClusterProcess() {
    if (in_ >= 0) {
      (void)!write(in_, "quit\n", 5);
      close(in_);
    }
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      usleep(50000);  // waiting for the child to exit, polled
    }
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  MockClusterProcess(const MockClusterProcess&) = delete;
  MockClusterProcess& operator=(const MockClusterProcess&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

  // Sends "down", "up", "down 2", ...; true when the cluster answered "ok".
  bool Command(const std::string& cmd) {
    const std::string line = cmd + "\n";
    if (write(in_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return false;
    return ReadLine(10000) == "ok";
  }

 private:
  std::string ReadLine(int timeout_ms) {
    std::string line;
    timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (true) {
      const size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      const long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (spent >= timeout_ms) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(timeout_ms - spent)) <= 0) return "";
      char b[4096];
      const ssize_t n = read(out_, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
  std::string bootstrap_;
};

// The Java client's murmur2 (org.apache.kafka.common.utils.Utils.murmur2),
// written from its definition, independently of librdkafka.
inline int32_t JavaMurmur2(const std::string& data) {
  const uint32_t seed = 0x9747b28c, m = 0x5bd1e995;
  const int r = 24;
  const size_t length = data.size();
  uint32_t h = seed ^ static_cast<uint32_t>(length);
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(data[i])); };
  for (size_t i = 0; i + 4 <= length; i += 4) {
    uint32_t k = b(i) | b(i + 1) << 8 | b(i + 2) << 16 | b(i + 3) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~static_cast<size_t>(3);
  switch (length % 4) {
    case 3:
      h ^= b(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= b(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= b(tail);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

// The partition the Java client's default partitioner picks for a key:
// positive(murmur2(key)) % partitions, positive being `& 0x7fffffff`.
inline int JavaPartition(const std::string& key, int partitions) {
  return static_cast<int>((static_cast<uint32_t>(JavaMurmur2(key)) & 0x7fffffffu) % static_cast<uint32_t>(partitions));
}

}  // namespace testing_util
}  // namespace sensorgate

#endif  // SENSORGATE_TESTS_KAFKA_MOCK_CLUSTER_PROCESS_H_
