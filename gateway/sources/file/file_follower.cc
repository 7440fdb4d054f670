#include "gateway/sources/file/file_follower.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <set>
#include <utility>

#include "gateway/sources/file/line_reader.h"
#include "gateway/base/log.h"
#include "gateway/base/text.h"
#include "gateway/parse/record_parser.h"
#include "gateway/base/time_util.h"

namespace sensorgate {
namespace {

// Blank lines before a CSV header skipped at most by one slice.
constexpr size_t kMaxSkippedLines = 4096;

constexpr int kOpenFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
constexpr uint32_t kWatchMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY |
                                IN_CLOSE_WRITE | IN_ONLYDIR;

using ull = unsigned long long;

// "dir/x.log" -> "dir"; "x.log" -> ""; "/x.log" -> "/".
std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool HasGlobChar(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }


// Reads up to n bytes at offset; returns how many were read (fewer at end of file).
size_t PreadFully(int fd, char* buf, size_t n, uint64_t offset) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

std::string ReadHead(int fd, uint64_t n) {
  std::string head(static_cast<size_t>(std::min<uint64_t>(n, kFingerprintBytes)), '\0');
  head.resize(PreadFully(fd, head.data(), head.size(), 0));
  return head;
}

// The end of the last whole line of a file `size` bytes long (0 if none).
uint64_t LastLineEnd(int fd, uint64_t size) {
  char buf[64 * 1024];
  uint64_t end = size;
  while (end > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(end, sizeof buf));
    const uint64_t at = end - n;
    if (PreadFully(fd, buf, n, at) != n) return 0;
    for (size_t i = n; i > 0; --i) {
      if (buf[i - 1] == '\n') return at + i;
    }
    end = at;
  }
  return 0;
}

// Where `id` is now in `dir`, or "" if it is not there.
std::string FindInDirectory(const std::string& dir, uint64_t device, uint64_t inode) {
  DIR* d = ::opendir(dir.empty() ? "." : dir.c_str());
  if (d == nullptr) return "";
  std::string found;
  while (struct dirent* e = ::readdir(d)) {
    if (static_cast<uint64_t>(e->d_ino) != inode) continue;
    const std::string path = JoinPath(dir, e->d_name);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_dev) == device &&
        static_cast<uint64_t>(st.st_ino) == inode && S_ISREG(st.st_mode)) {
      found = path;
      break;
    }
  }
  ::closedir(d);
  return found;
}

// Whether `name` is what a copy of `original` is named ("x.log.1" for "x.log").
bool NamedAfter(const std::string& name, const std::string& original) {
  if (original.empty() || Dirname(name) != Dirname(original)) return false;
  const std::string n = Basename(name), o = Basename(original);
  return n.size() > o.size() && n.compare(0, o.size(), o) == 0;
}

// Whether the file open as `copy_fd`, `size` bytes long, holds the start of
// the one open as `fd`: as long as that one and with the same first bytes.
bool HoldsStartOf(int copy_fd, uint64_t size, int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < size) return false;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size, kFingerprintBytes));
  char a[kFingerprintBytes], b[kFingerprintBytes];
  return PreadFully(copy_fd, a, n, 0) == n && PreadFully(fd, b, n, 0) == n &&
         std::memcmp(a, b, n) == 0;
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Order of generations read in one Poll: older first. By mtime, then, for
// names of one family, "x.log.2" before "x.log.1" before "x.log".
struct GenerationKey {
  struct timespec mtime {};
  std::string stem;     // directory and name without a trailing ".N"
  uint64_t number = 0;  // N, 0 without one
  std::string path;

  GenerationKey(const std::string& p, const struct stat& st) : mtime(st.st_mtim), stem(p), path(p) {
    const size_t dot = p.rfind('.');
    const size_t slash = p.rfind('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return;
    const std::string digits = p.substr(dot + 1);
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return;
    }
    stem = p.substr(0, dot);
    for (char d : digits) number = number * 10 + static_cast<uint64_t>(d - '0');
  }
  bool operator<(const GenerationKey& o) const {
    if (mtime.tv_sec != o.mtime.tv_sec) return mtime.tv_sec < o.mtime.tv_sec;
    if (mtime.tv_nsec != o.mtime.tv_nsec) return mtime.tv_nsec < o.mtime.tv_nsec;
    if (stem != o.stem) return stem < o.stem;
    if (number != o.number) return number > o.number;
    return path < o.path;
  }
};

}  // namespace

uint64_t FileFingerprint(std::string_view head) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : head) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h == 0 ? 1 : h;
}

// One followed file.
struct FileFollower::File {
  uint64_t seq = 0;  // order in which files were found (see ReadAll)
  std::string path;  // the name it was last seen under
  std::string old_path;  // the name before the last rename ("" if none)
  Identity id;
  int fd = -1;
  uint64_t offset = 0;    // end of the last whole line handed on
  std::string head;       // the file's first min(offset, kFingerprintBytes) bytes
  std::string seen;       // its first bytes as last seen, read or not (up to 256)
  uint64_t line = 0;      // number of the last line consumed (see Prescan)
  bool needs_prescan = false;  // lines before `offset` not counted, header not read
  std::unique_ptr<LineReader> reader;  // created at the first read, at `base`
  uint64_t base = 0;
  // CSV header.
  bool header_pending = false;  // not seen yet: the next non-blank line is the header
  std::string header;
  uint64_t header_line = 0;
  uint64_t header_id = 0;  // 0: none
  // Change detection: what fstat() said when the file was last read.
  off_t seen_size = -1;
  off_t max_size = 0;  // the largest size seen: a file never shrinks unless truncated
  struct timespec seen_mtime {};
  int64_t changed_us = 0;  // when it last grew, changed or was rotated
  // Life cycle.
  bool in_glob = true;     // matched by the last scan
  bool renamed = false;    // seen under a new name: a rotated generation
  bool deleted = false;    // no name left
  bool complete = false;   // a copy: read to its very end
  bool recovering = false; // lines are counted as recovered
  bool final_done = false; // final partial line handed on after rotation
  bool pending = false;    // the budget stopped its reading with lines left
  bool error_logged = false;

