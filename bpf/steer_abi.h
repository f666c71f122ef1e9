/* steer_abi.h: the one definition of the steering program's map keys, values, counters and
 * sizes, shared by bpf/steer.bpf.c and the C++ owner (etherpath::bpf). C, fixed-width types,
 * explicit padding; every size is asserted here in both languages and checked again against the
 * loaded maps (bpf_map__key_size/value_size).
 *
 * Byte order: every multi-byte field of a key is in network byte order (as the frame carries
 * it), so the BPF side copies bytes from the frame without swapping. The 12-byte L2 key is
 * byte-for-byte etherconn's L2EndpointKey (MAC, outer VID, inner VID, EtherType; 0xffff = no tag).
 */
#ifndef ETHERPATH_BPF_STEER_ABI_H
#define ETHERPATH_BPF_STEER_ABI_H

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
#define EP_U8 std::uint8_t
#define EP_U16 std::uint16_t
#define EP_U32 std::uint32_t
#define EP_U64 std::uint64_t
#define EP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#include <linux/types.h>
#define EP_U8 __u8
#define EP_U16 __u16
#define EP_U32 __u32
#define EP_U64 __u64
#define EP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* The deepest VLAN stack the program parses; equals etherpath::kMaxVlanDepth (asserted in C++). */
#define EP_MAX_VLAN_DEPTH 2
/* A VID slot with no tag (etherconn's NOVLANTAG); same bytes in either byte order. */
#define EP_NO_VLAN 0xffff
/* The 12 VID bits of a TCI; the PCP and DEI bits are never part of a key. */
#define EP_VID_MASK 0x0fff

/* Map sizes. Issue #4 emulates 65,536 hosts, each with etherconn's three default EtherTypes
 * (ARP, IPv4, IPv6). Those live in l2_slots: one 16-byte slot per (MAC, VLAN stack) with the
 * EtherTypes as bits, 2^EP_L2_SLOT_BITS slots (4 MiB, a load of 1/4 at 65,536 hosts), so that a
 * hit costs one cache line instead of a hash bucket and an element among 196,608 (measured: 409
 * ns more per frame with 65,536 hosts in the hash map; bench/conn/README.md). l2_endpoints keeps
 * one key per EtherType for the rest: other EtherTypes, and keys that found no slot within
 * EP_L2_MAX_PROBES of their home. owned holds one key per address. The hash maps the program
 * reads on every frame are preallocated (no allocation on the hot path); l2_endpoints, read only
 * when it holds keys, is allocated as keys come (BPF_F_NO_PREALLOC). */
#define EP_L2_SLOT_BITS 18
#define EP_L2_SLOT_COUNT (1U << EP_L2_SLOT_BITS)
#define EP_L2_SLOT_MASK (EP_L2_SLOT_COUNT - 1)
#define EP_L2_MAX_PROBES 16
/* Consecutive MACs that share a block of l2_slots (see ep_l2_home): 2^EP_L2_GROUP_BITS slots, at
 * most the 8 bits of the MAC's last byte. */
#define EP_L2_GROUP_BITS 4
#define EP_L2_GROUP_SLOTS (1U << EP_L2_GROUP_BITS)
#define EP_L2_MAX_ENTRIES 262144
#define EP_L4_MAX_ENTRIES 65536
#define EP_OWNED_MAX_ENTRIES 131072
#define EP_MULTICAST_MAX_ENTRIES 4096
#define EP_DEFAULT_MAX_ENTRIES 4096
/* xsks_map is indexed by rx_queue_index: one slot per receive queue. */
#define EP_MAX_QUEUES 256

/* The program's name as the kernel shows it (15 characters at most): how a stale etherpath
 * program left by a killed process is recognised. */
#define EP_PROG_NAME "etherpath_steer"
/* ep_owner.magic: "EPSTEER1" */
#define EP_OWNER_MAGIC 0x3152454554535045ULL
/* Bumped whenever a layout in this file changes. */
#define EP_ABI_VERSION 3

/* IP versions in keys. */
#define EP_IPV4 4
#define EP_IPV6 6

/* VLAN IDs of a frame, outer first, network byte order, EP_NO_VLAN where there is no tag. */
struct ep_vlan_ids {
	EP_U16 id[EP_MAX_VLAN_DEPTH];
};

/* l2_endpoints: frames to an emulated host's MAC, per VLAN stack and inner EtherType (those that
 * are not in l2_slots). */
struct ep_l2_key {
	EP_U8 mac[6];
	struct ep_vlan_ids vlans;
	EP_U16 ethertype; /* network order */
};

