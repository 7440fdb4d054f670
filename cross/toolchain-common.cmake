# Shared part of cross/aarch64.cmake and cross/armhf.cmake (DESIGN.md section 11).
# The including file sets SENSORGATE_CROSS_TRIPLET, SENSORGATE_CROSS_PROCESSOR,
# SENSORGATE_CROSS_DEB_ARCH and SENSORGATE_CROSS_QEMU before including this.
#
# The target's libraries come from a sysroot of its own Debian packages
# (cross/sysroot.sh), given as -DSENSORGATE_SYSROOT=... or $SENSORGATE_SYSROOT,
# default build-cross-cache/sysroot-<deb arch> in the repository (cross/sysroot.sh
# with $CROSS_CACHE unset). Tests run under qemu-user with
# the sysroot's own loader and libc (`qemu-<cpu> -L <sysroot>`), never the cross
# toolchain's loader paired with a multiarch libc.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${SENSORGATE_CROSS_PROCESSOR})

if(NOT SENSORGATE_SYSROOT)
  if(DEFINED ENV{SENSORGATE_SYSROOT})
    set(SENSORGATE_SYSROOT "$ENV{SENSORGATE_SYSROOT}")
  else()
    get_filename_component(_sg_repo "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
    set(SENSORGATE_SYSROOT "${_sg_repo}/build-cross-cache/sysroot-${SENSORGATE_CROSS_DEB_ARCH}")
  endif()
endif()
set(SENSORGATE_SYSROOT "${SENSORGATE_SYSROOT}" CACHE PATH "Target sysroot made by cross/sysroot.sh")
# try_compile projects re-read this file: hand them the sysroot too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SENSORGATE_SYSROOT)
if(NOT EXISTS "${SENSORGATE_SYSROOT}/usr/include")
  message(FATAL_ERROR "No sysroot at ${SENSORGATE_SYSROOT}: run cross/sysroot.sh ${SENSORGATE_CROSS_DEB_ARCH}")
endif()

set(CMAKE_C_COMPILER ${SENSORGATE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${SENSORGATE_CROSS_TRIPLET}-g++)
set(CMAKE_SYSROOT "${SENSORGATE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${SENSORGATE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${SENSORGATE_CROSS_TRIPLET})

# pkg-config reads only the target's .pc files and prefixes their paths.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR}
    "${SENSORGATE_SYSROOT}/usr/lib/${SENSORGATE_CROSS_TRIPLET}/pkgconfig:${SENSORGATE_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${SENSORGATE_SYSROOT}")

# Indirect dependencies of the shared libraries (libpaho-mqttpp3 -> libssl ...).
set(_sg_rpath_link
    "-Wl,-rpath-link,${SENSORGATE_SYSROOT}/lib/${SENSORGATE_CROSS_TRIPLET}:${SENSORGATE_SYSROOT}/usr/lib/${SENSORGATE_CROSS_TRIPLET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_sg_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_sg_rpath_link}")

# Test binaries (and gtest_discover_tests) run under qemu-user: no binfmt needed.
set(CMAKE_CROSSCOMPILING_EMULATOR ${SENSORGATE_CROSS_QEMU} -L ${SENSORGATE_SYSROOT})
