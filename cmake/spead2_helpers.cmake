# Shared build settings and helpers for every spead2 target.

# Warnings apply to our own code only (an interface library we link privately).
add_library(spead2_warnings INTERFACE)
target_compile_options(spead2_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
  -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${SPEAD2_WERROR}>:-Werror>
  # Optimised GCC builds report a false "potential null pointer dereference" in Asio's scheduler
  # (header-only, inlined into every file using sockets; system-header suppression does not cover
  # inlined code). Debug builds (the dev preset) keep the warning.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<NOT:$<CONFIG:Debug>>>:-Wno-null-dereference>
  # GCC 12 at -O2 and above reports a false overlap in std::string's operator+(const char *,
  # string &&) (GCC bug 105651, fixed in 13), which the C++ tests use to build expectations.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>,$<NOT:$<CONFIG:Debug>>>:-Wno-restrict>)

if(SPEAD2_SANITIZE)
  string(REPLACE ";" "," _spead2_san "${SPEAD2_SANITIZE}")
  add_compile_options(-fsanitize=${_spead2_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_spead2_san})
  if("thread" IN_LIST SPEAD2_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC warns that TSan cannot see std::atomic_thread_fence, which Asio uses; the fences are
    # paired with atomics TSan does see, so the warning is noise (and fatal with -Werror).
    add_compile_options(-Wno-tsan)
  endif()
endif()

if(SPEAD2_FUZZ)
  # libFuzzer's coverage for the library as well as the fuzz targets (which link
  # -fsanitize=fuzzer themselves): without it the fuzzers are guided by their own file's few
  # branches only.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

find_package(Threads REQUIRED)

# spead2_add_layer(<layer> [DEPENDS <layer>...])
# Builds src/<layer>/*.cpp into the object library spead2_<layer>. Layers stay separate so that
# a test of one layer links only what it needs; the installed library joins them all.
function(spead2_add_layer layer)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${layer}/*.cpp)
  if(NOT _srcs)
    # A layer with no sources yet still needs an object to keep $<TARGET_OBJECTS> valid.
    set(_srcs ${PROJECT_BINARY_DIR}/empty_${layer}.cpp)
    file(WRITE ${_srcs} "// empty layer\n")
  endif()
  add_library(spead2_${layer} OBJECT ${_srcs})
  target_include_directories(spead2_${layer}
    PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(spead2_${layer} PUBLIC spead2_deps PRIVATE spead2_warnings)
  foreach(dep IN LISTS ARG_DEPENDS)
    target_link_libraries(spead2_${layer} PUBLIC spead2_${dep})
  endforeach()
endfunction()

# spead2_add_test_dir(<layer> LAYERS <layer>...)
# Builds tests/cpp/<layer>/*_test.cpp into one GoogleTest binary spead2_<layer>_test.
function(spead2_add_test_dir layer)
  cmake_parse_arguments(ARG "" "" "LAYERS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${layer}/*_test.cpp)
  if(NOT _srcs)
    return()
  endif()
  add_executable(spead2_${layer}_test ${_srcs})
  foreach(dep IN LISTS ARG_LAYERS)
    target_link_libraries(spead2_${layer}_test PRIVATE spead2_${dep})
  endforeach()
  target_include_directories(spead2_${layer}_test PRIVATE ${PROJECT_SOURCE_DIR}/src ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(spead2_${layer}_test PRIVATE GTest::gtest_main GTest::gmock spead2_warnings)
  target_compile_definitions(spead2_${layer}_test PRIVATE
    SPEAD2_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
  gtest_discover_tests(spead2_${layer}_test DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endfunction()
