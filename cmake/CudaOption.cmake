# FLOWSAMPLER_CUDA=AUTO|ON|OFF decides whether device code is compiled; the
# rest of the build is identical either way (the CPU backend always exists).
set(FLOWSAMPLER_HAVE_CUDA OFF)
string(TOUPPER "${FLOWSAMPLER_CUDA}" _fs_cuda)
if(_fs_cuda STREQUAL "AUTO" OR _fs_cuda STREQUAL "ON")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(FLOWSAMPLER_HAVE_CUDA ON)
  elseif(_fs_cuda STREQUAL "ON")
    message(FATAL_ERROR "FLOWSAMPLER_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
elseif(NOT _fs_cuda STREQUAL "OFF")
  message(FATAL_ERROR "FLOWSAMPLER_CUDA must be AUTO, ON or OFF (got '${FLOWSAMPLER_CUDA}')")
endif()

if(FLOWSAMPLER_HAVE_CUDA)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    # The local GPU's architecture when one answers (one arch compiles in half
    # the time); sm_80 and sm_90 otherwise (a build machine without a GPU).
    execute_process(COMMAND nvidia-smi --query-gpu=compute_cap --format=csv,noheader
                    OUTPUT_VARIABLE _fs_caps RESULT_VARIABLE _fs_smi ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(_fs_smi EQUAL 0 AND _fs_caps MATCHES "^([0-9]+)\\.([0-9]+)")
      set(CMAKE_CUDA_ARCHITECTURES "${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
    else()
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "flowsampler: CUDA backend ON (archs ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "flowsampler: CUDA backend OFF (CPU backend only)")
endif()
# For scripts that follow a build (scripts/test builds the Python package with the same choice).
set(FLOWSAMPLER_BUILT_WITH_CUDA ${FLOWSAMPLER_HAVE_CUDA} CACHE INTERNAL "whether this build compiles the CUDA backend")