  ~File() {
    if (fd >= 0) ::close(fd);
  }
  uint64_t Fingerprint() const {
    if (offset == 0) return 0;
    return FileFingerprint(std::string_view(head).substr(
        0, static_cast<size_t>(std::min<uint64_t>(offset, kFingerprintBytes))));
  }
};

// A file matched by the globs and not read (yet): new this Poll, empty, or a
// copy of a followed file (copytruncate in progress).
struct FileFollower::Candidate {
  std::string path;
  Identity id;
  int fd = -1;
  bool seen = true;  // matched by the last scan
  bool has_copy_of = false;
  Identity copy_of;  // the followed file it copies

  ~Candidate() {
    if (fd >= 0) ::close(fd);
  }
};

FileFollower::FileFollower(const FileConfig& config, LineSink* sink)
    : FileFollower(config, sink, FileFollowerOptions()) {}

FileFollower::FileFollower(const FileConfig& config, LineSink* sink,
                           const FileFollowerOptions& options)
    : config_(config),
      sink_(sink),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : SystemClock()) {}

FileFollower::~FileFollower() {
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

int64_t FileFollower::Now() const {
  return clock_->MonotonicUs();
}

FileFollower::File* FileFollower::FindFile(const Identity& id) const {
  for (const auto& f : files_) {
    if (f->id == id) return f.get();
  }
  return nullptr;
}

FileFollower::Scan FileFollower::ScanGlobs() const {
  Scan scan;
  std::set<std::string> paths;
  for (const std::string& pattern : config_.paths) {
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string path = g.gl_pathv[i];
        if (!paths.insert(path).second) continue;
        struct stat st;
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        scan[Identity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}]
            .push_back(std::move(path));
      }
    }
    ::globfree(&g);
  }
  return scan;
}

void FileFollower::WatchDirectories(const Scan& scan) {
  if (inotify_fd_ < 0) return;
  std::set<std::string> dirs;
  for (const std::string& pattern : config_.paths) {
    const std::string dir = Dirname(pattern);
    if (!HasGlobChar(dir)) dirs.insert(dir.empty() ? "." : dir);
  }
  for (const auto& entry : scan) {
    for (const std::string& path : entry.second) {
      const std::string dir = Dirname(path);
      dirs.insert(dir.empty() ? "." : dir);
    }
  }
  for (const std::string& dir : dirs) {
    if (watches_.count(dir) != 0) continue;
    const int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask);
    if (wd >= 0) watches_[dir] = wd;
  }
}

bool FileFollower::settled() const {
  // Files not followed (the budget, open() failing) are tried at each scan.
  if (inotify_fd_ < 0 || !queue_.empty() || !unfollowed_.empty()) return false;
  const auto watched = [this](const std::string& path) {
    const std::string dir = Dirname(path);
    return watches_.count(dir.empty() ? "." : dir) != 0;
  };
  for (const std::string& pattern : config_.paths) {
    // A folder not there yet: its creation is seen by a scan only.
    if (!HasGlobChar(Dirname(pattern)) && !watched(pattern)) return false;
  }
  for (const auto& f : files_) {
    if (!f->in_glob || f->renamed || f->deleted || f->complete || !watched(f->path)) return false;
  }
  return true;
}

void FileFollower::DrainInotify() {
  if (inotify_fd_ < 0) return;
  alignas(struct inotify_event) char buf[4096];
  while (true) {
    const ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(struct inotify_event)) <= n;) {
      struct inotify_event ev;
      std::memcpy(&ev, buf + at, sizeof ev);
      if (ev.len > 0 && (ev.mask & (IN_MODIFY | IN_CLOSE_WRITE)) != 0) {
        // A file changed: check it even if its size and mtime look the same
        // (a rewrite to the same size within one clock tick).
        const char* name = buf + at + sizeof(struct inotify_event);
        const std::string file(name, strnlen(name, ev.len));  // NUL-padded
        for (const auto& w : watches_) {
          if (w.second != ev.wd) continue;
          dirty_.insert(JoinPath(w.first, file));
          if (w.first == ".") dirty_.insert(file);  // as glob names files of "*.log"
        }
      }
      if ((ev.mask & IN_IGNORED) != 0) {
        // The directory went away: watch it again when it is back.
        for (auto it = watches_.begin(); it != watches_.end();) {
          it = it->second == ev.wd ? watches_.erase(it) : std::next(it);
        }
      }
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + ev.len);
    }
  }
}

std::unique_ptr<FileFollower::File> FileFollower::NewFile(const std::string& path, int fd,
                                                          const struct stat& st, uint64_t offset) {
  auto f = std::make_unique<File>();
  f->path = path;
  f->id = Identity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  f->fd = fd;
  f->offset = offset;
  f->head = ReadHead(fd, offset);
  f->seen = ReadHead(fd, static_cast<uint64_t>(st.st_size));
  f->needs_prescan = offset > 0;
  f->max_size = st.st_size;
  f->header_pending = config_.format == RecordFormat::kCsv && offset == 0;
  // Idle since its last write, as far as the clocks tell.
  const int64_t age_us = clock_->WallUs() - (static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 +
                                               st.st_mtim.tv_nsec / 1000);
  f->changed_us = Now() - std::max<int64_t>(0, age_us);
  return f;
}

