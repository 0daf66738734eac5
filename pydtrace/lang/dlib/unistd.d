/*
 * unistd.d: the fault codes an ERROR probe receives in arg4 (the DTRACEFLT_*
 * values of DTrace's sys/dtrace.h; compile/layout.py raises the same numbers).
 */

inline int DTRACEFLT_UNKNOWN = 0;	/* unknown fault */
#pragma D binding "1.0" DTRACEFLT_UNKNOWN
inline int DTRACEFLT_BADADDR = 1;	/* bad address */
#pragma D binding "1.0" DTRACEFLT_BADADDR
inline int DTRACEFLT_BADALIGN = 2;	/* bad alignment */
#pragma D binding "1.0" DTRACEFLT_BADALIGN
inline int DTRACEFLT_ILLOP = 3;		/* illegal operation */
#pragma D binding "1.0" DTRACEFLT_ILLOP
inline int DTRACEFLT_DIVZERO = 4;	/* divide by zero */
#pragma D binding "1.0" DTRACEFLT_DIVZERO
inline int DTRACEFLT_NOSCRATCH = 5;	/* out of scratch space */
#pragma D binding "1.0" DTRACEFLT_NOSCRATCH
inline int DTRACEFLT_KPRIV = 6;		/* illegal kernel access */
#pragma D binding "1.0" DTRACEFLT_KPRIV
inline int DTRACEFLT_UPRIV = 7;		/* illegal user access */
#pragma D binding "1.0" DTRACEFLT_UPRIV
inline int DTRACEFLT_TUPOFLOW = 8;	/* tuple stack overflow */
#pragma D binding "1.0" DTRACEFLT_TUPOFLOW
inline int DTRACEFLT_BADSTACK = 9;	/* bad stack */
#pragma D binding "1.4.1" DTRACEFLT_BADSTACK
