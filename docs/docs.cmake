# Documentation and integration files: man pages (scdoc), JSON Schemas, shell completions, the
# Ansible local fact, README and examples. Included from the top CMakeLists.txt.
include_guard(GLOBAL)
include(GNUInstallDirs)
set(_docs "${CMAKE_CURRENT_LIST_DIR}")

# Man pages: scdoc sources in docs/man, built into build/man as roff (for `man -l`) and gzip
# (installed, as Debian policy wants).
option(VMPREP_MAN "Build and install the man pages (needs scdoc)" ON)
if(VMPREP_MAN)
  find_program(SCDOC scdoc)
  if(NOT SCDOC)
    message(FATAL_ERROR "scdoc not found: apt-get install scdoc, or configure with -DVMPREP_MAN=OFF")
  endif()
  set(VMPREP_MAN_DIR "${CMAKE_BINARY_DIR}/man")
  set(_pages)
  foreach(_page vmcheck.8 vmsetup.8 vmprep-report.5)
    string(REGEX REPLACE "^.*\\." "" _section "${_page}")
    add_custom_command(OUTPUT "${VMPREP_MAN_DIR}/${_page}" "${VMPREP_MAN_DIR}/${_page}.gz"
      COMMAND sh "${_docs}/man/build-man.sh" "${SCDOC}" "${_docs}/man/${_page}.scd"
        "${VMPREP_MAN_DIR}/${_page}"
      DEPENDS "${_docs}/man/${_page}.scd" "${_docs}/man/build-man.sh"
      COMMENT "scdoc ${_page}" VERBATIM)
    list(APPEND _pages "${VMPREP_MAN_DIR}/${_page}" "${VMPREP_MAN_DIR}/${_page}.gz")
    install(FILES "${VMPREP_MAN_DIR}/${_page}.gz"
      DESTINATION "${CMAKE_INSTALL_MANDIR}/man${_section}" COMPONENT runtime)
  endforeach()
  add_custom_target(man ALL DEPENDS ${_pages})
endif()

# JSON Schemas of every document vmcheck and vmsetup print.
install(DIRECTORY "${_docs}/schema/" DESTINATION "${CMAKE_INSTALL_DATADIR}/vmprep/schema"
  COMPONENT runtime FILES_MATCHING PATTERN "*.schema.json")

# Shell completions where bash-completion, zsh (Debian's vendor directory) and fish look.
set(_comp "${CMAKE_SOURCE_DIR}/completions")
install(FILES "${_comp}/vmprep.bash" DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  RENAME vmcheck COMPONENT runtime)
install(FILES "${_comp}/vmprep.bash" DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions"
  RENAME vmsetup COMPONENT runtime)
install(FILES "${_comp}/_vmcheck" "${_comp}/_vmsetup"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions" COMPONENT runtime)
install(FILES "${_comp}/vmcheck.fish" "${_comp}/vmsetup.fish"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d" COMPONENT runtime)
install(FILES "${_comp}/fish-functions/__vmprep_typed_roots.fish"
  "${_comp}/fish-functions/__vmprep_pci_addresses.fish"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/fish/vendor_functions.d" COMPONENT runtime)

# The Ansible local fact (to link into /etc/ansible/facts.d on managed hosts).
set(VMPREP_FACT "${CMAKE_BINARY_DIR}/ansible/vmprep.fact")
configure_file("${CMAKE_SOURCE_DIR}/ansible/vmprep.fact.in" "${VMPREP_FACT}" @ONLY
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)
install(PROGRAMS "${VMPREP_FACT}" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/vmprep/ansible"
  COMPONENT runtime)

# README and an example accept.conf.
install(FILES "${CMAKE_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}" COMPONENT runtime)
install(FILES "${_docs}/examples/accept.conf" DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples"
  COMPONENT runtime)
