# The live ISO (included from the top CMakeLists.txt): vmprep-live, the helper its menu and
# boot options call (finding installed systems with libblkid, mounting with libmount), and
# its unit tests in the one test binary.
include_guard(GLOBAL)
set(_iso "${CMAKE_CURRENT_LIST_DIR}")

add_library(vmprep_live STATIC
  "${_iso}/live/options.cc" "${_iso}/live/block.cc" "${_iso}/live/fstab.cc"
  "${_iso}/live/mount.cc" "${_iso}/live/run.cc" "${_iso}/live/installed.cc"
  "${_iso}/live/fix.cc" "${_iso}/live/save.cc" "${_iso}/live/devlinks.cc")
target_link_libraries(vmprep_live PUBLIC vmprep)
add_executable(vmprep-live "${_iso}/live/main.cc")
target_link_libraries(vmprep-live PRIVATE vmprep_live CLI11::CLI11)
# Only the ISO installs it (build-iso.sh: cmake --install --component live).
install(TARGETS vmprep-live RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR} COMPONENT live
  EXCLUDE_FROM_ALL)
target_link_libraries(vmprep_tests PRIVATE vmprep_live)