std::unique_ptr<FileFollower::Candidate> FileFollower::TakeCandidate(const Identity& id) {
  for (auto it = candidates_.begin(); it != candidates_.end(); ++it) {
    if ((*it)->id == id) {
      std::unique_ptr<Candidate> c = std::move(*it);
      candidates_.erase(it);
      return c;
    }
  }
  return nullptr;
}

bool FileFollower::MatchesGlobs(const std::string& path) const {
  for (const std::string& pattern : config_.paths) {
    if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) return true;
  }
  return false;
}

std::string FileFollower::NameInGlobs(const std::string& path, const Identity& id) const {
  const std::string now_at = FindInDirectory(Dirname(path), id.device, id.inode);
  return !now_at.empty() && MatchesGlobs(now_at) ? now_at : "";
}

void FileFollower::UpdateNames(const Scan& scan) {
  for (auto& f : files_) {
    const auto it = scan.find(f->id);
    std::string name;
    if (it != scan.end()) {
      const std::vector<std::string>& names = it->second;
      name = std::find(names.begin(), names.end(), f->path) != names.end() ? f->path
                                                                           : names.front();
    } else if (f->in_glob) {
      // glob() lists names, then stat()s them: a file renamed in between (as
      // when x.log.1 .. x.log.N are shifted) can be missed.
      name = NameInGlobs(f->path, f->id);
    }
    if (!name.empty()) {
      if (name != f->path) {
        // A rotated file shifted on (x.log.1 -> x.log.2) is no new rotation.
        Log(f->renamed ? LogLevel::kDebug : LogLevel::kInfo, "%s was rotated to %s",
            f->path.c_str(), name.c_str());
        if (!f->renamed) ++stats_.rotations;
        f->old_path = f->path;
        f->path = name;
        f->renamed = true;
        f->final_done = false;
        f->changed_us = Now();
      }
      f->in_glob = true;
      continue;
    }
    if (!f->in_glob) continue;
    f->in_glob = false;
    f->changed_us = Now();
    struct stat st;
    if (::fstat(f->fd, &st) == 0 && st.st_nlink == 0) continue;  // deleted: ReadOne says so
    const std::string now_at = FindInDirectory(Dirname(f->path), f->id.device, f->id.inode);
    Log(LogLevel::kInfo, "%s was rotated out of the followed paths%s%s; reading what is left of it",
        f->path.c_str(), now_at.empty() ? "" : " to ", now_at.c_str());
    if (!now_at.empty()) {
      f->old_path = f->path;
      f->path = now_at;
    }
    if (!f->renamed) ++stats_.rotations;
    f->renamed = true;
  }
}

void FileFollower::TakeCandidates(const Scan& scan) {
  for (auto& c : candidates_) c->seen = false;
  unfollowed_.clear();
  over_budget_ = 0;
  std::vector<std::string> still_failing;
  std::string first_over_budget;
  for (const auto& entry : scan) {
    if (FindFile(entry.first) != nullptr) continue;
    const std::string& path = entry.second.front();
    bool known = false;
    for (auto& c : candidates_) {
      if (c->id == entry.first) {
        c->seen = true;
        c->path = path;
        known = true;
      }
    }
    if (known) continue;
    if (options_.max_open_files > 0 && files_.size() + candidates_.size() >= options_.max_open_files) {
      unfollowed_.push_back({path, "open-file budget used up"});
      if (over_budget_++ == 0) first_over_budget = path;
      continue;
    }
    const int fd = ::open(path.c_str(), kOpenFlags);
    if (fd < 0 && errno == ENOENT) continue;  // renamed since the scan: the next one sees it
    if (fd < 0) {
      const int err = errno;
      unfollowed_.push_back({path, std::strerror(err)});
      if (err == EMFILE || err == ENFILE) {
        if (over_budget_++ == 0) first_over_budget = path;  // the process's (or the system's) limit: logged below, once
      } else if (std::find(open_failed_.begin(), open_failed_.end(), path) == open_failed_.end()) {
        Log(LogLevel::kWarning, "%s: cannot open: %s", path.c_str(), std::strerror(err));
      }
      still_failing.push_back(path);
      continue;
    }
    struct stat st;
    const Identity id = entry.first;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        !(Identity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)} == id)) {
      ::close(fd);  // replaced since the scan: the next scan sees the new file
      continue;
    }
    auto c = std::make_unique<Candidate>();
    c->path = path;
    c->id = id;
    c->fd = fd;
    candidates_.push_back(std::move(c));
  }
  open_failed_ = std::move(still_failing);
  if (over_budget_ > over_budget_logged_) {
    Log(LogLevel::kError,
        "%zu matching files are not followed: %zu files are open, the most this gateway may keep "
        "open (raise LimitNOFILE, or match fewer files); first: %s",
        over_budget_, files_.size() + candidates_.size(), first_over_budget.c_str());
  } else if (over_budget_ == 0 && over_budget_logged_ > 0) {
    Log(LogLevel::kInfo, "every matching file is followed again");
  }
  over_budget_logged_ = over_budget_;
}

// Whether the file open as `fd`, `size` bytes long, starts with what was seen
// of `f`: a copy of `f` made before a truncation not noticed yet.
bool FileFollower::StartsWithSeen(int fd, uint64_t size, const File& f) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(size, f.seen.size()));
  char buf[kFingerprintBytes];
  return n > 0 && PreadFully(fd, buf, n, 0) == n && std::memcmp(buf, f.seen.data(), n) == 0;
}

