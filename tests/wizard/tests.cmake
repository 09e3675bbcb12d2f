# The setup wizard driven through real tmux sessions (included from CMakeLists.txt). Each
# test keeps the screens it waited for under wizard-screens/<test>/ in the build directory.
set(_wizard "${CMAKE_SOURCE_DIR}/tests/wizard")
foreach(_case walk quit refuse undo)
  add_test(NAME wizard.${_case} COMMAND "${_wizard}/${_case}-test.sh" $<TARGET_FILE:vmsetup>)
  set_tests_properties(wizard.${_case} PROPERTIES TIMEOUT 600 LABELS "wizard;tmux"
    ENVIRONMENT "WIZARD_SCREENS=${CMAKE_BINARY_DIR}/wizard-screens")
endforeach()
