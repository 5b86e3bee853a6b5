# bpf_skeleton(<target> <file.bpf.c>)
#
# Compiles a CO-RE BPF program with clang and generates its libbpf skeleton
# with bpftool.  <target> is an INTERFACE library whose include directory
# holds <name>.skel.h.  vmlinux.h is generated once per build tree from the
# running kernel's BTF; everything generated stays in the build folder.
#
# The generated header goes through an intermediate custom target so that
# several consumers built in parallel do not each re-run the generator
# (the race bpftrace's cmake/BuildBPF.cmake describes).

find_program(BPF_CLANG NAMES clang clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

set(LSTRACE_VMLINUX_BTF "/sys/kernel/btf/vmlinux" CACHE FILEPATH "Kernel BTF used to generate vmlinux.h")
set(LSTRACE_GEN_DIR ${CMAKE_BINARY_DIR}/generated)
file(MAKE_DIRECTORY ${LSTRACE_GEN_DIR})

if(NOT EXISTS ${LSTRACE_VMLINUX_BTF})
  message(FATAL_ERROR "lstrace-bpf: ${LSTRACE_VMLINUX_BTF} not found: the kernel must be built with CONFIG_DEBUG_INFO_BTF=y")
endif()

add_custom_command(
  OUTPUT ${LSTRACE_GEN_DIR}/vmlinux.h
  COMMAND ${BPFTOOL} btf dump file ${LSTRACE_VMLINUX_BTF} format c > ${LSTRACE_GEN_DIR}/vmlinux.h.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${LSTRACE_GEN_DIR}/vmlinux.h.tmp ${LSTRACE_GEN_DIR}/vmlinux.h
  COMMENT "Generating vmlinux.h from ${LSTRACE_VMLINUX_BTF}"
  VERBATIM)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(LSTRACE_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(LSTRACE_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "lstrace-bpf: unsupported architecture ${CMAKE_SYSTEM_PROCESSOR}")
endif()
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE LSTRACE_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)

function(bpf_skeleton target source)
  get_filename_component(name ${source} NAME_WE)
  get_filename_component(srcdir ${source} DIRECTORY)
  set(obj ${LSTRACE_GEN_DIR}/${name}.bpf.o)
  set(skel ${LSTRACE_GEN_DIR}/${name}.skel.h)
  file(GLOB bpf_headers CONFIGURE_DEPENDS ${srcdir}/*.h)
  set(warn -Wall -Wextra -Wno-unused-parameter -Wno-unused-function)
  if(LSTRACE_WERROR)
    list(APPEND warn -Werror)
  endif()
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${LSTRACE_BPF_ARCH} ${warn}
            -I${LSTRACE_GEN_DIR} -I${srcdir} -I${CMAKE_SOURCE_DIR}/include
            -I/usr/include/${LSTRACE_MULTIARCH}
            -c ${source} -o ${obj}
    DEPENDS ${source} ${bpf_headers} ${LSTRACE_GEN_DIR}/vmlinux.h
    COMMENT "Compiling BPF object ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${BPFTOOL} gen skeleton ${obj} > ${skel}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
    DEPENDS ${obj}
    COMMENT "Generating BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${target}_gen DEPENDS ${skel})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} INTERFACE ${LSTRACE_GEN_DIR} ${srcdir})
  target_link_libraries(${target} INTERFACE PkgConfig::LIBBPF PkgConfig::LIBELF)
endfunction()
