# Tests of how vmprep fits the tools around it (included from CMakeLists.txt): man pages,
# published JSON Schemas and finding-id docs, shell completions, monitoring outputs read by
# real parsers, the Ansible fact under real Ansible, and the Debian package.
set(_t "${CMAKE_SOURCE_DIR}/tests")
if(VMPREP_MAN)
  add_test(NAME docs.man COMMAND "${_t}/docs/man-test.sh" "${VMPREP_MAN_DIR}")
endif()
# Every captured machine's output against docs/schema, every emitted id in vmprep-report(5).
add_test(NAME docs.schemas-and-finding-ids
  COMMAND /usr/bin/python3 "${_t}/docs/validate_outputs.py" "${CMAKE_SOURCE_DIR}" "${CMAKE_BINARY_DIR}")
set_tests_properties(docs.schemas-and-finding-ids PROPERTIES TIMEOUT 300)
add_test(NAME completions.shells
  COMMAND "${_t}/completions/completions-test.sh" "${CMAKE_SOURCE_DIR}" "${CMAKE_BINARY_DIR}")
set_tests_properties(completions.shells PROPERTIES TIMEOUT 300)
# promtool and prometheus_client parse --format prometheus; the plugin grammar --format nagios.
add_test(NAME fleet.monitoring
  COMMAND /usr/bin/python3 "${_t}/fleet/check_monitoring.py" "${CMAKE_SOURCE_DIR}" "${CMAKE_BINARY_DIR}")
set_tests_properties(fleet.monitoring PROPERTIES TIMEOUT 300)
add_test(NAME fleet.ansible-fact
  COMMAND "${_t}/fleet/ansible-fact-test.sh" "${CMAKE_SOURCE_DIR}" "${CMAKE_BINARY_DIR}")
set_tests_properties(fleet.ansible-fact PROPERTIES TIMEOUT 300)
# The Cockpit page in headless Chromium through Debian's cockpit-ws (tests/cockpit/page_test.py).
add_test(NAME cockpit.page
  COMMAND /usr/bin/python3 "${_t}/cockpit/page_test.py" "${CMAKE_SOURCE_DIR}" "${CMAKE_BINARY_DIR}")
set_tests_properties(cockpit.page PROPERTIES TIMEOUT 300)
# The Debian package: built in build/deb-test/deb-build (configured for /usr; a full compile
# the first time, about 4 minutes on 2 idle cores), installed with apt into a copy of the boot
# tests' cached chroot (shared with them, hence the lock).
add_test(NAME package.deb
  COMMAND "${_t}/e2e/deb-test.sh" "${CMAKE_SOURCE_DIR}" "${CMAKE_BINARY_DIR}/deb-test")
set_tests_properties(package.deb PROPERTIES TIMEOUT 1800 RESOURCE_LOCK vmprep_e2e_boot
  LABELS "e2e;package")
