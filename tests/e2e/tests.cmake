# End-to-end tests of the initramfs hooks and systemd units (included from CMakeLists.txt).
# Boot tests build a cached Debian chroot (make-chroot.sh) and boot real kernels under TCG;
# they share the cache, so they run one at a time.

set(_e2e "${CMAKE_SOURCE_DIR}/tests/e2e")
foreach(_tool initramfs-tools dracut)
  foreach(_case positive negative)
    add_test(NAME e2e.hooks.${_tool}.${_case} COMMAND "${_e2e}/boot-hook.sh" ${_tool} ${_case})
    # Cold (chroot + kernel download) about a minute; warm 10-40 s.
    set_tests_properties(e2e.hooks.${_tool}.${_case} PROPERTIES TIMEOUT 900
      RESOURCE_LOCK vmprep_e2e_boot LABELS "e2e;boot")
  endforeach()
endforeach()
add_test(NAME e2e.hooks.mkinitcpio COMMAND "${_e2e}/mkinitcpio-hook.sh")
set_tests_properties(e2e.hooks.mkinitcpio PROPERTIES TIMEOUT 600
  RESOURCE_LOCK vmprep_e2e_boot LABELS "e2e;boot")
add_test(NAME e2e.hooks.shellcheck COMMAND "${_e2e}/shellcheck-hooks.sh" "${CMAKE_SOURCE_DIR}")
set_tests_properties(e2e.hooks.shellcheck PROPERTIES TIMEOUT 120)

# The systemd units and their helper scripts (configured by systemd/systemd.cmake).
add_test(NAME systemd.verify
  COMMAND "${CMAKE_SOURCE_DIR}/tests/e2e/systemd-verify.sh" "${CMAKE_BINARY_DIR}")
set_tests_properties(systemd.verify PROPERTIES TIMEOUT 120)
add_test(NAME systemd.vmcheck-boot
  COMMAND "${CMAKE_SOURCE_DIR}/tests/e2e/vmcheck-boot-test.sh"
    "${_vmprep_systemd_out}/vmcheck-boot" "$<TARGET_FILE:vmcheck>")
set_tests_properties(systemd.vmcheck-boot PROPERTIES TIMEOUT 120)
add_test(NAME systemd.hugepages
  COMMAND "${CMAKE_SOURCE_DIR}/tests/e2e/hugepages-test.sh" "${_vmprep_systemd_out}/vmprep-hugepages")
set_tests_properties(systemd.hugepages PROPERTIES TIMEOUT 60)

# cmake --install puts every part where the system looks for it.
add_test(NAME install.layout COMMAND "${CMAKE_SOURCE_DIR}/tests/e2e/install-test.sh" "${CMAKE_BINARY_DIR}"
  "${CMAKE_INSTALL_PREFIX}" "${VMPREP_SYSTEMD_UNITDIR}")
set_tests_properties(install.layout PROPERTIES TIMEOUT 120)