void FileFollower::ClassifyCandidates(FileList* generations) {
  for (auto it = candidates_.begin(); it != candidates_.end();) {
    Candidate& c = **it;
    struct stat st;
    if (!c.seen) {
      const std::string name = NameInGlobs(c.path, c.id);  // missed by a racing scan?
      if (!name.empty()) {
        c.seen = true;
        c.path = name;
      }
    }
    // A copy that left the globs is forgotten; so is an empty file.
    if (::fstat(c.fd, &st) != 0 || (!c.seen && (c.has_copy_of || st.st_size == 0))) {
      it = candidates_.erase(it);
      continue;
    }
    if (st.st_size == 0) {  // undecided until it has content
      ++it;
      continue;
    }
    // Once taken for a copy, it stays one until the original is truncated
    // (it is then recovered from) or gone: the truncation may come between
    // two looks at the original, which would then no longer match.
    if (c.has_copy_of &&
        (FindFile(c.copy_of) != nullptr ||
         std::any_of(candidates_.begin(), candidates_.end(),
                     [&c](const std::unique_ptr<Candidate>& m) { return m->id == c.copy_of; }))) {
      ++it;
      continue;
    }
    // A copy in progress (or made and not yet followed by the truncation) of
    // a followed file or of another new one, named after it.
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const std::string* original = nullptr;
    Identity original_id;
    for (const FileList* list :
         {static_cast<const FileList*>(&files_), static_cast<const FileList*>(generations)}) {
      for (const auto& f : *list) {
        if (original == nullptr && !f->deleted &&
            (NamedAfter(c.path, f->path) || NamedAfter(c.path, f->old_path)) &&
            (HoldsStartOf(c.fd, size, f->fd) || StartsWithSeen(c.fd, size, *f))) {
          original = &f->path;
          original_id = f->id;
        }
      }
    }
    for (const auto& m : candidates_) {
      if (original == nullptr && m.get() != &c && NamedAfter(c.path, m->path) &&
          HoldsStartOf(c.fd, size, m->fd)) {
        original = &m->path;
        original_id = m->id;
      }
    }
    if (original != nullptr) {
      if (!c.has_copy_of || !(c.copy_of == original_id)) {
        Log(LogLevel::kInfo, "%s starts as %s does: taken for a copy of it (copytruncate), not read",
            c.path.c_str(), original->c_str());
      }
      c.has_copy_of = true;
      c.copy_of = original_id;
      ++it;
      continue;
    }
    // A new file. If it was renamed out of the globs (or deleted) since it was
    // seen empty, it is still read, then closed like any rotated file.
    std::unique_ptr<File> f = NewFile(c.path, c.fd, st, 0);
    c.fd = -1;
    if (!c.seen) {
      f->in_glob = false;
      f->renamed = true;
      const std::string now_at = FindInDirectory(Dirname(c.path), c.id.device, c.id.inode);
      if (!now_at.empty()) f->path = now_at;
    }
    generations->push_back(std::move(f));
    it = candidates_.erase(it);
  }
}

// Searches the directory of `truncated` for copies of it: files whose names
// begin with its name ("x.log.1", "x.log-20240101") and that start with
// `seen`, its first bytes as last seen (as far as the copy goes, at least
// min(offset, 256) of them), or, with `seen` empty (after a restart), whose
// first min(offset, 256) bytes hash to `fingerprint`. The newest (by mtime,
// then size) at least `offset` long comes first in the result, to be read
// from `offset`. Then, followed at their end, as everything in them was
// handed on already: other matches the globs match not longer than `offset`,
// and candidates taken for copies of `truncated`.
FileFollower::FileList FileFollower::RecoverFromCopy(const File& truncated, uint64_t offset,
                                                     uint64_t fingerprint,
                                                     const std::string& seen) {
  FileList out;
  const std::string dir = Dirname(truncated.path);
  // Copies are named after the file as it was when copied: its name now or,
  // if it was renamed since (rotated after the copy), its name before.
  std::vector<std::string> bases = {Basename(truncated.path)};
  if (!truncated.old_path.empty() && Dirname(truncated.old_path) == dir) {
    bases.push_back(Basename(truncated.old_path));
  }
  struct Found {
    std::string path;
    int fd;
    struct stat st;
  };
  std::vector<Found> found;
  const uint64_t k = std::min<uint64_t>(offset, kFingerprintBytes);
  if ((offset > 0 && fingerprint != 0) || seen.size() >= std::max<uint64_t>(k, 1)) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.empty() ? "." : dir.c_str())) {
      while (struct dirent* e = ::readdir(d)) {
        for (const std::string& base : bases) {
          if (std::strncmp(e->d_name, base.c_str(), base.size()) == 0 && base != e->d_name) {
            names.emplace_back(e->d_name);
            break;
          }
        }
      }
      ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string path = JoinPath(dir, name);
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
          static_cast<uint64_t>(st.st_size) < k) {
        continue;
      }
      const Identity id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
      if (id == truncated.id || FindFile(id) != nullptr) continue;
      const int fd = ::open(path.c_str(), kOpenFlags);
      if (fd < 0) continue;
      struct stat fst;
      bool match = ::fstat(fd, &fst) == 0;
      if (match && !seen.empty()) {
        // What was seen of its start, as far as the copy goes (at least what
        // was read of it).
        const std::string start = ReadHead(fd, static_cast<uint64_t>(fst.st_size));
        const size_t n = std::min(start.size(), seen.size());
        match = n >= k && n > 0 && start.compare(0, n, seen, 0, n) == 0;
      } else if (match) {
        match = FileFingerprint(ReadHead(fd, k)) == fingerprint;
      }
      if (!match) {
        ::close(fd);
        continue;
      }
      found.push_back(Found{path, fd, fst});
    }
  }
  // The copy to recover from: the newest at least `offset` long.
  Found* best = nullptr;
  for (Found& x : found) {
    if (static_cast<uint64_t>(x.st.st_size) < offset) continue;
    if (best == nullptr || best->st.st_mtim.tv_sec < x.st.st_mtim.tv_sec ||
        (best->st.st_mtim.tv_sec == x.st.st_mtim.tv_sec &&
         (best->st.st_mtim.tv_nsec < x.st.st_mtim.tv_nsec ||
          (best->st.st_mtim.tv_nsec == x.st.st_mtim.tv_nsec && best->st.st_size < x.st.st_size)))) {
      best = &x;
    }
  }
  if (best != nullptr) {
    TakeCandidate(
        Identity{static_cast<uint64_t>(best->st.st_dev), static_cast<uint64_t>(best->st.st_ino)});
    Log(LogLevel::kInfo, "%s: reading the lines after offset %llu from its copy %s (%llu bytes)",
        truncated.path.c_str(), static_cast<ull>(offset), best->path.c_str(),
        static_cast<ull>(best->st.st_size));
    auto f = NewFile(best->path, best->fd, best->st, offset);
    best->fd = -1;
    f->in_glob = MatchesGlobs(f->path);  // it may be newer than the last scan
    f->complete = true;
    f->recovering = true;
    if (!truncated.needs_prescan) {
      f->needs_prescan = false;
      f->line = truncated.line;
      f->header_pending = truncated.header_pending;
      f->header = truncated.header;
      f->header_line = truncated.header_line;
      f->header_id = truncated.header_id;
    }
    out.push_back(std::move(f));
  } else if (offset > 0 || !seen.empty()) {
    Log(LogLevel::kInfo,
        "%s: no copy of it found; lines written after offset %llu before the truncation, if "
        "any, are lost",
        truncated.path.c_str(), static_cast<ull>(offset));
  }
  for (Found& x : found) {
    if (x.fd < 0) continue;
    const Identity id{static_cast<uint64_t>(x.st.st_dev), static_cast<uint64_t>(x.st.st_ino)};
    if (static_cast<uint64_t>(x.st.st_size) <= offset && MatchesGlobs(x.path)) {
      TakeCandidate(id);
      auto f = NewFile(x.path, x.fd, x.st, static_cast<uint64_t>(x.st.st_size));
      x.fd = -1;
      f->complete = true;
      out.push_back(std::move(f));
      continue;
    }
    ::close(x.fd);
  }
  for (auto it = candidates_.begin(); it != candidates_.end();) {
    Candidate& c = **it;
    struct stat st;
    if (!c.has_copy_of || !(c.copy_of == truncated.id) || ::fstat(c.fd, &st) != 0) {
      ++it;
      continue;
    }
    auto f = NewFile(c.path, c.fd, st, static_cast<uint64_t>(st.st_size));
    c.fd = -1;
    f->complete = true;
    out.push_back(std::move(f));
    it = candidates_.erase(it);
  }
  return out;
}

