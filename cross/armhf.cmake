# Cross build for armhf (ARMv7, 32-bit Raspberry Pi OS; Debian's armhf baseline
# is ARMv7 + VFPv3-D16 + Thumb-2, so ARMv6 boards such as the Pi Zero/1 are out):
#   cross/sysroot.sh armhf
#   cmake -S . -B build-cross-armhf -DCMAKE_TOOLCHAIN_FILE=cross/armhf.cmake
# or simply cross/build.sh armhf. See cross/toolchain-common.cmake.
set(SENSORGATE_CROSS_TRIPLET arm-linux-gnueabihf)
set(SENSORGATE_CROSS_PROCESSOR armv7l)
set(SENSORGATE_CROSS_DEB_ARCH armhf)
set(SENSORGATE_CROSS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)

# GCC's -Wpsabi notes ("parameter passing for argument of type ... changed in
# GCC 7.1") concern mixing objects built by GCC < 7.1 with newer ones; all of
# Debian 12's armhf is built by GCC 12. They are notes, not warnings, but
# bury the real ones. simdjson's "designed for 64-bit processors" #pragma
# message is known (its portable kernel is used on armhf) and silenced too.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi -DSIMDJSON_NO_PORTABILITY_WARNING")

# 64-bit off_t, ino_t and struct stat/dirent on 32-bit ARM (glibc's LFS
# interface, which Debian 12's armhf does not default to): without it a log
# file over 2 GiB cannot be opened or read past 2 GiB (pread's off_t wraps),
# and stat()/readdir() fail with EOVERFLOW on file systems with 64-bit inode
# numbers or directory offsets, which loses rotated files' copies, spool
# segments and journal files (the unit tests show it under qemu-arm, whose
# host file system has both). The libraries linked take no off_t, so their
# ABI is unchanged. (64-bit time_t, _TIME_BITS=64, would change the ABI of
# Debian 12's armhf libraries: not set; the 32-bit time_t of armhf runs out in 2038.)
string(APPEND CMAKE_C_FLAGS_INIT " -D_FILE_OFFSET_BITS=64")
string(APPEND CMAKE_CXX_FLAGS_INIT " -D_FILE_OFFSET_BITS=64")
