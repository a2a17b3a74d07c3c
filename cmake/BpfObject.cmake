# floodgate_bpf_object(NAME SOURCE): compiles bpf/NAME.bpf.c with clang -target bpf and
# generates NAME.skel.h with `bpftool gen skeleton` into the build tree, exposed as the
# interface library NAME_skel. Generated files never go into the source tree.
find_program(CLANG_EXE NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL_EXE NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

execute_process(COMMAND uname -m OUTPUT_VARIABLE FG_ARCH OUTPUT_STRIP_TRAILING_WHITESPACE)
set(FG_BPF_ARCH_INCLUDE /usr/include/${FG_ARCH}-linux-gnu)

function(floodgate_bpf_object name source)
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.bpf.o)
  set(skel ${CMAKE_CURRENT_BINARY_DIR}/${name}.skel.h)
  file(GLOB bpf_headers ${CMAKE_CURRENT_SOURCE_DIR}/bpf/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${CLANG_EXE} -target bpf -O2 -g -Wall -Wextra -Werror
            -I${CMAKE_CURRENT_SOURCE_DIR}/bpf -I${FG_BPF_ARCH_INCLUDE}
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
    DEPENDS ${source} ${bpf_headers}
    COMMENT "BPF ${source}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL_EXE} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skel_gen DEPENDS ${skel})
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_skel_gen)
  target_include_directories(${name}_skel INTERFACE ${CMAKE_CURRENT_BINARY_DIR})
endfunction()
