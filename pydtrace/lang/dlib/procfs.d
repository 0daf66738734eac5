/*
 * procfs.d: the process model of DTrace's proc(4)-style structures, translated
 * from the Linux task_struct: psinfo_t for a process, lwpsinfo_t for a thread,
 * and curpsinfo/curlwpsinfo for the current ones.
 *
 * Written against the kernel's BTF (6.x, x86-64).  Members DTrace cannot fill on
 * Linux (pr_size, pr_rssize, pr_pctcpu, pr_pctmem, pr_psargs, pr_argc, pr_argv,
 * pr_envp, pr_time, pr_ctime, pr_start, pr_lwp) have no translation: using one is
 * the D_XLATE_NOCONV error.
 */

#pragma D depends_on module vmlinux
#pragma D depends_on library sched.d

typedef time64_t time_t;

typedef struct timestruc {
	time_t tv_sec;
	long tv_nsec;
} timestruc_t;

typedef struct lwpsinfo {
	int pr_flag;			/* lwp flags */
	int pr_lwpid;			/* lwp id (the thread's pid) */
	uintptr_t pr_addr;		/* internal address of the lwp */
	uintptr_t pr_wchan;		/* wait address for a sleeping lwp */
	char pr_stype;			/* synchronization event type */
	char pr_state;			/* numeric lwp state (SSLEEP...) */
	char pr_sname;			/* printable character for pr_state */
	char pr_nice;			/* nice for cpu usage */
	short pr_syscall;		/* system call number */
	char pr_oldpri;			/* pre-SVR4 priority */
	char pr_cpu;			/* pre-SVR4 cpu usage */
	int pr_pri;			/* priority */
	ushort_t pr_pctcpu;		/* % of recent cpu time */
	ushort_t pr_pad;
	timestruc_t pr_start;		/* lwp start time */
	timestruc_t pr_time;		/* cpu time of the lwp */
	char pr_clname[8];		/* scheduling class name */
	char pr_name[16];		/* name (the thread's comm) */
	processorid_t pr_onpro;		/* processor it last ran on */
	processorid_t pr_bindpro;	/* processor it is bound to */
	psetid_t pr_bindpset;		/* processor set it is bound to */
	int pr_lgrp;			/* home lgroup */
	int pr_filler[4];
} lwpsinfo_t;

typedef id_t taskid_t;
typedef id_t dprojid_t;
typedef id_t poolid_t;
typedef id_t zoneid_t;

typedef struct psinfo {
	int pr_flag;			/* process flags */
	int pr_nlwp;			/* number of threads */
	pid_t pr_pid;			/* process id */
	pid_t pr_ppid;			/* parent's process id */
	pid_t pr_pgid;			/* process group id */
	pid_t pr_sid;			/* session id */
	uid_t pr_uid;			/* real user id */
	uid_t pr_euid;			/* effective user id */
	gid_t pr_gid;			/* real group id */
	gid_t pr_egid;			/* effective group id */
	uintptr_t pr_addr;		/* address of the process (its task_struct) */
	size_t pr_size;			/* size of the process image in KB */
	size_t pr_rssize;		/* resident set size in KB */
	size_t pr_pad1;
	struct tty_struct *pr_ttydev;	/* controlling tty (or -1) */
	ushort_t pr_pctcpu;		/* % of recent cpu time used */
	ushort_t pr_pctmem;		/* % of system memory used */
	timestruc_t pr_start;		/* process start time */
	timestruc_t pr_time;		/* cpu time of the process */
	timestruc_t pr_ctime;		/* cpu time of its reaped children */
	char pr_fname[16];		/* name of the executable (comm) */
	char pr_psargs[80];		/* initial characters of the argument list */
	int pr_wstat;			/* wait() status, if a zombie */
	int pr_argc;			/* initial argument count */
	uintptr_t pr_argv;		/* address of the initial argument vector */
	uintptr_t pr_envp;		/* address of the initial environment vector */
	char pr_dmodel;			/* data model (PR_MODEL_*) */
	char pr_pad2[3];
	taskid_t pr_taskid;		/* task id */
	dprojid_t pr_projid;		/* project id */
	int pr_nzomb;			/* number of zombie threads */
	poolid_t pr_poolid;		/* pool id */
	zoneid_t pr_zoneid;		/* zone id */
	id_t pr_contract;		/* process contract */
	int pr_filler[1];
	lwpsinfo_t pr_lwp;		/* a representative lwp */
} psinfo_t;

inline char PR_MODEL_ILP32 = 1;
#pragma D binding "1.0" PR_MODEL_ILP32
inline char PR_MODEL_LP64 = 2;
#pragma D binding "1.0" PR_MODEL_LP64

/* enum pid_type of include/linux/pid_types.h */
inline int PIDTYPE_PID = 0;
#pragma D binding "1.0" PIDTYPE_PID
inline int PIDTYPE_TGID = 1;
#pragma D binding "1.0" PIDTYPE_TGID
inline int PIDTYPE_PGID = 2;
#pragma D binding "1.0" PIDTYPE_PGID
inline int PIDTYPE_SID = 3;
#pragma D binding "1.0" PIDTYPE_SID

