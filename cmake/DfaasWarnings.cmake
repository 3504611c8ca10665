# Warnings every C++ target of the project compiles with.
add_library(dfaas_warnings INTERFACE)
target_compile_options(dfaas_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wno-missing-field-initializers>)

# Developers working on one component can leave others out of their build tree:
#   cmake -DDFAAS_SKIP_COMPONENTS="faas_sim;loadgen" ...
set(DFAAS_SKIP_COMPONENTS "" CACHE STRING "Component directory names not to configure")
function(dfaas_add_component dir)
  get_filename_component(name ${dir} NAME)
  if(name IN_LIST DFAAS_SKIP_COMPONENTS)
    return()
  endif()
  if(EXISTS ${dir}/CMakeLists.txt)
    add_subdirectory(${dir})
  endif()
endfunction()
