# Install rules: headers, the static core, a CMake package (find_package(spead2) gives
# spead2::spead2) and spead2.pc, plus a build-tree export.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/spead2 DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/include/spead2/features.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/spead2)
install(TARGETS spead2 EXPORT spead2Targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(SPEAD2_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/spead2)
install(EXPORT spead2Targets NAMESPACE spead2:: DESTINATION ${SPEAD2_CMAKE_DIR})
export(EXPORT spead2Targets NAMESPACE spead2:: FILE ${PROJECT_BINARY_DIR}/spead2Targets.cmake)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/spead2Config.cmake.in
  ${PROJECT_BINARY_DIR}/spead2Config.cmake INSTALL_DESTINATION ${SPEAD2_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/spead2ConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/spead2Config.cmake ${PROJECT_BINARY_DIR}/spead2ConfigVersion.cmake
  DESTINATION ${SPEAD2_CMAKE_DIR})

set(SPEAD2_PC_LIBS_PRIVATE "-lpthread")
if(CMAKE_DL_LIBS)
  string(APPEND SPEAD2_PC_LIBS_PRIVATE " -l${CMAKE_DL_LIBS}")
endif()
if(SPEAD2_USE_PCAP)
  string(APPEND SPEAD2_PC_LIBS_PRIVATE " -lpcap")
endif()
if(SPEAD2_USE_XDP)
  string(APPEND SPEAD2_PC_LIBS_PRIVATE " -lxdp -lbpf")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/spead2.pc.in ${PROJECT_BINARY_DIR}/spead2.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/spead2.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
