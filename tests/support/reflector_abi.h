/* Layouts shared by reflector.bpf.c and its C++ loader (test support). */
#ifndef ETHERPATH_TESTS_SUPPORT_REFLECTOR_ABI_H
#define ETHERPATH_TESTS_SUPPORT_REFLECTOR_ABI_H

/* C names shared with BPF keep the kernel's style. NOLINTBEGIN(readability-identifier-naming) */
enum reflector_counter {
	REFLECTOR_REFLECTED = 0, /* swapped and sent back with XDP_TX */
	REFLECTOR_PASSED,        /* not IPv4/IPv6 (ARP, ...): left to the kernel */
	REFLECTOR_TRUNCATED,     /* too short for the headers it claims: left to the kernel */
	REFLECTOR_COUNTER_COUNT,
};
/* NOLINTEND(readability-identifier-naming) */

#endif
