/*
 * net.d: network constants (Linux values: include/linux/socket.h,
 * include/uapi/linux/if_arp.h, include/uapi/linux/in.h and in6.h) and the
 * conninfo_t of application protocol providers.  ARPHRD_* name the link types
 * link_ntop() formats.
 */

/* address families */
inline int AF_UNSPEC = 0;
#pragma D binding "1.5" AF_UNSPEC
inline int AF_UNIX = 1;
#pragma D binding "1.5" AF_UNIX
inline int AF_INET = 2;
#pragma D binding "1.5" AF_INET
inline int AF_INET6 = 10;
#pragma D binding "1.5" AF_INET6
inline int AF_NETLINK = 16;
#pragma D binding "1.5" AF_NETLINK
inline int AF_PACKET = 17;
#pragma D binding "1.5" AF_PACKET

/* link types (ARP hardware types) */
inline int ARPHRD_NETROM = 0;
#pragma D binding "1.5" ARPHRD_NETROM
inline int ARPHRD_ETHER = 1;
#pragma D binding "1.5" ARPHRD_ETHER
inline int ARPHRD_EETHER = 2;
#pragma D binding "1.5" ARPHRD_EETHER
inline int ARPHRD_AX25 = 3;
#pragma D binding "1.5" ARPHRD_AX25
inline int ARPHRD_PRONET = 4;
#pragma D binding "1.5" ARPHRD_PRONET
inline int ARPHRD_CHAOS = 5;
#pragma D binding "1.5" ARPHRD_CHAOS
inline int ARPHRD_IEEE802 = 6;
#pragma D binding "1.5" ARPHRD_IEEE802
inline int ARPHRD_ARCNET = 7;
#pragma D binding "1.5" ARPHRD_ARCNET
inline int ARPHRD_APPLETLK = 8;
#pragma D binding "1.5" ARPHRD_APPLETLK
inline int ARPHRD_DLCI = 15;
#pragma D binding "1.5" ARPHRD_DLCI
inline int ARPHRD_ATM = 19;
#pragma D binding "1.5" ARPHRD_ATM
inline int ARPHRD_METRICOM = 23;
#pragma D binding "1.5" ARPHRD_METRICOM
inline int ARPHRD_IEEE1394 = 24;
#pragma D binding "1.5" ARPHRD_IEEE1394
inline int ARPHRD_EUI64 = 27;
#pragma D binding "1.5" ARPHRD_EUI64
inline int ARPHRD_INFINIBAND = 32;
#pragma D binding "1.5" ARPHRD_INFINIBAND
inline int ARPHRD_TUNNEL = 0x300;
#pragma D binding "1.5" ARPHRD_TUNNEL
inline int ARPHRD_TUNNEL6 = 0x301;
#pragma D binding "1.5" ARPHRD_TUNNEL6
inline int ARPHRD_LOOPBACK = 0x304;
#pragma D binding "1.5" ARPHRD_LOOPBACK
inline int ARPHRD_IEEE80211 = 0x321;
#pragma D binding "1.5" ARPHRD_IEEE80211
inline int ARPHRD_NONE = 0xfffe;
#pragma D binding "1.5" ARPHRD_NONE
inline int ARPHRD_VOID = 0xffff;
#pragma D binding "1.5" ARPHRD_VOID

/* IP protocol numbers */
inline int IPPROTO_IP = 0;
#pragma D binding "1.5" IPPROTO_IP
inline int IPPROTO_HOPOPTS = 0;
#pragma D binding "1.5" IPPROTO_HOPOPTS
inline int IPPROTO_ICMP = 1;
#pragma D binding "1.5" IPPROTO_ICMP
inline int IPPROTO_IGMP = 2;
#pragma D binding "1.5" IPPROTO_IGMP
inline int IPPROTO_IPIP = 4;
#pragma D binding "1.5" IPPROTO_IPIP
inline int IPPROTO_TCP = 6;
#pragma D binding "1.5" IPPROTO_TCP
inline int IPPROTO_EGP = 8;
#pragma D binding "1.5" IPPROTO_EGP
inline int IPPROTO_PUP = 12;
#pragma D binding "1.5" IPPROTO_PUP
inline int IPPROTO_UDP = 17;
#pragma D binding "1.5" IPPROTO_UDP
inline int IPPROTO_IDP = 22;
#pragma D binding "1.5" IPPROTO_IDP
inline int IPPROTO_TP = 29;
#pragma D binding "1.5" IPPROTO_TP
inline int IPPROTO_DCCP = 33;
#pragma D binding "1.5" IPPROTO_DCCP
inline int IPPROTO_IPV6 = 41;
#pragma D binding "1.5" IPPROTO_IPV6
inline int IPPROTO_ROUTING = 43;
#pragma D binding "1.5" IPPROTO_ROUTING
inline int IPPROTO_FRAGMENT = 44;
#pragma D binding "1.5" IPPROTO_FRAGMENT
inline int IPPROTO_RSVP = 46;
#pragma D binding "1.5" IPPROTO_RSVP
inline int IPPROTO_GRE = 47;
#pragma D binding "1.5" IPPROTO_GRE
inline int IPPROTO_ESP = 50;
#pragma D binding "1.5" IPPROTO_ESP
inline int IPPROTO_AH = 51;
#pragma D binding "1.5" IPPROTO_AH
inline int IPPROTO_ICMPV6 = 58;
#pragma D binding "1.5" IPPROTO_ICMPV6
inline int IPPROTO_NONE = 59;
#pragma D binding "1.5" IPPROTO_NONE
inline int IPPROTO_DSTOPTS = 60;
#pragma D binding "1.5" IPPROTO_DSTOPTS
inline int IPPROTO_MTP = 92;
#pragma D binding "1.5" IPPROTO_MTP
inline int IPPROTO_ENCAP = 98;
#pragma D binding "1.5" IPPROTO_ENCAP
inline int IPPROTO_PIM = 103;
#pragma D binding "1.5" IPPROTO_PIM
inline int IPPROTO_COMP = 108;
#pragma D binding "1.5" IPPROTO_COMP
inline int IPPROTO_SCTP = 132;
#pragma D binding "1.5" IPPROTO_SCTP
inline int IPPROTO_UDPLITE = 136;
#pragma D binding "1.5" IPPROTO_UDPLITE
inline int IPPROTO_MPLS = 137;
#pragma D binding "1.5" IPPROTO_MPLS
inline int IPPROTO_RAW = 255;
#pragma D binding "1.5" IPPROTO_RAW

typedef struct conninfo {
	string ci_local;		/* local host address */
	string ci_remote;		/* remote host address */
	string ci_protocol;		/* protocol (ipv4, ipv6...) */
} conninfo_t;