void FileFollower::Restore(const FilePosition& p) {
  const Identity id{p.device, p.inode};
  if (FindFile(id) != nullptr) return;  // listed twice
  std::string path;
  int fd = -1;
  bool in_glob = false;
  if (std::unique_ptr<Candidate> c = TakeCandidate(id)) {
    path = c->path;
    fd = c->fd;
    c->fd = -1;
    in_glob = true;
  } else {
    struct stat st;
    if (::stat(p.path.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_dev) == p.device &&
        static_cast<uint64_t>(st.st_ino) == p.inode) {
      path = p.path;
    } else {
      path = FindInDirectory(Dirname(p.path), p.device, p.inode);
    }
    if (!path.empty()) fd = ::open(path.c_str(), kOpenFlags);
  }
  struct stat st;
  if (fd >= 0 && (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_dev) != p.device ||
                  static_cast<uint64_t>(st.st_ino) != p.inode)) {
    ::close(fd);
    fd = -1;
  }
  if (fd < 0) {
    Log(LogLevel::kWarning,
        "%s: the file followed there (device %llu, inode %llu) is gone; lines written to it "
        "after offset %llu, if any, may have been lost",
        p.path.c_str(), static_cast<ull>(p.device), static_cast<ull>(p.inode),
        static_cast<ull>(p.offset));
    return;
  }
  if (p.offset == 0) {
    // Nothing was read from it: it is judged as a new file (it may be a copy).
    auto c = std::make_unique<Candidate>();
    c->path = path;
    c->id = id;
    c->fd = fd;
    c->seen = in_glob;
    candidates_.push_back(std::move(c));
    return;
  }
  auto f = NewFile(path, fd, st, p.offset);
  f->in_glob = in_glob;
  f->renamed = path != p.path;
  if (f->renamed) f->old_path = p.path;
  const bool same = static_cast<uint64_t>(st.st_size) >= p.offset &&
                    (p.offset == 0 || p.fingerprint == 0 || f->Fingerprint() == p.fingerprint);
  if (same) {
    if (f->renamed) {
      Log(LogLevel::kInfo, "%s was rotated to %s while the gateway was stopped", p.path.c_str(),
          path.c_str());
      ++stats_.rotations;
    }
    Follow(std::move(f));
    return;
  }
  // Truncated or rewritten while stopped (copytruncate, maybe followed by a
  // rename), or another file given the inode number of one deleted: the
  // lines after the offset are looked for in a copy, and what is there now
  // is judged as a new file.
  ++stats_.truncations;
  Log(LogLevel::kInfo,
      "%s%s%s: not the content read before the gateway stopped (%llu bytes, read to %llu): "
      "taken for a new file",
      path.c_str(), f->renamed ? ", followed as " : "", f->renamed ? p.path.c_str() : "",
      static_cast<ull>(st.st_size), static_cast<ull>(p.offset));
  FileList copies = RecoverFromCopy(*f, p.offset, p.fingerprint, "");
  for (auto& c : copies) Follow(std::move(c));
  if (!in_glob) return;
  // What is there now is judged as a new file (it may be a copy of another).
  auto c = std::make_unique<Candidate>();
  c->path = path;
  c->id = id;
  c->fd = f->fd;
  f->fd = -1;
  candidates_.push_back(std::move(c));
}