/* l2_slots: an open-addressing table of emulated hosts in a BPF array (user space maps it and
 * writes the slots; the program reads them without a helper call). A key's home slot is
 * ep_l2_home(); the program probes from there (ep_l2_next) to the first empty slot (types == 0),
 * at most EP_L2_MAX_PROBES slots. mac_lo/mac_hi/vlans are the raw bytes of the MAC (0-3, 4-5) and
 * of the ep_vlan_ids, loaded as native integers: the program and user space share the CPU, so the
 * byte order needs no fixing and a key compares as three integer loads.
 * types: EP_L2_SLOT_USED plus one bit per registered EtherType; a slot whose types is exactly
 * EP_L2_SLOT_USED is a tombstone (a probe goes on past it, an insert may reuse it). Writers store
 * types last and readers load it first, so a reader that sees a bit sees the whole key. */
#define EP_L2_SLOT_USED 0x8000
#define EP_L2_TYPE_ARP 0x0001
#define EP_L2_TYPE_IPV4 0x0002
#define EP_L2_TYPE_IPV6 0x0004
struct ep_l2_slot {
	EP_U32 mac_lo;
	EP_U16 mac_hi;
	EP_U16 types;
	EP_U32 vlans;
	EP_U32 id; /* user space's, like ep_endpoint.id */
};

/* The home slot of a key in l2_slots (arguments as in ep_l2_slot). Emulated hosts usually get
 * consecutive MACs, and a round robin over them should not pay a cache line and a page walk per
 * frame: the low EP_L2_GROUP_BITS bits of the MAC's last byte pick the slot inside an aligned
 * block of EP_L2_GROUP_SLOTS slots, and a strong hash of the rest (the MAC without those bits, and
 * the VLAN IDs: two multiply-xorshift rounds) picks the block. So 2^EP_L2_GROUP_BITS consecutive
 * MACs on one VLAN stack share a block (four to a cache line), while unrelated keys still land
 * anywhere. The low bits are XORed into the top bits of the hash, not used as they are, so keys
 * whose low bits are all alike (MACs with a stride of 256, one MAC on many VLAN stacks) still
 * spread over every slot of a block. Shared so that both sides agree. */
