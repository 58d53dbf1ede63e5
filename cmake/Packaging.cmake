# Debian packages with CPack's DEB generator (component install: one package per component).
# Included by the top-level CMakeLists.txt with -DESTATE_PACKAGE_DEB=ON; scripts/build-debs.sh is the one
# command that uses it. What each package holds, and what a new exporter must add here:
# packaging/debian/README.md.
#
#   component         package                              contents
#   common            estate-exporters-common              the OpenSSL name shim (common/sslcompat) in
#                                                          /usr/lib/estate-exporters, the binaries' rpath
#   assets            estate-exporters-assets              alerts/*.rules.yml, dashboards/*.json, README
#   <name>            estate-<name>-exporter               binary, systemd unit, /etc/default file, config,
#                                                          maintainer scripts (system user, state directory)
#
# The exporters' own CMakeLists.txt install their binary with COMPONENT <name>; common/CMakeLists.txt installs
# the shim with COMPONENT common.

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "ESTATE_PACKAGE_DEB needs -DCMAKE_INSTALL_PREFIX=/usr (the binaries' rpath and the "
                      "units assume /usr/bin and /usr/lib/estate-exporters)")
endif()
include(GNUInstallDirs)  # with prefix /usr: SYSCONFDIR /etc

set(_deb_src "${PROJECT_SOURCE_DIR}/packaging/debian")
set(_deb_gen "${PROJECT_BINARY_DIR}/debian")
file(MAKE_DIRECTORY "${_deb_gen}")

# The Debian version comes from packaging/debian/changelog (its first entry), whose upstream part must be the
# project's version: changelog.Debian.gz and the packages then always agree.
file(STRINGS "${_deb_src}/changelog" _deb_head LIMIT_COUNT 1)
if(NOT _deb_head MATCHES "^estate-exporters \\(([^)-]+)-([^)]+)\\)")
  message(FATAL_ERROR "packaging/debian/changelog: first line must be 'estate-exporters (<version>-<rev>) ...'")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/debian/changelog is at ${CMAKE_MATCH_1}, the project at ${PROJECT_VERSION}: "
                      "add a changelog entry for ${PROJECT_VERSION}")
endif()
set(ESTATE_DEB_REVISION "${CMAKE_MATCH_2}")
set(ESTATE_DEB_VERSION "${PROJECT_VERSION}-${ESTATE_DEB_REVISION}")

# changelog.Debian.gz: gzip -9n (no name, no time stamp: reproducible, and lintian wants it so).
find_program(ESTATE_GZIP gzip REQUIRED)
execute_process(COMMAND "${ESTATE_GZIP}" -9nc "${_deb_src}/changelog"
  OUTPUT_FILE "${_deb_gen}/changelog.Debian.gz" RESULT_VARIABLE _gz_rc)
if(NOT _gz_rc EQUAL 0)
  message(FATAL_ERROR "gzip of packaging/debian/changelog failed")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_deb_src}/changelog")

# What build-debs.sh builds: the packaged binaries and the shim, nothing else (no simulator, no tests).
add_custom_target(estate_deb_targets)
add_dependencies(estate_deb_targets estate_sslcompat estate_cryptocompat)

