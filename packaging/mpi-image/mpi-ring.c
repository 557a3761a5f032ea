/* mpi-ring: some communication, then MPI_Finalize. Each of ITERS rounds
 * (default 100; the first argument) passes an int around the ring of ranks
 * with MPI_Sendrecv (each rank sends to rank+1 and receives from rank-1) and
 * sums it with MPI_Allreduce; then every rank finalizes. Rank 0 prints
 * exactly "ring N ranks ITERS rounds ok" after MPI_Finalize, or the first
 * wrong value it saw and exits 1.
 * Part of the socker/mpich:4 test image (packaging/mpi-image/build.sh). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int rank, size, i, iters = argc > 1 ? atoi(argv[1]) : 100, bad = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	for (i = 0; i < iters; i++) {
		int out = rank * 1000 + i, in = -1, sum = 0;
		int prev = (rank + size - 1) % size;

		MPI_Sendrecv(&out, 1, MPI_INT, (rank + 1) % size, 0, &in, 1, MPI_INT, prev, 0,
			     MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		if (in != prev * 1000 + i && !bad) {
			fprintf(stderr, "rank %d round %d: got %d from rank %d\n", rank, i, in, prev);
			bad = 1;
		}
		MPI_Allreduce(&in, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
		if (sum != size * (size - 1) / 2 * 1000 + size * i && !bad) {
			fprintf(stderr, "rank %d round %d: sum %d\n", rank, i, sum);
			bad = 1;
		}
	}
	MPI_Finalize();
	if (rank == 0 && !bad)
		printf("ring %d ranks %d rounds ok\n", size, iters);
	return bad;
}
