/*
 * regs.d: indexes into uregs[] on x86-64, the user registers a probe interrupted.
 * Indexes 0 to 20 are the 8-byte words of Linux's x86-64 struct pt_regs in order
 * (as in <sys/reg.h>: R15 is 0 ... SS is 20; uregs[i] is at offset 8 * i); the
 * segment registers and trap number after them, which pt_regs does not hold, are
 * numbered as Oracle's DTrace numbers them so scripts stay portable.  The 32-bit
 * names (R_EAX...) and the generic ones (R_PC, R_SP, R_FP, R_PS, R_R0, R_R1) are
 * aliases of the 64-bit registers.
 */

inline int R_R15 = 0;	/* r15 */
#pragma D binding "1.0" R_R15
inline int R_R14 = 1;	/* r14 */
#pragma D binding "1.0" R_R14
inline int R_R13 = 2;	/* r13 */
#pragma D binding "1.0" R_R13
inline int R_R12 = 3;	/* r12 */
#pragma D binding "1.0" R_R12
inline int R_RBP = 4;	/* bp */
#pragma D binding "1.0" R_RBP
inline int R_RBX = 5;	/* bx */
#pragma D binding "1.0" R_RBX
inline int R_R11 = 6;	/* r11 */
#pragma D binding "1.0" R_R11
inline int R_R10 = 7;	/* r10 */
#pragma D binding "1.0" R_R10
inline int R_R9 = 8;	/* r9 */
#pragma D binding "1.0" R_R9
inline int R_R8 = 9;	/* r8 */
#pragma D binding "1.0" R_R8
inline int R_RAX = 10;	/* ax */
#pragma D binding "1.0" R_RAX
inline int R_RCX = 11;	/* cx */
#pragma D binding "1.0" R_RCX
inline int R_RDX = 12;	/* dx */
#pragma D binding "1.0" R_RDX
inline int R_RSI = 13;	/* si */
#pragma D binding "1.0" R_RSI
inline int R_RDI = 14;	/* di */
#pragma D binding "1.0" R_RDI
inline int R_ERR = 15;	/* orig_ax */
#pragma D binding "1.0" R_ERR
inline int R_RIP = 16;	/* ip */
#pragma D binding "1.0" R_RIP
inline int R_CS = 17;	/* cs */
#pragma D binding "1.0" R_CS
inline int R_RFL = 18;	/* flags */
#pragma D binding "1.0" R_RFL
inline int R_RSP = 19;	/* sp */
#pragma D binding "1.0" R_RSP
inline int R_SS = 20;	/* ss */
#pragma D binding "1.0" R_SS
inline int R_DS = 21;	/* not in pt_regs */
#pragma D binding "1.0" R_DS
inline int R_ES = 22;	/* not in pt_regs */
#pragma D binding "1.0" R_ES
inline int R_FS = 23;	/* not in pt_regs */
#pragma D binding "1.0" R_FS
inline int R_GS = 24;	/* not in pt_regs */
#pragma D binding "1.0" R_GS
inline int R_TRAPNO = 25;	/* not in pt_regs */
#pragma D binding "1.0" R_TRAPNO

/* 32-bit names */
inline int R_EAX = R_RAX;
#pragma D binding "1.0" R_EAX
inline int R_EBX = R_RBX;
#pragma D binding "1.0" R_EBX
inline int R_ECX = R_RCX;
#pragma D binding "1.0" R_ECX
inline int R_EDX = R_RDX;
#pragma D binding "1.0" R_EDX
inline int R_ESI = R_RSI;
#pragma D binding "1.0" R_ESI
inline int R_EDI = R_RDI;
#pragma D binding "1.0" R_EDI
inline int R_EBP = R_RBP;
#pragma D binding "1.0" R_EBP
inline int R_ESP = R_RSP;
#pragma D binding "1.0" R_ESP
inline int R_EIP = R_RIP;
#pragma D binding "1.0" R_EIP
inline int R_EFL = R_RFL;
#pragma D binding "1.0" R_EFL

/* generic names */
inline int R_PC = R_RIP;
#pragma D binding "1.0" R_PC
inline int R_SP = R_RSP;
#pragma D binding "1.0" R_SP
inline int R_FP = R_RBP;
#pragma D binding "1.0" R_FP
inline int R_PS = R_RFL;
#pragma D binding "1.0" R_PS
inline int R_R0 = R_RAX;
#pragma D binding "1.0" R_R0
inline int R_R1 = R_RBX;
#pragma D binding "1.0" R_R1
