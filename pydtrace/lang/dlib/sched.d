/*
 * sched.d: CPU identities.  cpuinfo_t is what the curcpu built-in points at.
 * Linux has no processor sets, chips or locality groups as Solaris has them:
 * cpu_pset, cpu_chip and cpu_lgrp are what the kernel reports instead (the
 * physical package and the NUMA node; pset is -1).
 */

#pragma D depends_on module vmlinux

typedef id_t processorid_t;
typedef id_t psetid_t;
typedef id_t chipid_t;
typedef id_t lgrp_id_t;

typedef struct cpuinfo {
	processorid_t cpu_id;		/* CPU number */
	psetid_t cpu_pset;		/* processor set */
	chipid_t cpu_chip;		/* chip (physical package) */
	lgrp_id_t cpu_lgrp;		/* locality group (NUMA node) */
} cpuinfo_t;

inline psetid_t pset = curcpu->cpu_pset;
#pragma D attributes Stable/Stable/Common pset
#pragma D binding "1.0" pset

inline chipid_t chip = curcpu->cpu_chip;
#pragma D attributes Stable/Stable/Common chip
#pragma D binding "1.0" chip

inline lgrp_id_t lgrp = curcpu->cpu_lgrp;
#pragma D attributes Stable/Stable/Common lgrp
#pragma D binding "1.0" lgrp
