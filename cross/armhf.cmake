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
