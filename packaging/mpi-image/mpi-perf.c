/* mpi-perf: point-to-point latency and bandwidth between ranks 0 and 1, and
 * MPI_Allreduce time over all ranks, as Intel MPI Benchmarks' PingPong and
 * Allreduce measure them.
 *
 * PingPong: rank 0 sends n bytes to rank 1, which sends them back; latency
 * is half a round trip, in microseconds, and bandwidth n bytes per half
 * round trip, in MB/s (10^6 bytes per second). Allreduce: MPI_SUM of n/4
 * MPI_INTs from separate send and receive buffers; its time is the
 * microseconds per call, averaged over the ranks. Each size is run first
 * untimed (a warm-up: connections set up, buffers registered), then with
 * iteration counts doubled from 1 until a run takes a tenth of the target
 * time, and then timed once with as many iterations as the target time
 * holds (at least 10): every size takes about the target, whatever the
 * transport. The buffers are allocated page-aligned and written before any
 * timing. Rank 0 prints exactly, in this order:
 *
 *   latency 0B: X.XX us
 *   latency 8B: X.XX us
 *   latency 1KiB: X.XX us
 *   bandwidth 64KiB: Y.Y MB/s
 *   bandwidth 1MiB: Y.Y MB/s
 *   bandwidth 4MiB: Y.Y MB/s
 *   allreduce 8B: Z.ZZ us
 *   allreduce 64KiB: Z.ZZ us
 *
 * Ranks 2.. take part in the Allreduce only. Run with -n 2 (or more).
 * Optional argument: the target time per size in seconds (default 0.2).
 * Part of the socker/mpich:4 test image (packaging/mpi-image/build.sh). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXSIZE (4 << 20)
#define MAXITERS (1 << 24)

static char *sbuf, *rbuf;

/* A kernel runs iters timed operations of n bytes on comm after a barrier
 * and returns the seconds they took, the same value on every rank. */
typedef double (*kernel)(MPI_Comm comm, int rank, int n, int iters);

/* pingpong: iters round trips between ranks 0 and 1 of comm (rank 0's
 * time). */
static double pingpong(MPI_Comm comm, int rank, int n, int iters)
{
	double t;
	int i;

	MPI_Barrier(comm);
	t = MPI_Wtime();
	for (i = 0; i < iters; i++) {
		if (rank == 0) {
			MPI_Send(sbuf, n, MPI_BYTE, 1, 0, comm);
			MPI_Recv(rbuf, n, MPI_BYTE, 1, 0, comm, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(rbuf, n, MPI_BYTE, 0, 0, comm, MPI_STATUS_IGNORE);
			MPI_Send(sbuf, n, MPI_BYTE, 0, 0, comm);
		}
	}
	t = MPI_Wtime() - t;
	MPI_Bcast(&t, 1, MPI_DOUBLE, 0, comm);
	return t;
}

/* allreduce: iters MPI_Allreduce calls of n/4 ints (the ranks' mean
 * time). */
static double allreduce(MPI_Comm comm, int rank, int n, int iters)
{
	double t, sum;
	int i, size;

	(void)rank;
	MPI_Comm_size(comm, &size);
	MPI_Barrier(comm);
	t = MPI_Wtime();
	for (i = 0; i < iters; i++)
		MPI_Allreduce(sbuf, rbuf, n / 4, MPI_INT, MPI_SUM, comm);
	t = MPI_Wtime() - t;
	MPI_Allreduce(&t, &sum, 1, MPI_DOUBLE, MPI_SUM, comm);
	return sum / size;
}

/* measure returns the seconds per operation of k with n bytes: a warm-up,
 * a calibration, then one run of about target seconds. */
static double measure(kernel k, MPI_Comm comm, int rank, int n, double target)
{
	int iters = 1;
	double t, want;

	k(comm, rank, n, n <= 65536 ? 1000 : 20);
	for (;;) {
		t = k(comm, rank, n, iters);
		if (t >= target / 10 || iters >= MAXITERS)
			break;
		iters *= 2;
	}
	want = target / (t / iters);
	iters = want > MAXITERS ? MAXITERS : want < 10 ? 10 : (int)want;
	return k(comm, rank, n, iters) / iters;
}

int main(int argc, char **argv)
{
	static const struct {
		int n;
		const char *name;
	} lat[] = {{0, "0B"}, {8, "8B"}, {1024, "1KiB"}},
	  bw[] = {{65536, "64KiB"}, {1 << 20, "1MiB"}, {4 << 20, "4MiB"}},
	  red[] = {{8, "8B"}, {65536, "64KiB"}};
	int rank, size, i;
	double target = 0.2, t;
	MPI_Comm pair;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size < 2) {
		if (rank == 0)
			fprintf(stderr, "mpi-perf: needs at least 2 ranks (mpiexec -n 2)\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	if (argc > 1)
		target = atof(argv[1]);
	if (!(target > 0 && target <= 60)) {
		if (rank == 0)
			fprintf(stderr, "mpi-perf: the target time per size must be more than 0 and at most 60 seconds\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	if (posix_memalign((void **)&sbuf, 4096, MAXSIZE) != 0 || posix_memalign((void **)&rbuf, 4096, MAXSIZE) != 0)
		MPI_Abort(MPI_COMM_WORLD, 1);
	memset(sbuf, rank + 1, MAXSIZE);
	memset(rbuf, 0, MAXSIZE);

	/* Ranks 2.. take no part in the ping-pong: split them off. */
	MPI_Comm_split(MPI_COMM_WORLD, rank < 2 ? 0 : MPI_UNDEFINED, rank, &pair);
	if (rank < 2) {
		for (i = 0; i < (int)(sizeof lat / sizeof lat[0]); i++) {
			t = measure(pingpong, pair, rank, lat[i].n, target);
			if (rank == 0)
				printf("latency %s: %.2f us\n", lat[i].name, t / 2 * 1e6);
		}
		for (i = 0; i < (int)(sizeof bw / sizeof bw[0]); i++) {
			t = measure(pingpong, pair, rank, bw[i].n, target);
			if (rank == 0)
				printf("bandwidth %s: %.1f MB/s\n", bw[i].name, bw[i].n / (t / 2) / 1e6);
		}
		fflush(stdout);
		MPI_Comm_free(&pair);
	}
	for (i = 0; i < (int)(sizeof red / sizeof red[0]); i++) {
		t = measure(allreduce, MPI_COMM_WORLD, rank, red[i].n, target);
		if (rank == 0)
			printf("allreduce %s: %.2f us\n", red[i].name, t * 1e6);
	}
	fflush(stdout);
	free(sbuf);
	free(rbuf);
	MPI_Finalize();
	return 0;
}
