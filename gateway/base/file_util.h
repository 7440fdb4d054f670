// File I/O helpers shared by every stage that writes state: whole writes
// (retrying short writes and EINTR), directory fsync, and the atomic replace
// of a small file (temporary file, fsync, rename, directory fsync).
//
// Plain functions on file descriptors and paths; any thread.
#ifndef SENSORGATE_GATEWAY_BASE_FILE_UTIL_H_
#define SENSORGATE_GATEWAY_BASE_FILE_UTIL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/base/status.h"

namespace sensorgate {

// Writes all of `data` to fd. On failure errno says why; false also when
// write() returns 0.
bool WriteAll(int fd, std::string_view data);

// fsync() of a directory, so a rename or a new file in it survives a power
// cut. Errors are ignored (some file systems refuse it).
void SyncDir(const std::string& dir);

// The directory part of `path` ("." when it has none).
std::string DirName(const std::string& path);

// Replaces `path` with `data` atomically: `path`.tmp written (mode `mode`),
// fsynced, renamed over `path`, then the directory fsynced. An error names
// the file and the step that failed.
Status ReplaceFile(const std::string& path, std::string_view data, unsigned mode);

// Reads the whole file at `path` into *out. An error names the file; errno
// is left as the failing call set it (ENOENT: there is no such file).
Status ReadWholeFile(const std::string& path, std::string* out);

// The file a `*_file` key names: `credential:NAME` is the file NAME in
// $CREDENTIALS_DIRECTORY (systemd's LoadCredential=); anything else is a path
// as written. "" when it is a credential and $CREDENTIALS_DIRECTORY is unset,
// or NAME is empty or holds a '/'.
std::string SecretFilePath(const std::string& value);

// The first line of the secret file `value` names (SecretFilePath), without
// its line end. False when it cannot be read (errno says why).
bool ReadSecretLine(const std::string& value, std::string* out);

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_BASE_FILE_UTIL_H_