Status FileFollower::Start(const std::vector<FilePosition>& restored) {
  if (started_) return Status::Error("file follower: started twice");
  started_ = true;
  last_scan_us_ = Now();
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    Log(LogLevel::kWarning, "inotify unavailable (%s): polling the followed files every second",
        std::strerror(errno));
  }
  const Scan scan = ScanGlobs();
  WatchDirectories(scan);
  TakeCandidates(scan);
  FileList generations;
  for (const FilePosition& p : restored) Restore(p);
  if (restored.empty()) {
    // First start: `from` decides for the files present now.
    for (auto& c : candidates_) {
      struct stat st;
      if (::fstat(c->fd, &st) != 0) continue;
      const uint64_t offset =
          config_.from_beginning ? 0 : LastLineEnd(c->fd, static_cast<uint64_t>(st.st_size));
      generations.push_back(NewFile(c->path, c->fd, st, offset));
      c->fd = -1;
    }
    candidates_.clear();
  } else {
    ClassifyCandidates(&generations);
  }
  for (const auto& f : files_) {
    Log(LogLevel::kInfo, "following %s from offset %llu", f->path.c_str(),
        static_cast<ull>(f->offset));
  }
  AppendGenerations(&generations);
  return Status::Ok();
}

void FileFollower::Follow(std::unique_ptr<File> f) {
  f->seq = ++next_seq_;
  files_.push_back(std::move(f));
}

void FileFollower::AppendGenerations(FileList* generations) {
  // Files found in one Poll: oldest first, so that when their mtimes tie
  // (a clock tick is coarse), the order they were found in decides.
  std::vector<std::pair<GenerationKey, size_t>> order;
  for (size_t i = 0; i < generations->size(); ++i) {
    const File& f = *(*generations)[i];
    struct stat st;
    if (::fstat(f.fd, &st) != 0) std::memset(&st, 0, sizeof st);
    order.emplace_back(GenerationKey(f.path, st), i);
  }
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& o : order) {
    std::unique_ptr<File>& f = (*generations)[o.second];
    Log(LogLevel::kInfo, "following %s from offset %llu", f->path.c_str(),
        static_cast<ull>(f->offset));
    Follow(std::move(f));
  }
  generations->clear();
}

bool FileFollower::Truncated(File* f, const struct stat& st) {
  uint64_t read_pos = f->offset;
  if (f->reader) {
    const off_t pos = ::lseek(f->fd, 0, SEEK_CUR);
    if (pos >= 0) read_pos = static_cast<uint64_t>(pos);
  }
  if (static_cast<uint64_t>(st.st_size) < read_pos || st.st_size < f->max_size) return true;
  // Its first bytes, read or only seen, must still be there.
  const std::string& known = f->seen.size() >= f->head.size() ? f->seen : f->head;
  char buf[kFingerprintBytes];
  const size_t n = known.size();
  if (n > 0 && (PreadFully(f->fd, buf, n, 0) != n || std::memcmp(buf, known.data(), n) != 0)) {
    return true;
  }
  if (f->seen.size() < kFingerprintBytes && static_cast<uint64_t>(st.st_size) > f->seen.size()) {
    f->seen = ReadHead(f->fd, static_cast<uint64_t>(st.st_size));
  }
  return false;
}

void FileFollower::Prescan(File* f) {
  f->needs_prescan = false;
  const bool csv = config_.format == RecordFormat::kCsv;
  bool header_pending = csv;
  uint64_t lines = 0;
  bool counted = false;
  if (::lseek(f->fd, 0, SEEK_SET) == 0) {
    LineReader r(f->fd, kMaxRecordBytes);
    std::string_view line;
    counted = true;
    while (r.consumed() < f->offset) {
      if (!header_pending && r.consumed() >= kLineCountLimit) {
        counted = false;
        break;
      }
      const LineReader::Result res = r.Next(&line, /*final_partial=*/false);
      if (res != LineReader::Result::kLine && res != LineReader::Result::kTooLong) {
        counted = false;
        break;
      }
      ++lines;
      if (res == LineReader::Result::kLine && header_pending && !IsBlank(line)) {
        header_pending = false;
        f->header.assign(line);
        f->header_line = lines;
        f->header_id = ++next_header_id_;
      }
    }
  }
  f->header_pending = header_pending;
  f->line = counted ? lines : 0;
  if (!counted) {
    Log(LogLevel::kInfo, "%s: line numbers count from offset %llu", f->path.c_str(),
        static_cast<ull>(f->offset));
  }
}

// Whether a read of `f` stopped between two lines has more to hand on: a
// line buffered, or bytes on disk past what was read.
bool FileFollower::MoreToRead(const File& f, bool final_partial) const {
  if (!f.reader) return false;
  if (f.reader->HasLine() || (final_partial && f.reader->buffered() > 0)) return true;
  struct stat st;
  const off_t pos = ::lseek(f.fd, 0, SEEK_CUR);
  return pos >= 0 && ::fstat(f.fd, &st) == 0 && st.st_size > pos;
}