static inline EP_U64 ep_l2_home(EP_U32 mac_lo, EP_U16 mac_hi, EP_U32 vlans)
{
	/* mac_hi holds bytes 4-5 of the MAC as loaded by the CPU: byte 5 is its high byte on a
	 * little-endian CPU (both bpfel and x86), its low byte on a big-endian one. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	const EP_U64 shift = 0;
#else
	const EP_U64 shift = 8;
#endif
	const EP_U64 low_mask = (EP_L2_GROUP_SLOTS - 1U) << shift;
	EP_U64 m = mac_hi;
	EP_U64 hi = m & ~low_mask;
	EP_U64 low = (m & low_mask) >> shift;
	EP_U64 v = vlans;
	EP_U64 h = (mac_lo | (hi << 32)) ^ (v * 0x9e3779b97f4a7c15ULL);

	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 31;
	h *= 0x94d049bb133111ebULL;
	return (h >> (64 - EP_L2_SLOT_BITS)) ^ low;
}

/* The next slot of a probe: the same slot of the next block, so that the keys of one block that
 * collide with another block's move on together and stay in one block (linear probing over
 * blocks, one lane per slot offset). */
static inline EP_U32 ep_l2_next(EP_U32 slot)
{
	return (slot + EP_L2_GROUP_SLOTS) & EP_L2_SLOT_MASK;
}

/* Which maps hold keys (section .bss, mapped by user space, which keeps them in step): the
 * program skips the lookups of an empty map (the verdict is the same; a lookup in an empty hash
 * map still hashes the key and reads a bucket). */
struct ep_map_counts {
	EP_U32 l4;          /* keys in l4_endpoints */
	EP_U32 l2_fallback; /* keys in l2_endpoints */
	EP_U32 defaults;    /* keys in default_rx */
	EP_U32 pad;
};

/* l4_endpoints: flows on the interface's own MAC. port is the UDP/TCP destination port, or the
 * ICMP/ICMPv6 echo identifier; an ICMP entry with port 0 matches any identifier (the program
 * looks up the exact id first, then 0). addr is 16 bytes: IPv4 as ::ffff:a.b.c.d. */
struct ep_l4_key {
	struct ep_vlan_ids vlans;
	EP_U8 addr[16];
	EP_U8 ip_version; /* EP_IPV4 or EP_IPV6 */
	EP_U8 protocol;   /* IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP, IPPROTO_ICMPV6 */
	EP_U16 port;      /* network order */
};

/* owned_addrs: addresses of emulated hosts; ARP requests and IPv6 neighbour solicitations whose
 * target is one of them go to user space. addr as in ep_l4_key. */
struct ep_owned_key {
	struct ep_vlan_ids vlans;
	EP_U8 addr[16];
	EP_U8 ip_version;
	EP_U8 pad[3]; /* zero */
};

/* multicast_subs and default_rx: a VLAN stack and inner EtherType. */
struct ep_vlan_etype_key {
	struct ep_vlan_ids vlans;
	EP_U16 ethertype; /* network order */
	EP_U16 pad;       /* zero */
};

/* The value of every endpoint map: an id user space chose (the program does not read it). */
struct ep_endpoint {
	EP_U32 id;
	EP_U32 flags; /* reserved, zero */
};

/* Read-only data of a loaded program (section .rodata.owner): who loaded it, so that a later
 * start can tell a stale program of a dead process from one that is still in use. */
struct ep_owner {
	EP_U64 magic;      /* EP_OWNER_MAGIC */
	EP_U32 pid;        /* the loading process */
	EP_U32 abi_version;
	EP_U64 start_time; /* the process's start time in clock ticks (/proc/PID/stat field 22) */
};

/* stats: a per-CPU array of __u64 indexed by these reasons. Every frame counts once in
 * EP_STAT_FRAMES, once in exactly one verdict reason (EP_STAT_HIT_* or EP_STAT_PASS_*), and hits
 * count again in EP_STAT_REDIRECTED or EP_STAT_NO_SOCKET. Keep etherpath::bpf::counter_name in
 * step (it static_asserts EP_STAT_COUNT). */
enum ep_stat {
	EP_STAT_FRAMES = 0,          /* every frame the program saw */
	EP_STAT_HIT_L2,              /* dst MAC + VLANs + EtherType registered */
	EP_STAT_HIT_L4,              /* VLANs + dst IP + protocol + port/echo id registered */
	EP_STAT_HIT_OWNED,           /* ARP request / NS for an owned address */
	EP_STAT_HIT_MULTICAST,       /* broadcast/multicast on a subscribed VLANs + EtherType */
	EP_STAT_HIT_DEFAULT,         /* unicast, no endpoint, a default receiver for VLANs + EtherType */
	EP_STAT_PASS_UNICAST_MISS,   /* unicast, nothing registered: the kernel's */
	EP_STAT_PASS_MULTICAST_MISS, /* broadcast/multicast without a subscription */
	EP_STAT_PASS_NEIGH_NOT_OWNED, /* ARP request / NS for an address we do not own (the host's) */
	EP_STAT_PASS_TRUNCATED,      /* ends inside a header the verdict needs: passed, not dropped */
	EP_STAT_PASS_VLAN_TOO_DEEP,  /* more than EP_MAX_VLAN_DEPTH tags */
	EP_STAT_REDIRECTED,          /* a hit that bpf_redirect_map accepted */
	EP_STAT_NO_SOCKET,           /* a hit, but no socket on this queue: XDP_PASS fallback */
	EP_STAT_COUNT
};

EP_STATIC_ASSERT(sizeof(struct ep_vlan_ids) == 4, "ep_vlan_ids layout");
EP_STATIC_ASSERT(sizeof(struct ep_l2_key) == 12, "ep_l2_key layout (etherconn's L2EndpointKey)");
EP_STATIC_ASSERT(sizeof(struct ep_l4_key) == 24, "ep_l4_key layout");
EP_STATIC_ASSERT(sizeof(struct ep_owned_key) == 24, "ep_owned_key layout");
EP_STATIC_ASSERT(sizeof(struct ep_vlan_etype_key) == 8, "ep_vlan_etype_key layout");
EP_STATIC_ASSERT(sizeof(struct ep_endpoint) == 8, "ep_endpoint layout");
EP_STATIC_ASSERT(sizeof(struct ep_owner) == 24, "ep_owner layout");
EP_STATIC_ASSERT(sizeof(struct ep_l2_slot) == 16, "ep_l2_slot layout (four per cache line)");
EP_STATIC_ASSERT(EP_L2_GROUP_BITS <= 8 && EP_L2_GROUP_BITS < EP_L2_SLOT_BITS,
		 "a block of l2_slots is picked by the bits of the MAC's last byte");
EP_STATIC_ASSERT(sizeof(struct ep_map_counts) == 16, "ep_map_counts layout");
EP_STATIC_ASSERT(EP_STAT_COUNT == 13, "update counter names in C++ when adding a reason");

#undef EP_STATIC_ASSERT
#undef EP_U8
#undef EP_U16
#undef EP_U32
#undef EP_U64

#endif /* ETHERPATH_BPF_STEER_ABI_H */
