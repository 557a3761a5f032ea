/* mpi-hello: every rank prints one line,
 *   "rank R of S on HOST uid U cgroup PATH"
 * where PATH is the rank's memory cgroup as /proc/self/cgroup shows it (the
 * unified one on a cgroup v2 host; "?" if unreadable).
 * Part of the socker/mpich:4 test image (packaging/mpi-image/build.sh). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void own_cgroup(char *out, size_t n)
{
	char line[4096], unified[4096] = "";
	FILE *f = fopen("/proc/self/cgroup", "r");

	snprintf(out, n, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		char *ctrl = strchr(line, ':'), *path;

		line[strcspn(line, "\n")] = '\0';
		if (ctrl == NULL || (path = strchr(ctrl + 1, ':')) == NULL)
			continue;
		*path++ = '\0';
		if (strcmp(ctrl + 1, "memory") == 0) {
			snprintf(out, n, "%s", path);
			fclose(f);
			return;
		}
		if (ctrl[1] == '\0')
			snprintf(unified, sizeof unified, "%s", path);
	}
	fclose(f);
	if (unified[0] != '\0')
		snprintf(out, n, "%s", unified);
}

int main(int argc, char **argv)
{
	int rank, size, len;
	char host[MPI_MAX_PROCESSOR_NAME], cgroup[4096];

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(host, &len);
	own_cgroup(cgroup, sizeof cgroup);
	printf("rank %d of %d on %s uid %u cgroup %s\n", rank, size, host, (unsigned)getuid(), cgroup);
	fflush(stdout);
	MPI_Finalize();
	return 0;
}
