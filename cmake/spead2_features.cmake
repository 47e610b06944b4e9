# Configure-time probes. Results go into one generated header, spead2/features.h; code tests the
# SPEAD2_USE_* macros there and never probes by itself.
include(CheckIncludeFileCXX)
include(CheckSymbolExists)

find_path(SPEAD2_ASIO_INCLUDE_DIR asio.hpp REQUIRED)

add_library(spead2_deps INTERFACE)
target_include_directories(spead2_deps SYSTEM INTERFACE $<BUILD_INTERFACE:${SPEAD2_ASIO_INCLUDE_DIR}>)
# Asio picks aligned_alloc/free or operator new/delete for its handler memory by whether a libstdc++
# header came before its own, so files that include asio first disagree with the others (memory
# from operator new freed with free; ASan reports the mismatch). One choice for every file.
target_compile_definitions(spead2_deps INTERFACE ASIO_NO_DEPRECATED ASIO_DISABLE_STD_ALIGNED_ALLOC)
target_link_libraries(spead2_deps INTERFACE Threads::Threads)
if(SPEAD2_CHECK_BLOCKING)
  # Only for this build's own code: the check's inline functions must agree in every file.
  target_compile_definitions(spead2_deps INTERFACE $<BUILD_INTERFACE:SPEAD2_CHECK_BLOCKING=1>)
endif()

find_path(SPEAD2_PCAP_INCLUDE_DIR pcap/pcap.h)
find_library(SPEAD2_PCAP_LIBRARY pcap)
if(SPEAD2_PCAP_INCLUDE_DIR AND SPEAD2_PCAP_LIBRARY)
  set(_pcap_found ON)
else()
  set(_pcap_found OFF)
endif()
option(SPEAD2_USE_PCAP "Build the pcap file reader (libpcap)" ${_pcap_found})
if(SPEAD2_USE_PCAP)
  target_link_libraries(spead2_deps INTERFACE ${SPEAD2_PCAP_LIBRARY})
endif()