// Hands on the lines of `f` from its read position, at most `limit` of them
// (OnLine + OnTooLong); sets f->pending when it stopped there with more left.
size_t FileFollower::ReadLines(File* f, bool final_partial, size_t limit) {
  f->pending = false;
  if (!f->reader) {
    if (f->needs_prescan) Prescan(f);
    if (::lseek(f->fd, static_cast<off_t>(f->offset), SEEK_SET) < 0) return 0;
    f->base = f->offset;
    f->reader = std::make_unique<LineReader>(f->fd, kMaxRecordBytes);
  }
  const bool csv = config_.format == RecordFormat::kCsv;
  size_t handed = 0;
  size_t skipped = 0;  // blank lines before a CSV header: not handed on, bounded too
  bool verified = false;
  std::string_view line;
  while (true) {
    if (handed >= limit || skipped >= kMaxSkippedLines) {
      f->pending = MoreToRead(*f, final_partial);
      break;
    }
    const LineReader::Result r = f->reader->Next(&line, final_partial);
    if (r == LineReader::Result::kNeedMore || r == LineReader::Result::kEnd) break;
    if (r == LineReader::Result::kError) {
      if (!f->error_logged) {
        Log(LogLevel::kWarning, "%s: %s", f->path.c_str(), f->reader->status().message().c_str());
        f->error_logged = true;
      }
      break;
    }
    if (!verified) {
      // The data is read now: if the file's first bytes changed since it was
      // last checked, it was truncated in between and what was read may be
      // of its next generation. Nothing is handed on; the next Poll sees it.
      verified = true;
      const std::string& known = f->seen.size() >= f->head.size() ? f->seen : f->head;
      char buf[kFingerprintBytes];
      const size_t n = known.size();
      if (n > 0 && (PreadFully(f->fd, buf, n, 0) != n || std::memcmp(buf, known.data(), n) != 0)) {
        f->reader.reset();
        f->seen_size = -1;
        break;
      }
    }
    const uint64_t end = f->base + f->reader->consumed();
    const uint64_t delta = end - f->offset;
    // Keep the first bytes for the fingerprint: from the line itself when its
    // terminator is known, else read back from the file.
    if (f->head.size() < kFingerprintBytes && f->head.size() == f->offset) {
      if (r == LineReader::Result::kLine && !final_partial &&
          (delta == line.size() + 1 || delta == line.size() + 2)) {
        f->head.append(line.data(), line.size());
        f->head.append(delta == line.size() + 2 ? "\r\n" : "\n");
        if (f->head.size() > kFingerprintBytes) f->head.resize(kFingerprintBytes);
      } else {
        f->head = ReadHead(f->fd, end);
      }
    }
    f->offset = end;
    ++f->line;
    stats_.bytes += delta;
    const RecordOrigin origin{f->path, f->line};
    if (r == LineReader::Result::kTooLong) {
      ++handed;
      if (f->recovering) ++stats_.recovered_lines;
      sink_->OnTooLong(origin);
      continue;
    }
    if (f->header_pending) {
      if (IsBlank(line)) {
        ++skipped;
        continue;
      }
      f->header_pending = false;
      f->header.assign(line);
      f->header_line = f->line;
      f->header_id = ++next_header_id_;
      continue;
    }
    if (csv && f->header_id != 0 && f->header_id != header_sent_) {
      header_sent_ = f->header_id;
      sink_->OnHeader(f->header, RecordOrigin{f->path, f->header_line});
    }
    ++handed;
    if (f->recovering) ++stats_.recovered_lines;
    sink_->OnLine(line.data(), line.size(), origin);
  }
  stats_.lines += handed;
  return handed;
}

bool FileFollower::Dirty(const std::string& path) const {
  return dirty_.count(path) != 0 || cycle_dirty_.count(path) != 0;
}

bool FileFollower::Changed(const File& f, const struct stat& st) const {
  return st.st_size != f.seen_size || !SameTime(st.st_mtim, f.seen_mtime) || Dirty(f.path);
}

bool FileFollower::CheckTruncations() {
  FileList truncated;
  for (auto it = files_.begin(); it != files_.end();) {
    File* f = it->get();
    struct stat st;
    if (::fstat(f->fd, &st) != 0 || !Changed(*f, st) || !Truncated(f, st)) {
      ++it;
      continue;
    }
    ++stats_.truncations;
    Log(LogLevel::kInfo, "%s was truncated or rewritten (%llu bytes, read to %llu)",
        f->path.c_str(), static_cast<ull>(st.st_size), static_cast<ull>(f->offset));
    truncated.push_back(std::move(*it));
    it = files_.erase(it);
  }
  if (truncated.empty()) return false;
  // Only then look for copies: a file truncated and rewritten in place may be
  // the copy of another (copytruncate keeping a single copy, x.log.1).
  for (const auto& t : truncated) {
    FileList copies = RecoverFromCopy(*t, t->offset, t->Fingerprint(), t->seen);
    for (auto& c : copies) Follow(std::move(c));
  }
  // What the truncated files hold now is judged as a new file.
  for (auto& t : truncated) {
    if (FindFile(t->id) != nullptr) continue;  // taken for a copy above
    auto c = std::make_unique<Candidate>();
    c->path = t->path;
    c->id = t->id;
    c->seen = t->in_glob;
    c->fd = t->fd;
    t->fd = -1;
    candidates_.push_back(std::move(c));
  }
  return true;
}

