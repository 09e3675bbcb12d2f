# The live ISO (included from the top CMakeLists.txt): vmprep-live, the helper its menu and
# boot options call (finding installed systems with libblkid, mounting with libmount), its
# unit tests in the one test binary, and the ISO's build and boot tests.
include_guard(GLOBAL)
set(_iso "${CMAKE_CURRENT_LIST_DIR}")

add_library(vmprep_live STATIC
  "${_iso}/live/options.cc" "${_iso}/live/block.cc" "${_iso}/live/fstab.cc"
  "${_iso}/live/mount.cc" "${_iso}/live/run.cc" "${_iso}/live/installed.cc"
  "${_iso}/live/fix.cc" "${_iso}/live/fix_plan.cc" "${_iso}/live/prompt.cc"
  "${_iso}/live/save.cc" "${_iso}/live/devlinks.cc")
target_link_libraries(vmprep_live PUBLIC vmprep)
add_executable(vmprep-live "${_iso}/live/main.cc")
target_link_libraries(vmprep-live PRIVATE vmprep_live CLI11::CLI11 PkgConfig::NETTLE)
# Only the ISO installs it (build-iso.sh: cmake --install --component live).
install(TARGETS vmprep-live RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT live
  EXCLUDE_FROM_ALL)
target_link_libraries(vmprep_tests PRIVATE vmprep_live)

# The ISO and its boot tests (ctest -L iso). iso.build makes build/iso/vmprep-live.iso from
# this build's `cmake --install` output (the fixture the others need); each boot test boots it
# under TCG. They share the kernel cache and the CPU with the other boot tests: one at a time.
# Warm, on the 2-core build machine: build about 1 min, boot-verdict 2.5 min (five boots),
# fix-installed 4-5 min (three boots), save-report under 1 min; a cold cache adds the 6.12
# kernel download and a debootstrap (2-3 min). The timeouts leave room for a loaded machine.
set(VMPREP_ISO "${CMAKE_BINARY_DIR}/iso/vmprep-live.iso")
add_test(NAME iso.build COMMAND "${_iso}/tests/build-test.sh" "${CMAKE_BINARY_DIR}" "${VMPREP_ISO}")
set_tests_properties(iso.build PROPERTIES TIMEOUT 600 FIXTURES_SETUP vmprep_iso
  RESOURCE_LOCK vmprep_e2e_boot LABELS "e2e;boot;iso")
foreach(_t boot-verdict:boot_verdict.py:900 fix-installed:fix_installed.py:1800
    save-report:save_report.py:600)
  string(REPLACE ":" ";" _t "${_t}")
  list(GET _t 0 _name)
  list(GET _t 1 _script)
  list(GET _t 2 _timeout)
  add_test(NAME iso.${_name} COMMAND python3 "${_iso}/tests/${_script}" "${VMPREP_ISO}")
  set_tests_properties(iso.${_name} PROPERTIES TIMEOUT ${_timeout} FIXTURES_REQUIRED vmprep_iso
    RESOURCE_LOCK vmprep_e2e_boot LABELS "e2e;boot;iso"
    ENVIRONMENT "VMPREP_BUILD_DIR=${CMAKE_BINARY_DIR}")
endforeach()
