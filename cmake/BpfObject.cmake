# Build BPF objects the libbpf-bootstrap way: vmlinux.h generated from the running kernel's BTF
# by bpftool at build time, `clang -target bpf` with CO-RE, and a skeleton header per object from
# `bpftool gen skeleton`.

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)
set(DFAAS_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "Kernel BTF used to generate vmlinux.h")

set(BPF_GEN_DIR ${CMAKE_BINARY_DIR}/bpf-gen)
file(MAKE_DIRECTORY ${BPF_GEN_DIR})

# vmlinux.h is generated in the directory that builds BPF objects (custom-command outputs are
# only visible to targets of the same directory). Call once, before bpf_object().
function(bpf_vmlinux_header)
  add_custom_command(
    OUTPUT ${BPF_GEN_DIR}/vmlinux.h
    COMMAND ${BPFTOOL} btf dump file ${DFAAS_VMLINUX_BTF} format c > ${BPF_GEN_DIR}/vmlinux.h.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${BPF_GEN_DIR}/vmlinux.h.tmp ${BPF_GEN_DIR}/vmlinux.h
    COMMENT "Generating vmlinux.h from ${DFAAS_VMLINUX_BTF}"
    VERBATIM)
  # One target owns the header. With the Makefile generator every target whose custom commands
  # depend on a generated file gets its own copy of that file's rule: two BPF objects would run
  # bpftool twice at once in a parallel build and race on the rename (seen on a fresh clone).
  # Ordering each object's target after this one leaves the copies nothing to do.
  add_custom_target(dfaas_vmlinux_h DEPENDS ${BPF_GEN_DIR}/vmlinux.h)
endfunction()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  set(BPF_TARGET_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

# bpf_object(<name> <source.bpf.c> [DEFINES ...])
#   Produces ${BPF_GEN_DIR}/<name>.bpf.o, the skeleton ${BPF_GEN_DIR}/<name>.skel.h, and an
#   INTERFACE library <name>_skel that C++ targets link to include the skeleton.
function(bpf_object name source)
  cmake_parse_arguments(ARG "" "" "DEFINES;DEPENDS" ${ARGN})
  set(obj ${BPF_GEN_DIR}/${name}.bpf.o)
  set(skel ${BPF_GEN_DIR}/${name}.skel.h)
  set(defs)
  foreach(d ${ARG_DEFINES})
    list(APPEND defs -D${d})
  endforeach()
  file(GLOB_RECURSE bpf_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bpf/lib/*.h ${CMAKE_SOURCE_DIR}/bpf/include/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -Wall -Werror -target bpf -mcpu=v3
            -D__TARGET_ARCH_${BPF_TARGET_ARCH} ${defs}
            -I${BPF_GEN_DIR} -I${CMAKE_SOURCE_DIR}/bpf/include -I${CMAKE_SOURCE_DIR}/bpf
            -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${source} ${bpf_headers} ${BPF_GEN_DIR}/vmlinux.h ${ARG_DEPENDS}
    COMMENT "BPF ${source} -> ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "Skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_gen ALL DEPENDS ${obj} ${skel})
  add_dependencies(${name}_gen dfaas_vmlinux_h)
  add_library(${name}_skel INTERFACE)
  add_dependencies(${name}_skel ${name}_gen)
  target_include_directories(${name}_skel INTERFACE ${BPF_GEN_DIR})
  set_property(GLOBAL APPEND PROPERTY DFAAS_BPF_OBJECTS ${obj})
endfunction()