set(_deb_components common assets)
set(_deb_perm_conf OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(_deb_perm_exec OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# /usr/share/doc/<package>/{copyright,changelog.Debian.gz}, which every package must have, and the package's
# lintian overrides (packaging/debian/lintian/all, plus lintian/<package> if there is one).
function(_estate_deb_docs component package)
  install(FILES "${_deb_src}/copyright" "${_deb_gen}/changelog.Debian.gz"
    DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/${package}" COMPONENT ${component} PERMISSIONS ${_deb_perm_conf})
  file(READ "${_deb_src}/lintian/all" overrides)
  if(EXISTS "${_deb_src}/lintian/${package}")
    file(READ "${_deb_src}/lintian/${package}" more)
    string(APPEND overrides "${more}")
  endif()
  file(WRITE "${_deb_gen}/lintian/${package}" "${overrides}")
  install(FILES "${_deb_gen}/lintian/${package}" DESTINATION "${CMAKE_INSTALL_DATADIR}/lintian/overrides"
    COMPONENT ${component} PERMISSIONS ${_deb_perm_conf})
endfunction()

# Wraps text at 78 columns for a Debian extended description (CPack keeps lines as given); "\n\n" separates
# paragraphs.
function(_estate_deb_wrap out text)
  set(result "")
  set(rest "${text}\n\n")
  while(NOT rest STREQUAL "")
    string(FIND "${rest}" "\n\n" end)
    string(SUBSTRING "${rest}" 0 ${end} para)
    math(EXPR end "${end} + 2")
    string(SUBSTRING "${rest}" ${end} -1 rest)
    string(REGEX REPLACE "[ \n]+" " " para "${para}")
    string(STRIP "${para}" para)
    if(NOT result STREQUAL "")
      string(APPEND result "\n\n")
    endif()
    string(LENGTH "${para}" len)
    while(len GREATER 78)
      string(SUBSTRING "${para}" 0 79 head)
      string(FIND "${head}" " " cut REVERSE)
      if(cut LESS 1)
        string(FIND "${para}" " " cut)  # one long word: a long line
        if(cut LESS 0)
          break()
        endif()
      endif()
      string(SUBSTRING "${para}" 0 ${cut} line)
      math(EXPR cut "${cut} + 1")
      string(SUBSTRING "${para}" ${cut} -1 para)
      string(APPEND result "${line}\n")
      string(LENGTH "${para}" len)
    endwhile()
    string(APPEND result "${para}")
  endwhile()
  set(${out} "${result}" PARENT_SCOPE)
endfunction()

# One exporter's package. name: the exporter's short name (hardware, storage-mapping, ...): the component, the
# config /etc/estate/<name>.yml (packaging/debian/config/<name>.yml), the system user and state directory
# estate-<name>. The unit is packaging/systemd/estate-<name>-exporter.service. summary/description: the
# package's synopsis and extended description.
function(estate_deb_exporter name summary description)
  set(pkg "estate-${name}-exporter")
  set(user "estate-${name}")
  string(TOUPPER "${name}" comp)
  if(NOT TARGET ${pkg})
    message(FATAL_ERROR "estate_deb_exporter(${name}): no target ${pkg}")
  endif()
  add_dependencies(estate_deb_targets ${pkg})

  install(FILES "${PROJECT_SOURCE_DIR}/packaging/systemd/${pkg}.service"
    DESTINATION /lib/systemd/system COMPONENT ${name} PERMISSIONS ${_deb_perm_conf})
  file(WRITE "${_deb_gen}/${pkg}/default"
    "# Extra command-line flags for ${pkg} (read by its systemd unit as $ARGS), e.g.\n"
    "#   ARGS=\"--web.listen-address=:PORT --web.config.file=/etc/estate/web.yml --log.format=json\"\n"
    "# The config file is /etc/estate/${name}.yml (--config.file is set by the unit).\n"
    "# Flags: `${pkg} --help`; apply with `systemctl restart ${pkg}`.\n"
    "ARGS=\"\"\n")
  install(FILES "${_deb_gen}/${pkg}/default" DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default"
    RENAME ${pkg} COMPONENT ${name} PERMISSIONS ${_deb_perm_conf})
  install(FILES "${_deb_src}/config/${name}.yml" DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/estate"
    COMPONENT ${name} PERMISSIONS ${_deb_perm_conf})
  _estate_deb_docs(${name} ${pkg})
  # Its manual page, from its --help (cmake/DebManPage.cmake), built with the binary.
  add_custom_command(OUTPUT "${_deb_gen}/${pkg}.1.gz"
    COMMAND "${CMAKE_COMMAND}" -DEXE=$<TARGET_FILE:${pkg}> -DPKG=${pkg} -DNAME=${name}
      -DVERSION=${PROJECT_VERSION} -DGZIP=${ESTATE_GZIP} -DOUT=${_deb_gen}/${pkg}.1.gz
      -P "${PROJECT_SOURCE_DIR}/cmake/DebManPage.cmake"
    DEPENDS ${pkg} "${PROJECT_SOURCE_DIR}/cmake/DebManPage.cmake" VERBATIM)
  add_custom_target(estate_deb_man_${name} ALL DEPENDS "${_deb_gen}/${pkg}.1.gz")
  add_dependencies(estate_deb_targets estate_deb_man_${name})
  install(FILES "${_deb_gen}/${pkg}.1.gz" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT ${name}
    PERMISSIONS ${_deb_perm_conf})

  # Maintainer scripts and conffiles (CPack marks nothing as a conffile by itself).
  set(PKG "${pkg}")
  set(USER "${user}")
  foreach(script postinst prerm postrm)
    configure_file("${_deb_src}/scripts/${script}.in" "${_deb_gen}/${pkg}/${script}" @ONLY)
  endforeach()
  file(WRITE "${_deb_gen}/${pkg}/conffiles"
    "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/${pkg}\n${CMAKE_INSTALL_FULL_SYSCONFDIR}/estate/${name}.yml\n")

  set(CPACK_DEBIAN_${comp}_PACKAGE_NAME "${pkg}" PARENT_SCOPE)
  set(CPACK_DEBIAN_${comp}_PACKAGE_SECTION net PARENT_SCOPE)
  set(CPACK_DEBIAN_${comp}_PACKAGE_CONTROL_EXTRA
    "${_deb_gen}/${pkg}/conffiles;${_deb_gen}/${pkg}/postinst;${_deb_gen}/${pkg}/prerm;${_deb_gen}/${pkg}/postrm"
    PARENT_SCOPE)
  # Exactly this build's shim: the binaries and the shim are built together.
  # adduser: postinst; procps: /bin/kill of the unit's ExecReload= (not in a minimal system).
  set(CPACK_DEBIAN_${comp}_PACKAGE_DEPENDS "estate-exporters-common (= ${ESTATE_DEB_VERSION}), adduser, procps"
    PARENT_SCOPE)
  set(CPACK_DEBIAN_${comp}_PACKAGE_SUGGESTS "estate-exporters-assets, prometheus" PARENT_SCOPE)
  _estate_deb_wrap(description "${description}")
  set(CPACK_DEBIAN_${comp}_DESCRIPTION "${summary}\n${description}" PARENT_SCOPE)
  set(_deb_components ${_deb_components} ${name} PARENT_SCOPE)
  # Its alert rules and dashboard, if it has them, go in the assets package.
  foreach(asset "alerts/${name}.rules.yml" "dashboards/${name}.json")
    if(EXISTS "${PROJECT_SOURCE_DIR}/${asset}")
      set_property(GLOBAL APPEND PROPERTY ESTATE_DEB_ASSETS "${PROJECT_SOURCE_DIR}/${asset}")
    endif()
  endforeach()
endfunction()

set(_deb_common_text
  "It is one of the estate-exporters, Prometheus exporters in C++ that collect in the background and answer a \
scrape from a snapshot, with node_exporter's flags, TLS and basic auth (--web.config.file) and reload on SIGHUP. \
The package runs it as a hardened systemd service under its own system user; configuration in /etc/estate, extra \
flags in /etc/default. Alert rules and Grafana dashboards are in estate-exporters-assets.")

estate_deb_exporter(hardware "Prometheus exporter for BMC hardware health (Redfish, HPE RIBCL)"
  "estate-hardware-exporter polls server BMCs (HPE iLO 4/5/6, Dell iDRAC, Lenovo XCC, Supermicro and any DMTF \
Redfish service, and HPE RIBCL) for the health of RAID-cache batteries, drives, power supplies, fans, \
temperatures, memory and firmware, and can follow Redfish events (SSE or push) to report a failed part within \
about a second. It listens on port 9840.\n\n${_deb_common_text}")
estate_deb_exporter(storage-mapping "Prometheus exporter mapping Pure FlashArray volumes to OpenStack"
  "estate-storage-mapping-exporter joins Pure FlashArray volumes to OpenStack Cinder volumes, Nova servers and \
their hypervisors, and serves the join as metrics, a JSON API and a lookup page, with a history of past \
mappings. It listens on port 9841.\n\n${_deb_common_text}")
estate_deb_exporter(compliance "Prometheus exporter for InSpec, HDF and OpenSCAP compliance results"
  "estate-compliance-exporter reads InSpec, HDF and OpenSCAP (XCCDF, ARF) results from folders or receives them \
pushed like Chef Automate's data collector, and serves pass/fail counts per host and profile, failing \
controls and an HTML report. It listens on port 9842.\n\n${_deb_common_text}")
estate_deb_exporter(service-registry "Prometheus exporter for apps missing from the ServiceNow CMDB"
  "estate-service-registry-exporter finds the applications (named in VM host names) that run VMs in OpenStack \
or an inventory file without a registered ServiceNow record, with the hypervisor teams and GoCD pipeline users \
as owner hints, as metrics, a JSON API, an HTML report and a daily report of new offenders. It listens on port \
9843.\n\n${_deb_common_text}")

# --- estate-exporters-common: the shim (installed by common/CMakeLists.txt) ----------------------------------
_estate_deb_docs(common estate-exporters-common)
set(CPACK_DEBIAN_COMMON_PACKAGE_NAME estate-exporters-common)
set(CPACK_DEBIAN_COMMON_PACKAGE_SECTION libs)
_estate_deb_wrap(_desc "Debian's civetweb loads OpenSSL by its 1.1 names at run time; one of them is a macro in OpenSSL 3. This package \
holds the two small libraries (libssl.so, libcrypto.so) that provide it on top of the system's OpenSSL 3, in the \
private directory /usr/lib/estate-exporters where only the estate exporters look (their RPATH). Every \
estate exporter package depends on it.")
set(CPACK_DEBIAN_COMMON_DESCRIPTION "private OpenSSL 1.1 name shim for the estate-exporters\n${_desc}")

# --- estate-exporters-assets ----------------------------------------------------------------------------------
set(_assets_dir "${CMAKE_INSTALL_DATADIR}/estate-exporters")
get_property(_assets GLOBAL PROPERTY ESTATE_DEB_ASSETS)  # alerts/<name>.rules.yml, dashboards/<name>.json
foreach(_asset IN LISTS _assets)
  get_filename_component(_kind "${_asset}" DIRECTORY)
  get_filename_component(_kind "${_kind}" NAME)
  install(FILES "${_asset}" DESTINATION "${_assets_dir}/${_kind}" COMPONENT assets PERMISSIONS ${_deb_perm_conf})
endforeach()
install(FILES "${_deb_src}/assets-README.md" DESTINATION "${_assets_dir}" RENAME README.md COMPONENT assets
  PERMISSIONS ${_deb_perm_conf})
_estate_deb_docs(assets estate-exporters-assets)
set(CPACK_DEBIAN_ASSETS_PACKAGE_NAME estate-exporters-assets)
set(CPACK_DEBIAN_ASSETS_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_ASSETS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_ASSETS_PACKAGE_SHLIBDEPS OFF)
set(CPACK_DEBIAN_ASSETS_PACKAGE_SUGGESTS "prometheus, grafana")
_estate_deb_wrap(_desc "Alerting rules (with runbook links) and Grafana dashboards for the estate hardware, storage-mapping, \
compliance and service-registry exporters, in /usr/share/estate-exporters, with a README on loading them with \
rule_files and Grafana's dashboard provisioning.")
set(CPACK_DEBIAN_ASSETS_DESCRIPTION "Prometheus alert rules and Grafana dashboards for the estate-exporters\n${_desc}")

# --- CPack ----------------------------------------------------------------------------------------------------
set(ESTATE_DEB_MAINTAINER "estate-exporters maintainers <maintainers@estate-exporters.example>" CACHE STRING
  "Maintainer field of the Debian packages")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME estate-exporters)
set(CPACK_PACKAGE_VENDOR "estate-exporters")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${ESTATE_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL ${_deb_components})
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_PACKAGE_SOURCE estate-exporters)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${ESTATE_DEB_REVISION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ESTATE_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/estate-exporters/estate-exporters")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Depends from dpkg-shlibdeps. The exporters need the shim's SONAMEs (libssl.so, libcrypto.so), which no Debian
# package provides: look for them in the build tree, and leave them out of Depends (--ignore-missing-info);
# the dependency on estate-exporters-common covers them.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${PROJECT_BINARY_DIR}/lib/estate-sslcompat")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)  # the shim is private: no shlibs file
include(CPack)
