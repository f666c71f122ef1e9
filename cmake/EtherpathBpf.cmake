# etherpath_bpf_skeleton(<target> SOURCE <x.bpf.c> NAME <skel_name> [INCLUDES dir...]):
# compiles a BPF program with clang -target bpf (a depfile makes header edits rebuild it) and
# embeds the object in <binary dir>/<skel_name>.skel.h with `bpftool gen skeleton`. <target> is
# an INTERFACE library that puts that header on the include path of whoever links it.
find_program(ETHERPATH_BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(ETHERPATH_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

function(etherpath_bpf_skeleton target)
  cmake_parse_arguments(ARG "" "SOURCE;NAME" "INCLUDES" ${ARGN})
  if(NOT ARG_SOURCE OR NOT ARG_NAME)
    message(FATAL_ERROR "etherpath_bpf_skeleton(${target}) needs SOURCE and NAME")
  endif()
  get_filename_component(source ${ARG_SOURCE} ABSOLUTE)
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf_skel)
  set(object ${out_dir}/${ARG_NAME}.bpf.o)
  set(skeleton ${out_dir}/${ARG_NAME}.skel.h)
  set(include_flags -I${PROJECT_SOURCE_DIR})
  foreach(dir ${ARG_INCLUDES})
    list(APPEND include_flags -I${dir})
  endforeach()
  # -I/usr/include/x86_64-linux-gnu: Debian keeps asm/types.h there, which clang -target bpf
  # does not search. -g: BTF, which libxdp needs for XDP_RUN_CONFIG and libbpf for the maps.
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${ETHERPATH_BPF_CLANG} -target bpf -g -O2 -Wall -Werror
            -I/usr/include/x86_64-linux-gnu ${include_flags}
            -MD -MF ${object}.d -c ${source} -o ${object}
    DEPENDS ${source}
    DEPFILE ${object}.d
    COMMENT "BPF ${ARG_NAME}: clang -target bpf"
    VERBATIM)
  # bpftool warns "skipping unrecognized data section .xdp_run_config" (libxdp's section, which
  # libbpf does not know): harmless, so its messages are shown only when it fails.
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND sh -c "${ETHERPATH_BPFTOOL} gen skeleton ${object} name ${ARG_NAME} > ${skeleton}.tmp 2> ${skeleton}.log && mv ${skeleton}.tmp ${skeleton} || { cat ${skeleton}.log >&2; exit 1; }"
    DEPENDS ${object}
    COMMENT "BPF ${ARG_NAME}: bpftool gen skeleton"
    VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skeleton})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} INTERFACE ${out_dir})
  set_property(TARGET ${target} PROPERTY ETHERPATH_BPF_OBJECT ${object})
endfunction()