/*
 * T->signal->pids[] is indexed by enum pid_type; pid->numbers[0] is the id in
 * the initial pid namespace.  Credentials are the task's subjective ones.
 */
#pragma D binding "1.0" translator
translator psinfo_t < struct task_struct *T > {
	pr_nlwp = T->signal->nr_threads;
	pr_pid = T->tgid;
	pr_ppid = T->real_parent->tgid;
	pr_pgid = T->signal->pids[PIDTYPE_PGID]->numbers[0].nr;
	pr_sid = T->signal->pids[PIDTYPE_SID]->numbers[0].nr;
	pr_uid = T->cred->uid.val;
	pr_euid = T->cred->euid.val;
	pr_gid = T->cred->gid.val;
	pr_egid = T->cred->egid.val;
	pr_addr = (uintptr_t)T;
	pr_ttydev = T->signal->tty ? T->signal->tty : (struct tty_struct *)-1;
	pr_fname = T->comm;
	pr_wstat = T->exit_code;
	pr_dmodel = PR_MODEL_LP64;
	pr_taskid = 0;
	pr_projid = 0;
	pr_nzomb = 0;
	pr_poolid = 0;
	pr_zoneid = 0;
	pr_contract = 0;
};

/* pr_flag bits */
inline int PR_STOPPED = 0x00000001;
#pragma D binding "1.0" PR_STOPPED
inline int PR_ISTOP = 0x00000002;
#pragma D binding "1.0" PR_ISTOP
inline int PR_DSTOP = 0x00000004;
#pragma D binding "1.0" PR_DSTOP
inline int PR_IDLE = 0x10000000;
#pragma D binding "1.0" PR_IDLE

/* pr_state values */
inline char SSLEEP = 1;
#pragma D binding "1.0" SSLEEP
inline char SRUN = 2;
#pragma D binding "1.0" SRUN
inline char SZOMB = 3;
#pragma D binding "1.0" SZOMB
inline char SSTOP = 4;
#pragma D binding "1.0" SSTOP
inline char SIDL = 5;
#pragma D binding "1.0" SIDL
inline char SONPROC = 6;
#pragma D binding "1.0" SONPROC
inline char SWAIT = 7;
#pragma D binding "1.0" SWAIT

/*
 * Thread states come from T->__state and T->exit_state, with the bits of
 * include/linux/sched.h: TASK_INTERRUPTIBLE 0x1, TASK_UNINTERRUPTIBLE 0x2,
 * __TASK_STOPPED 0x4, __TASK_TRACED 0x8, EXIT_DEAD 0x10, EXIT_ZOMBIE 0x20,
 * TASK_DEAD 0x80, TASK_WAKEKILL 0x100, TASK_WAKING 0x200.  A runnable thread
 * (state 0) is SONPROC while it is on a CPU.
 */
#pragma D binding "1.0" translator
translator lwpsinfo_t < struct task_struct *T > {
	pr_flag = (T->__state & 0x4) ? PR_STOPPED : 0;
	pr_lwpid = T->pid;
	pr_addr = (uintptr_t)T;
	pr_wchan = NULL;
	pr_stype = 0;
	pr_state = (T->exit_state & 0x30) ? SZOMB :
		   (T->__state & 0x80) ? SZOMB :
		   (T->__state & 0x3) ? SSLEEP :
		   (T->__state & 0xc) ? SSTOP :
		   (T->__state & 0x300) ? SWAIT :
		   T->on_cpu ? SONPROC : SRUN;
	pr_sname = (T->exit_state & 0x30) ? 'Z' :
		   (T->__state & 0x80) ? 'Z' :
		   (T->__state & 0x3) ? 'S' :
		   (T->__state & 0xc) ? 'T' :
		   (T->__state & 0x300) ? 'W' :
		   T->on_cpu ? 'O' : 'R';
	pr_pri = T->prio;
	pr_name = T->comm;
	pr_onpro = T->thread_info.cpu;
};

inline psinfo_t *curpsinfo = xlate <psinfo_t *> (curthread);
#pragma D attributes Stable/Stable/Common curpsinfo
#pragma D binding "1.0" curpsinfo

inline lwpsinfo_t *curlwpsinfo = xlate <lwpsinfo_t *> (curthread);
#pragma D attributes Stable/Stable/Common curlwpsinfo
#pragma D binding "1.0" curlwpsinfo

inline string cwd = d_path(&(curthread->fs->pwd));
#pragma D attributes Stable/Stable/Common cwd
#pragma D binding "1.0" cwd

inline string root = d_path(&(curthread->fs->root));
#pragma D attributes Stable/Stable/Common root
#pragma D binding "1.0" root

/* si_code values of SIGCHLD (wait status reasons) */
inline int CLD_EXITED = 1;
#pragma D binding "1.0" CLD_EXITED
inline int CLD_KILLED = 2;
#pragma D binding "1.0" CLD_KILLED
inline int CLD_DUMPED = 3;
#pragma D binding "1.0" CLD_DUMPED
inline int CLD_TRAPPED = 4;
#pragma D binding "1.0" CLD_TRAPPED
inline int CLD_STOPPED = 5;
#pragma D binding "1.0" CLD_STOPPED
inline int CLD_CONTINUED = 6;
#pragma D binding "1.0" CLD_CONTINUED
