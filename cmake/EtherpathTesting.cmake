# etherpath_test(<name> LABEL unit|bpf|netns|fuzz SOURCES ... LIBS ...): a GoogleTest binary,
# registered with ctest under its label. Tests that need root skip themselves when not root.
function(etherpath_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_LABEL)
    message(FATAL_ERROR "etherpath_test(${name}) needs a LABEL")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  etherpath_target_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
    WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  # netns tests share kernel state (XDP on interfaces, sysctls); never run them in parallel.
  if(ARG_LABEL STREQUAL "netns" OR ARG_LABEL STREQUAL "bpf")
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# etherpath_fuzz(<name> SOURCES ... LIBS ... CORPUS <dir>): a libFuzzer target when
# ETHERPATH_FUZZ is on (clang), else the same entry point linked to a corpus replayer. Either way
# ctest (label fuzz) replays the corpus once; .ci/run fuzzes each target for a time budget, reading
# the corpus folder from ${CMAKE_BINARY_DIR}/fuzz/<name>.corpus.
add_library(etherpath_fuzz_replay STATIC ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
function(etherpath_fuzz name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
  etherpath_target_warnings(${name})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  if(ETHERPATH_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME ${name} COMMAND ${name} -runs=0 ${ARG_CORPUS})
  else()
    target_link_libraries(${name} PRIVATE etherpath_fuzz_replay)
    add_test(NAME ${name} COMMAND ${name} ${ARG_CORPUS})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 120)
  file(WRITE ${CMAKE_BINARY_DIR}/fuzz/${name}.corpus "${ARG_CORPUS}\n")
endfunction()
