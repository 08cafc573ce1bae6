# Debian packages with CPack: `cpack --config build/release/CPackConfig.cmake -B build/release/packages`
# (tests/run.sh does it) writes tianyi-server_<version>-1_<arch>.deb and tianyi-admin_<version>-1_<arch>.deb.
#   tianyi-server: tianyi-server (web client, personas and knowledge graph are compiled in), tianyi-cli,
#                  /etc/tianyi/tianyi.conf (conffile), the systemd unit, maintainer scripts.
#   tianyi-admin:  the operator console (its translations are compiled in), desktop entry and icon.
# Runtime dependencies come from dpkg-shlibdeps (the libraries the binaries link), plus what is loaded
# at run time and so invisible to it (Qt's SQLite driver) and what the maintainer scripts run.

# The package version; override it (-DTIANYI_PACKAGE_VERSION=...) to build a test package.
set(TIANYI_PACKAGE_VERSION "${PROJECT_VERSION}" CACHE STRING "Version of the Debian packages (default: project version)")

set(TIANYI_DEB_DIR "${PROJECT_SOURCE_DIR}/packaging/deb")
set(TIANYI_DEB_MAINTAINER "tianyi developers <tianyi@example.org>")
set(TIANYI_DEB_VERSION "${TIANYI_PACKAGE_VERSION}-1")

# `cpack` installs only the two packages' targets: packaging must not wait for the test suite to build.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# Documentation every Debian package carries: copyright and a compressed changelog.
configure_file("${TIANYI_DEB_DIR}/changelog.in" "${CMAKE_BINARY_DIR}/packaging/changelog.Debian" @ONLY)
# gzip -9n: maximum compression and no timestamp, as Debian policy (and lintian) want.
execute_process(COMMAND gzip -9nc "${CMAKE_BINARY_DIR}/packaging/changelog.Debian"
                OUTPUT_FILE "${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz" COMMAND_ERROR_IS_FATAL ANY)
foreach(component IN ITEMS server admin)
    install(FILES "${TIANYI_DEB_DIR}/copyright" "${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/tianyi-${component}" COMPONENT ${component})
    install(FILES "${TIANYI_DEB_DIR}/lintian-overrides.tianyi-${component}"
            DESTINATION "${CMAKE_INSTALL_DATADIR}/lintian/overrides" RENAME "tianyi-${component}" COMPONENT ${component})
endforeach()

# tianyi-server's files outside the binaries (which their own CMakeLists install).
# Shipped 0644 as Debian expects; postinst makes it root:tianyi 0640 (the service reads it, others not).
install(FILES "${TIANYI_DEB_DIR}/tianyi.conf" DESTINATION /etc/tianyi COMPONENT server)
install(FILES "${PROJECT_SOURCE_DIR}/packaging/systemd/tianyi-server.service" DESTINATION /lib/systemd/system COMPONENT server)
# tianyi-admin's desktop integration.
install(FILES "${TIANYI_DEB_DIR}/tianyi-admin.desktop" DESTINATION "${CMAKE_INSTALL_DATADIR}/applications" COMPONENT admin)
install(FILES "${TIANYI_DEB_DIR}/tianyi-admin.svg" DESTINATION "${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps" COMPONENT admin)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tianyi)
# Empty, so that each package's synopsis is the first line of its own description below (CPackDeb
# would otherwise put the project's description in front of it).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGE_VERSION "${TIANYI_PACKAGE_VERSION}")
set(CPACK_PACKAGE_VENDOR "tianyi")
set(CPACK_PACKAGE_CONTACT "${TIANYI_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL server admin)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${TIANYI_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME tianyi-server)
# The first line is the synopsis; CPack indents the rest and turns the empty line into " .".
set(CPACK_DEBIAN_SERVER_DESCRIPTION "chat server for many people talking with an AI character
tianyi-server lets many people chat at once, privately, with an AI character
(by default the virtual singer Luo Tianyi): streamed text and synthesized
voice over HTTP and WebSocket on one port, with the web client, persona and
knowledge graph built in. Runs as the tianyi system user under a hardened
systemd unit, configured in /etc/tianyi, data in /var/lib/tianyi.

Also contains tianyi-cli, a command-line chat and load-test client.")
# Loaded at run time, so dpkg-shlibdeps cannot see them: Qt's SQLite driver (the database) and
# espeak-ng's voices (the built-in speech). adduser: the maintainer scripts create the user.
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser, libqt6sql6-sqlite, espeak-ng-data")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    "${TIANYI_DEB_DIR}/conffiles;${TIANYI_DEB_DIR}/postinst;${TIANYI_DEB_DIR}/prerm;${TIANYI_DEB_DIR}/postrm")

set(CPACK_DEBIAN_ADMIN_PACKAGE_NAME tianyi-admin)
set(CPACK_DEBIAN_ADMIN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_ADMIN_DESCRIPTION "operator console for a tianyi chat server
tianyi-admin is a Qt desktop console for the operators of a tianyi server:
open chat sessions, users, turns and metrics, live. English and Simplified
Chinese.")

include(CPack)
