// Closes bpf/skeleton_prologue.hpp: our warnings apply again after the generated skeleton.
#pragma GCC diagnostic pop
