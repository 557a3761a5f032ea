/* mpi-pingpong: latency and bandwidth between ranks 0 and 1.
 *
 * Rank 0 sends a message to rank 1, which sends it back; a round trip is
 * timed over many iterations after a warm-up. Latency is half a round trip
 * of 8 bytes, in microseconds; bandwidth is 2 * 1 MiB per round trip of a
 * 1 MiB message, in MB/s (10^6 bytes per second). Rank 0 prints exactly:
 *
 *   latency 8B: X.XX us
 *   bandwidth 1MiB: Y.Y MB/s
 *
 * Other ranks take part in nothing but MPI_Init/MPI_Finalize. Run with -n 2.
 * Optional arguments: latency iterations, bandwidth iterations.
 * Part of the socker/mpich:4 test image (packaging/mpi-image/build.sh). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL 8
#define LARGE (1 << 20)

/* roundtrips makes warmup untimed, then iters timed round trips of n bytes
 * between ranks 0 and 1 of comm and returns the seconds rank 0 measured (0
 * on rank 1). */
static double roundtrips(MPI_Comm comm, int rank, char *buf, int n, int warmup, int iters)
{
	double t0 = 0;
	int i;

	for (i = 0; i < warmup + iters; i++) {
		if (i == warmup) {
			MPI_Barrier(comm);
			t0 = MPI_Wtime();
		}
		if (rank == 0) {
			MPI_Send(buf, n, MPI_BYTE, 1, 0, comm);
			MPI_Recv(buf, n, MPI_BYTE, 1, 0, comm, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(buf, n, MPI_BYTE, 0, 0, comm, MPI_STATUS_IGNORE);
			MPI_Send(buf, n, MPI_BYTE, 0, 0, comm);
		}
	}
	return rank == 0 ? MPI_Wtime() - t0 : 0;
}

int main(int argc, char **argv)
{
	int rank, size, lat_iters = 20000, bw_iters = 200;
	double t;
	char *buf;
	MPI_Comm pair;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size < 2) {
		if (rank == 0)
			fprintf(stderr, "mpi-pingpong: needs at least 2 ranks (mpiexec -n 2)\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	if (argc > 1)
		lat_iters = atoi(argv[1]);
	if (argc > 2)
		bw_iters = atoi(argv[2]);
	if (lat_iters < 1 || bw_iters < 1) {
		if (rank == 0)
			fprintf(stderr, "mpi-pingpong: iteration counts must be positive\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	/* Ranks 2.. take no part in the timed barriers: split them off. */
	MPI_Comm_split(MPI_COMM_WORLD, rank < 2 ? 0 : MPI_UNDEFINED, rank, &pair);
	if (rank < 2) {
		buf = malloc(LARGE);
		if (buf == NULL)
			MPI_Abort(MPI_COMM_WORLD, 1);
		memset(buf, rank, LARGE);
		t = roundtrips(pair, rank, buf, SMALL, 1000, lat_iters);
		if (rank == 0)
			printf("latency 8B: %.2f us\n", t / lat_iters / 2 * 1e6);
		t = roundtrips(pair, rank, buf, LARGE, 10, bw_iters);
		if (rank == 0)
			printf("bandwidth 1MiB: %.1f MB/s\n", 2.0 * LARGE * bw_iters / t / 1e6);
		fflush(stdout);
		free(buf);
		MPI_Comm_free(&pair);
	}
	MPI_Finalize();
	return 0;
}
