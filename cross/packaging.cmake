# Debian packages (CPack DEB) for amd64, arm64 and armhf: cross/package.sh or
#   cpack --config <build>/CPackConfig.cmake -G DEB
#
# sensorgate_<version>_<arch>.deb        the stripped binaries, the unit, the
#                                        sysusers and tmpfiles snippets, the
#                                        example configuration (a conffile)
# sensorgate-dbgsym_<version>_<arch>.ddeb their debug symbols, by build ID
#                                        (/usr/lib/debug/.build-id/...)
#
# Depends is computed from the binaries by dpkg-shlibdeps; for a cross build it
# reads the sysroot's own library packages (cross/shlibdeps.sh). The maintainer
# scripts in cross/debian/ create the user, reload systemd, enable and start
# nothing on first install, restart on upgrade if running, keep the state on
# remove and delete it on purge. Included from the top-level CMakeLists.txt.

install(TARGETS sensorgate-sim RUNTIME DESTINATION bin)

# Absolute: a Debian system's paths whatever the prefix (bookworm keeps units
# in /lib/systemd/system; sysusers and tmpfiles snippets in /usr/lib).
set(SENSORGATE_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")
install(FILES ${PROJECT_SOURCE_DIR}/systemd/sensorgate.service DESTINATION ${SENSORGATE_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/sensorgate.sysusers
        DESTINATION /usr/lib/sysusers.d RENAME sensorgate.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/sensorgate.tmpfiles
        DESTINATION /usr/lib/tmpfiles.d RENAME sensorgate.conf)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/sensorgate.ini.example
        DESTINATION /etc/sensorgate RENAME sensorgate.ini)
install(FILES ${PROJECT_SOURCE_DIR}/cross/debian/copyright DESTINATION share/doc/sensorgate)
install(FILES ${PROJECT_BINARY_DIR}/changelog.Debian.gz DESTINATION share/doc/sensorgate)

# Debian wants a compressed changelog (max. compression, no time stamp).
configure_file(${PROJECT_SOURCE_DIR}/cross/debian/changelog.in ${PROJECT_BINARY_DIR}/changelog.Debian @ONLY)
execute_process(COMMAND gzip -9 -n -f -k ${PROJECT_BINARY_DIR}/changelog.Debian)

if(CMAKE_CROSSCOMPILING AND SENSORGATE_CROSS_DEB_ARCH)
  set(_sg_deb_arch ${SENSORGATE_CROSS_DEB_ARCH})
else()
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _sg_deb_arch
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT _sg_deb_arch)
    set(_sg_deb_arch amd64)
  endif()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sensorgate)
set(CPACK_PACKAGE_VENDOR "sensorgate")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Apache-2.0 (LICENSE; cross/debian/copyright says so in DEP-5 for the .deb).
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "small-footprint edge gateway for industrial sensor readings")
# CPack puts CPACK_PACKAGE_DESCRIPTION_SUMMARY first (the synopsis): the body only.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sensorgate reads sensor readings from log files or an MQTT broker, keeps a
 fixed-size window per equipment, raises alerts when an equipment runs hot,
 mails them over SMTP and forwards aggregates to Kafka. It runs as a hardened
 systemd service (not enabled on installation) and includes sensorgate-sim,
 a generator of test readings.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_sg_deb_arch})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "sensorgate developers <sensorgate@example.org>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/sensorgate/sensorgate")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst runs systemd-sysusers, as dh_installsysusers does; the unit's
# ExecReload runs /bin/kill (procps), absent from a minimal system.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-standalone-sysusers | systemd-sysusers, procps")
# libcurl ([email]), librdkafka ([kafka]) and OpenSSL ([mqtt] over TLS) are
# loaded with dlopen() (gateway/base/dynamic_library.h), so dpkg-shlibdeps
# does not see them in sensorgate: named here, the packages of the sonames the
# code opens (libcurl.so.4, librdkafka.so.1, libssl.so.3 and libcrypto.so.3)
# at Debian 12's versions.
if(SENSORGATE_WITH_MQTT)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libssl3 (>= 3.0)")
endif()
if(SENSORGATE_WITH_SMTP)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libcurl4 (>= 7.88)")
endif()
if(SENSORGATE_WITH_KAFKA)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", librdkafka1 (>= 2.0)")
endif()
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cross/debian/conffiles
    ${PROJECT_SOURCE_DIR}/cross/debian/postinst
    ${PROJECT_SOURCE_DIR}/cross/debian/prerm
    ${PROJECT_SOURCE_DIR}/cross/debian/postrm)
set(CPACK_THREADS 2)

if(CMAKE_CROSSCOMPILING)
  # The host's objcopy/readelf do not know the target: use the cross binutils
  # to split the debug symbols, and cross/shlibdeps.sh for Depends.
  set(CPACK_OBJCOPY_EXECUTABLE ${CMAKE_OBJCOPY})
  set(CPACK_READELF_EXECUTABLE ${CMAKE_READELF})
  set(SENSORGATE_CPACK_SYSROOT ${SENSORGATE_SYSROOT})
  configure_file(${PROJECT_SOURCE_DIR}/cross/cpack-cross.cmake.in
                 ${PROJECT_BINARY_DIR}/cpack-cross.cmake @ONLY)
  set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/cpack-cross.cmake)
endif()

include(CPack)
