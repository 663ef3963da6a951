include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS flowsampler EXPORT flowsamplerTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/flowsampler DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT flowsamplerTargets NAMESPACE flowsampler::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flowsampler)
configure_package_config_file(cmake/flowsamplerConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/flowsamplerConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flowsampler)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/flowsamplerConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/flowsamplerConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/flowsamplerConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/flowsampler)
if(FLOWSAMPLER_BUILD_TOOLS)
  install(TARGETS flowsampler_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
