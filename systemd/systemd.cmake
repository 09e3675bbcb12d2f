# systemd units and their helper scripts. Included from the top CMakeLists.txt.
include_guard(GLOBAL)
include(GNUInstallDirs)
set(VMPREP_LIBEXECDIR "${CMAKE_INSTALL_FULL_LIBEXECDIR}/vmprep" CACHE PATH
  "Where vmprep's helper scripts (vmcheck-boot, vmprep-hugepages) are installed")
# systemd searches /usr/local/lib/systemd/system too, so follow the prefix.
set(VMPREP_SYSTEMD_UNITDIR "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" CACHE PATH
  "Where vmprep's systemd units are installed")
set(VMPREP_TEXTFILE_DIR "/var/lib/prometheus/node-exporter" CACHE PATH
  "node_exporter's textfile collector directory, where vmcheck-metrics.service writes vmprep.prom")

set(_vmprep_systemd_out "${CMAKE_BINARY_DIR}/systemd")
foreach(_f vmcheck-boot vmprep-hugepages)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${_f}.in" "${_vmprep_systemd_out}/${_f}" @ONLY
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
    WORLD_READ WORLD_EXECUTE)
  install(PROGRAMS "${_vmprep_systemd_out}/${_f}" DESTINATION "${VMPREP_LIBEXECDIR}" COMPONENT systemd)
endforeach()
foreach(_f vmcheck-boot.service vmprep-hugepages@.service vmcheck-metrics.service)
  configure_file("${CMAKE_CURRENT_LIST_DIR}/${_f}.in" "${_vmprep_systemd_out}/${_f}" @ONLY)
  install(FILES "${_vmprep_systemd_out}/${_f}" DESTINATION "${VMPREP_SYSTEMD_UNITDIR}" COMPONENT systemd)
endforeach()
install(FILES "${CMAKE_CURRENT_LIST_DIR}/dev-hugepages1G.mount" "${CMAKE_CURRENT_LIST_DIR}/vmcheck-metrics.timer"
  DESTINATION "${VMPREP_SYSTEMD_UNITDIR}" COMPONENT systemd)
install(FILES "${CMAKE_CURRENT_LIST_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}/systemd" COMPONENT systemd)