# AF_XDP: libxdp (sockets) and libbpf (loading our XDP program), and clang to compile that
# program for the BPF target.
find_path(SPEAD2_XDP_INCLUDE_DIR xdp/xsk.h)
find_library(SPEAD2_XDP_LIBRARY xdp)
find_library(SPEAD2_BPF_LIBRARY bpf)
find_program(SPEAD2_BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
if(SPEAD2_XDP_INCLUDE_DIR AND SPEAD2_XDP_LIBRARY AND SPEAD2_BPF_LIBRARY AND SPEAD2_BPF_CLANG)
  set(_xdp_found ON)
else()
  set(_xdp_found OFF)
endif()
option(SPEAD2_USE_XDP "Build the AF_XDP kernel-bypass transport (libxdp, libbpf, clang)" ${_xdp_found})
if(SPEAD2_USE_XDP)
  if(NOT _xdp_found)
    message(FATAL_ERROR "SPEAD2_USE_XDP needs libxdp-dev, libbpf-dev and clang")
  endif()
  target_link_libraries(spead2_deps INTERFACE ${SPEAD2_XDP_LIBRARY} ${SPEAD2_BPF_LIBRARY})
endif()

# ibverbs: only rdma-core's headers at build time; libibverbs and librdmacm are opened at run time
# (dlopen), so everything built with them still loads and runs on machines without rdma-core.
find_path(SPEAD2_IBV_INCLUDE_DIR infiniband/verbs.h)
find_path(SPEAD2_RDMACM_INCLUDE_DIR rdma/rdma_cma.h)
if(SPEAD2_IBV_INCLUDE_DIR AND SPEAD2_RDMACM_INCLUDE_DIR)
  set(_ibv_found ON)
else()
  set(_ibv_found OFF)
endif()
option(SPEAD2_USE_IBV "Build the ibverbs transport (rdma-core headers; libibverbs loaded at run time)" ${_ibv_found})
if(SPEAD2_USE_IBV AND NOT _ibv_found)
  message(FATAL_ERROR "SPEAD2_USE_IBV needs libibverbs-dev and librdmacm-dev")
endif()
if(SPEAD2_USE_IBV)
  target_include_directories(spead2_deps SYSTEM INTERFACE
    $<BUILD_INTERFACE:${SPEAD2_IBV_INCLUDE_DIR}> $<BUILD_INTERFACE:${SPEAD2_RDMACM_INCLUDE_DIR}>)
endif()

# CUDA: only the runtime's headers at build time; libcudart is opened at run time (dlopen), so
# the library, the tools and the wheel load and run on machines without CUDA or a GPU.
find_package(CUDAToolkit QUIET)
option(SPEAD2_USE_CUDA "Build GPU chunk memory (CUDA runtime headers; libcudart loaded at run time)"
  ${CUDAToolkit_FOUND})
if(SPEAD2_USE_CUDA)
  if(NOT CUDAToolkit_FOUND)
    message(FATAL_ERROR "SPEAD2_USE_CUDA needs the CUDA toolkit (CUDAToolkit)")
  endif()
  target_include_directories(spead2_deps SYSTEM INTERFACE $<BUILD_INTERFACE:${CUDAToolkit_INCLUDE_DIRS}>)
  target_compile_definitions(spead2_deps INTERFACE
    $<BUILD_INTERFACE:SPEAD2_CUDART_SONAME="libcudart.so.${CUDAToolkit_VERSION_MAJOR}">)
endif()
target_link_libraries(spead2_deps INTERFACE ${CMAKE_DL_LIBS})

set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
check_symbol_exists(recvmmsg "sys/socket.h" SPEAD2_HAVE_RECVMMSG)
check_symbol_exists(sendmmsg "sys/socket.h" SPEAD2_HAVE_SENDMMSG)
check_symbol_exists(eventfd "sys/eventfd.h" SPEAD2_HAVE_EVENTFD)
check_symbol_exists(pthread_setaffinity_np "pthread.h" SPEAD2_HAVE_PTHREAD_SETAFFINITY_NP)
check_symbol_exists(UDP_SEGMENT "netinet/udp.h" SPEAD2_HAVE_UDP_SEGMENT)
check_symbol_exists(UDP_GRO "netinet/udp.h" SPEAD2_HAVE_UDP_GRO)
check_symbol_exists(MAP_HUGETLB "sys/mman.h" SPEAD2_HAVE_MAP_HUGETLB)
unset(CMAKE_REQUIRED_DEFINITIONS)

include(CheckCXXSourceCompiles)
check_cxx_source_compiles("
#include <immintrin.h>
__attribute__((target(\"avx2\"))) void f(void *p) { _mm256_stream_si256((__m256i *) p, _mm256_setzero_si256()); }
int main() { return 0; }" SPEAD2_HAVE_AVX2_STREAM)

foreach(_f RECVMMSG SENDMMSG EVENTFD PTHREAD_SETAFFINITY_NP UDP_SEGMENT UDP_GRO MAP_HUGETLB AVX2_STREAM)
  if(SPEAD2_HAVE_${_f})
    set(SPEAD2_USE_${_f} 1)
  else()
    set(SPEAD2_USE_${_f} 0)
  endif()
endforeach()
foreach(_f PCAP IBV XDP CUDA)
  if(SPEAD2_USE_${_f})
    set(SPEAD2_USE_${_f}_01 1)
  else()
    set(SPEAD2_USE_${_f}_01 0)
  endif()
endforeach()
if(SPEAD2_MAX_LOG_LEVEL STREQUAL "debug")
  set(SPEAD2_MAX_LOG_LEVEL_NUM 2)
elseif(SPEAD2_MAX_LOG_LEVEL STREQUAL "warning")
  set(SPEAD2_MAX_LOG_LEVEL_NUM 0)
else()
  set(SPEAD2_MAX_LOG_LEVEL_NUM 1)
endif()

configure_file(${PROJECT_SOURCE_DIR}/cmake/features.h.in ${PROJECT_BINARY_DIR}/include/spead2/features.h @ONLY)

message(STATUS "spead2 features: pcap=${SPEAD2_USE_PCAP} ibv=${SPEAD2_USE_IBV} xdp=${SPEAD2_USE_XDP} cuda=${SPEAD2_USE_CUDA} recvmmsg=${SPEAD2_USE_RECVMMSG} sendmmsg=${SPEAD2_USE_SENDMMSG} "
  "eventfd=${SPEAD2_USE_EVENTFD} gso=${SPEAD2_USE_UDP_SEGMENT} gro=${SPEAD2_USE_UDP_GRO} avx2=${SPEAD2_USE_AVX2_STREAM} "
  "max_log_level=${SPEAD2_MAX_LOG_LEVEL}")
