# Warnings are errors per target: etherpath_target_warnings(<target>).
# Not -Wnull-dereference: g++ 12 at -O3 reports it inside libstdc++'s own hash tables (a
# node pointer it cannot prove non-null after inlining), so it would only teach people to
# silence it.
function(etherpath_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
    -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
endfunction()

# One static library per folder with the etherpath::<name> alias.
function(etherpath_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  add_library(etherpath_${name} STATIC ${ARG_SOURCES})
  add_library(etherpath::${name} ALIAS etherpath_${name})
  target_include_directories(etherpath_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(etherpath_${name} PUBLIC ${ARG_PUBLIC_LIBS} PRIVATE ${ARG_PRIVATE_LIBS})
  etherpath_target_warnings(etherpath_${name})
endfunction()
