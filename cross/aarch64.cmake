# Cross build for arm64 (Raspberry Pi 3/4/5 with a 64-bit OS):
#   cross/sysroot.sh arm64
#   cmake -S . -B build-cross-arm64 -DCMAKE_TOOLCHAIN_FILE=cross/aarch64.cmake
# or simply cross/build.sh arm64. See cross/toolchain-common.cmake.
set(SENSORGATE_CROSS_TRIPLET aarch64-linux-gnu)
set(SENSORGATE_CROSS_PROCESSOR aarch64)
set(SENSORGATE_CROSS_DEB_ARCH arm64)
set(SENSORGATE_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
