# Warnings every C++ target of the project compiles with.
add_library(dfaas_warnings INTERFACE)
target_compile_options(dfaas_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wno-missing-field-initializers>)
