/* cmaprobe: what cross-memory attach (process_vm_readv) and ptrace reach.
 * Built static by the integration tests (TestSeccomp_*), run on the host and
 * in containers. Every mode prints one line.
 *
 *   cmaprobe hold SECRET     keep SECRET in memory; print "pid P addr A" and
 *                            wait to be killed (the victim)
 *   cmaprobe child           fork a child holding a fresh secret at the
 *                            address the parent knows, read it with
 *                            process_vm_readv: "child ok" or "child <errno>"
 *                            (ranks of one container, as MPI's cma does)
 *   cmaprobe read P A SECRET read len(SECRET) bytes at A in pid P, and
 *                            PTRACE_ATTACH P: "read <errno|match|other>
 *                            ptrace <errno|ok>"
 *   cmaprobe scan A SECRET   try the read at A in every pid of /proc: "scan
 *                            N pids, M matches" */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char secret[64];

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EFAULT: return "EFAULT";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	default: return strerror(e);
	}
}

/* peek reads n bytes at addr in pid into buf: 0, or the errno. */
static int peek(pid_t pid, unsigned long addr, char *buf, size_t n)
{
	struct iovec local = {buf, n}, remote = {(void *)addr, n};
	ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (got < 0)
		return errno;
	return got == (ssize_t)n ? 0 : EFAULT;
}

int main(int argc, char **argv)
{
	char buf[64];

	if (argc == 3 && strcmp(argv[1], "hold") == 0) {
		snprintf(secret, sizeof secret, "%s", argv[2]);
		printf("pid %d addr %lx\n", (int)getpid(), (unsigned long)secret);
		fflush(stdout);
		for (;;)
			pause();
	}
	if (argc == 2 && strcmp(argv[1], "child") == 0) {
		int p[2], e;
		pid_t c;
		if (pipe(p) < 0)
			return 1;
		c = fork();
		if (c == 0) {
			snprintf(secret, sizeof secret, "child-%d", (int)getpid());
			write(p[1], "x", 1);
			for (;;)
				pause();
		}
		read(p[0], buf, 1);
		memset(buf, 0, sizeof buf);
		e = peek(c, (unsigned long)secret, buf, sizeof secret);
		if (e == 0) {
			char want[64];
			snprintf(want, sizeof want, "child-%d", (int)c);
			printf("child %s\n", strcmp(buf, want) == 0 ? "ok" : "other");
		} else
			printf("child %s\n", errname(e));
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "read") == 0) {
		pid_t pid = atoi(argv[2]);
		unsigned long addr = strtoul(argv[3], NULL, 16);
		size_t n = strlen(argv[4]);
		int e = peek(pid, addr, buf, n);
		printf("read %s", e ? errname(e) : (memcmp(buf, argv[4], n) == 0 ? "match" : "other"));
		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0)
			printf(" ptrace %s\n", errname(errno));
		else {
			printf(" ptrace ok\n");
			waitpid(pid, NULL, __WALL); /* stopped: detach leaves it running */
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "scan") == 0) {
		unsigned long addr = strtoul(argv[2], NULL, 16);
		size_t n = strlen(argv[3]);
		int pids = 0, matches = 0;
		struct dirent *d;
		DIR *proc = opendir("/proc");
		if (!proc)
			return 1;
		while ((d = readdir(proc)) != NULL) {
			pid_t pid = atoi(d->d_name);
			if (pid <= 0)
				continue;
			pids++;
			if (peek(pid, addr, buf, n) == 0 && memcmp(buf, argv[3], n) == 0)
				matches++;
		}
		printf("scan %d pids, %d matches\n", pids, matches);
		return 0;
	}
	fprintf(stderr, "usage: cmaprobe hold S | child | read PID ADDR S | scan ADDR S\n");
	return 2;
}
