# `cmake --install build --prefix P`: the headers, both libraries, the tool, the shipped model, a
# CMake package (find_package(attend): attend::attend, the shared library, and
# attend::attend_static) and attend.pc for pkg-config. examples/consumer is built against it by
# ctest (tests/tools/consumer_test.sh).
include(CMakePackageConfigHelpers)
set(ATTEND_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attend)

set_target_properties(attend_shared PROPERTIES EXPORT_NAME attend)
set_target_properties(attend PROPERTIES EXPORT_NAME attend_static)
install(TARGETS attend attend_shared EXPORT attendTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/attend DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT attendTargets NAMESPACE attend:: DESTINATION ${ATTEND_CMAKE_DIR})

# The tool finds the shipped model at <bin>/../share/attend/pretrained (tools/shipped_models.h).
set_target_properties(attend_cli PROPERTIES INSTALL_RPATH_USE_LINK_PATH TRUE)
install(TARGETS attend_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/pretrained/g2p-transformer.safetensors ${PROJECT_SOURCE_DIR}/pretrained/README.md
  DESTINATION ${CMAKE_INSTALL_DATADIR}/attend/pretrained)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/attendConfig.cmake.in
  ${PROJECT_BINARY_DIR}/attendConfig.cmake INSTALL_DESTINATION ${ATTEND_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/attendConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/attendConfig.cmake ${PROJECT_BINARY_DIR}/attendConfigVersion.cmake
  DESTINATION ${ATTEND_CMAKE_DIR})

# attend.pc finds its prefix from its own place (${pcfiledir}), so the installed tree can move.
file(RELATIVE_PATH ATTEND_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" ATTEND_PC_TO_PREFIX "${ATTEND_PC_TO_PREFIX}")
# MPI's pkg-config module (Open MPI's ompi-c) for the static library, when it is built with MPI.
set(ATTEND_PC_MPI "")
if(ATTEND_WITH_MPI)
  set(ATTEND_PC_MPI " ompi-c")
endif()
# A sanitized build's flags, which its users must link with (ATTEND_ASAN, ATTEND_UBSAN).
list(JOIN ATTEND_SANITIZER_LINK_FLAGS " " ATTEND_PC_SANITIZERS)
if(ATTEND_PC_SANITIZERS)
  string(PREPEND ATTEND_PC_SANITIZERS " ")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/attend.pc.in ${PROJECT_BINARY_DIR}/attend.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/attend.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
