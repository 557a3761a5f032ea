/* ucx-finalize-fix: keeps MPI_Finalize of Debian 12's MPICH 4.0.2 (ch4:ucx)
 * from hanging when ranks talk over TCP (ranks in different containers or
 * on different hosts).
 *
 * MPICH 4.0.2's MPIDI_UCX_mpi_finalize_hook closes every endpoint with
 * ucp_disconnect_nb (a flush-mode close, which on TCP waits for the peer),
 * progresses until every close has completed, and only then enters a PMI
 * barrier that makes no UCX progress. A rank whose closes complete first
 * waits in that barrier while a peer's close waits for it: both hang
 * forever. Upstream moved the barrier before the closes (pmodels/mpich
 * #6596 and later; "if some process are not present, the disconnect may
 * timeout"); Debian 12 has the old order.
 *
 * This library, preloaded into every process of the image
 * (/etc/ld.so.preload), replaces ucp_disconnect_nb, which libmpich calls
 * only there, with nothing: every rank goes on to the barrier at once, and
 * after it ucp_worker_destroy closes the endpoints without waiting for
 * peers. (A force-mode close would need endpoints made with peer error
 * handling, which MPICH does not ask for.) The flush it skips is not needed
 * for correctness: MPI requires every communication of a rank to be
 * complete before it calls MPI_Finalize, and the barrier is passed only once
 * every rank has called it, so nothing a peer still needs is in flight.
 *
 * It links and calls nothing, so processes that do not use UCX are not
 * changed by it; another program of the image that calls ucp_disconnect_nb
 * itself would get the same no-op (its endpoints then close when its worker
 * is destroyed). An image with an MPICH that has the fix needs none of it.
 * Part of the socker/mpich:4 image (packaging/mpi-image/build.sh). */
#include <stddef.h>
#include <ucp/api/ucp.h>

ucs_status_ptr_t ucp_disconnect_nb(ucp_ep_h ep)
{
	(void)ep;
	return NULL; /* UCS_OK: closed, as far as MPICH is concerned */
}