void FileFollower::StartCycle() {
  last_scan_us_ = Now();
  // What inotify reported so far is this cycle's; what comes while it is
  // read (in slices) is kept for the next one.
  cycle_dirty_.insert(dirty_.begin(), dirty_.end());
  dirty_.clear();
  const Scan scan = ScanGlobs();
  WatchDirectories(scan);
  UpdateNames(scan);
  TakeCandidates(scan);  // new files are opened before the old ones are drained
  FileList generations;
  if (CheckTruncations()) {
    // Copies made before the truncation may be newer than the scan.
    const Scan rescan = ScanGlobs();
    UpdateNames(rescan);
    TakeCandidates(rescan);
  }
  ClassifyCandidates(&generations);
  AppendGenerations(&generations);
  // Oldest first: an old generation's last lines were written before a newer
  // file got its first ones. By mtime, then (a clock tick is coarse) by the
  // order the files were found in: a rotated file before its successor, a
  // copy before the file truncated after it.
  std::vector<std::pair<struct timespec, File*>> order;
  order.reserve(files_.size());
  for (const auto& f : files_) {
    struct stat st;
    if (::fstat(f->fd, &st) != 0) std::memset(&st, 0, sizeof st);  // ReadQueue says so
    order.emplace_back(st.st_mtim, f.get());
  }
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    const struct timespec& x = a.first;
    const struct timespec& y = b.first;
    if (x.tv_sec != y.tv_sec) return x.tv_sec < y.tv_sec;
    if (x.tv_nsec != y.tv_nsec) return x.tv_nsec < y.tv_nsec;
    return a.second->seq < b.second->seq;
  });
  queue_.clear();
  for (const auto& o : order) queue_.push_back(o.second);
}

void FileFollower::Close(File* f) {
  files_.erase(std::find_if(files_.begin(), files_.end(),
                            [f](const std::unique_ptr<File>& x) { return x.get() == f; }));
}

// Whether `f` has something to read: left by the budget, or changed since
// it was last read.
bool FileFollower::HasData(const File& f) const {
  if (f.pending) return true;
  struct stat st;
  return ::fstat(f.fd, &st) != 0 || Changed(f, st);
}

size_t FileFollower::ReadQueue(size_t budget) {
  size_t handed = 0;
  size_t next = 0;
  while (next < queue_.size() && handed < budget) {
    File* f = queue_[next];
    struct stat st;
    if (::fstat(f->fd, &st) != 0) {
      Log(LogLevel::kWarning, "%s: cannot stat: %s; no longer followed", f->path.c_str(),
          std::strerror(errno));
      Close(f);
      ++next;
      continue;
    }
    if (!ReadOne(f, st, budget, &handed)) {
      Close(f);
      ++next;
      continue;
    }
    if (f->pending) break;  // the budget ran out inside it
    ++next;
  }
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(next));
  // Stopped by the budget: the rest of the cycle is kept if anything in it
  // waits to be read; else the next Poll starts a new cycle.
  if (!std::any_of(queue_.begin(), queue_.end(), [this](const File* f) { return HasData(*f); })) {
    queue_.clear();
  }
  if (queue_.empty()) cycle_dirty_.clear();
  return handed;
}

bool FileFollower::ReadOne(File* f, const struct stat& st, size_t budget, size_t* handed) {
  const int64_t now = Now();
  const bool changed = Changed(*f, st);
  if (changed || f->pending) {
    if (changed) {
      f->changed_us = now;
      f->final_done = false;
    }
    f->pending = false;
    const off_t pos = f->reader ? ::lseek(f->fd, 0, SEEK_CUR) : static_cast<off_t>(f->offset);
    if (st.st_size < pos || st.st_size < f->max_size) {
      return true;  // truncated since the check: the next cycle sees it
    }
    if (changed) {
      f->seen_size = st.st_size;
      f->seen_mtime = st.st_mtim;
      f->max_size = std::max(f->max_size, st.st_size);
    }
    *handed += ReadLines(f, f->complete, budget - *handed);
    if (f->pending) return true;
  }
  if (st.st_nlink == 0 && !f->deleted) {
    f->deleted = true;
    Log(LogLevel::kInfo, "%s was deleted: reading what is left of it", f->path.c_str());
  }
  const bool idle = now - f->changed_us >= options_.rotate_wait_us;
  bool close = false;
  bool final_partial = false;
  bool final_of_renamed = false;
  if (f->deleted || (!f->in_glob && (f->complete || idle))) {
    final_partial = close = true;
  } else if (f->renamed && !f->final_done && idle) {
    final_partial = final_of_renamed = true;
  }
  if (final_partial && f->reader) {
    *handed += ReadLines(f, /*final_partial=*/true, budget - *handed);
    if (f->pending) return true;  // the final line comes once the rest is read
  }
  if (final_of_renamed) f->final_done = true;
  if (close) {
    Log(LogLevel::kInfo, "%s: closed at offset %llu (%s)", f->path.c_str(),
        static_cast<ull>(f->offset), f->deleted ? "deleted" : "rotated away");
    return false;
  }
  // A copy was read to its end; should it grow, it is followed as any file.
  f->complete = false;
  f->recovering = false;
  return true;
}

size_t FileFollower::Poll(size_t budget) {
  DrainInotify();
  size_t handed = 0;
  if (!queue_.empty()) handed = ReadQueue(budget);  // the rest of the last cycle first
  if (queue_.empty()) {
    StartCycle();
    handed += ReadQueue(budget - handed);
  }
  return handed;
}

uint64_t FileFollower::BacklogBytes() const {
  uint64_t total = 0;
  for (const auto& f : files_) {
    struct stat st;
    if (::fstat(f->fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > f->offset) {
      total += static_cast<uint64_t>(st.st_size) - f->offset;
    }
  }
  return total;
}

std::vector<FilePosition> FileFollower::Positions() const {
  std::vector<FilePosition> out;
  out.reserve(files_.size());
  for (const auto& f : files_) {
    out.push_back(FilePosition{f->path, f->id.device, f->id.inode, f->offset, f->Fingerprint()});
  }
  // Files not classified yet (empty when last seen): if one is rotated away
  // while the gateway is stopped, the restart still finds and reads it.
  for (const auto& c : candidates_) {
    if (!c->has_copy_of) out.push_back(FilePosition{c->path, c->id.device, c->id.inode, 0, 0});
  }
  return out;
}

}  // namespace sensorgate
