/* mpi-fail: a job whose rank 1 dies, to test how the job ends. One argument,
 * the mode:
 *
 *   ok     every rank finalizes and exits 0;
 *   exit   rank 1 prints "rank 1 of S: exit 5" and calls exit(5) right after
 *          MPI_Init, without MPI_Finalize;
 *   abort  rank 1 prints "rank 1 of S: MPI_Abort 7" and calls
 *          MPI_Abort(MPI_COMM_WORLD, 7);
 *   segv   rank 1 prints "rank 1 of S: SIGSEGV" and raises SIGSEGV (with the
 *          default action, so the process dies of the signal);
 *   late   like ok, but rank 0 sleeps SECS seconds (default 3; the second
 *          argument) after MPI_Finalize, prints "rank 0 of S: done" and exits
 *          0: a correct job whose other ranks, and their nodes' proxies, end
 *          well before rank 0.
 *
 * Every other rank prints "rank R of S: barrier", waits in MPI_Barrier (which
 * a dead rank 1 never joins) and, if it returns, prints "rank R of S:
 * finalize", finalizes and exits 0. Run with -n 2 or more; with one rank
 * nobody fails. Exits 2 on a usage error.
 * Part of the socker/mpich:4 test image (packaging/mpi-image/build.sh). */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rank, size;
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "ok") != 0 && strcmp(mode, "exit") != 0 && strcmp(mode, "abort") != 0 &&
	    strcmp(mode, "segv") != 0 && strcmp(mode, "late") != 0) {
		fprintf(stderr, "usage: mpi-fail ok|exit|abort|segv|late [SECS]\n");
		return 2;
	}
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (rank == 1 && strcmp(mode, "exit") == 0) {
		printf("rank 1 of %d: exit 5\n", size);
		fflush(stdout);
		exit(5);
	}
	if (rank == 1 && strcmp(mode, "abort") == 0) {
		printf("rank 1 of %d: MPI_Abort 7\n", size);
		fflush(stdout);
		MPI_Abort(MPI_COMM_WORLD, 7);
	}
	if (rank == 1 && strcmp(mode, "segv") == 0) {
		printf("rank 1 of %d: SIGSEGV\n", size);
		fflush(stdout);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	printf("rank %d of %d: barrier\n", rank, size);
	fflush(stdout);
	MPI_Barrier(MPI_COMM_WORLD);
	printf("rank %d of %d: finalize\n", rank, size);
	fflush(stdout);
	MPI_Finalize();
	if (rank == 0 && strcmp(mode, "late") == 0) {
		sleep(argc > 2 ? (unsigned)atoi(argv[2]) : 3);
		printf("rank 0 of %d: done\n", size);
	}
	return 0;
}
