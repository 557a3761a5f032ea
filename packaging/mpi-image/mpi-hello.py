#!/usr/bin/python3 -S
# mpi-hello.py: a Python MPI hello world, as mpi4py's `python3 -m
# mpi4py.bench helloworld` is, through ctypes on the image's libmpich (the
# image has Python's core and ctypes, not mpi4py: Debian's python3-mpi4py is
# built for Open MPI). The ranks print in order, each after the token from
# the rank before it, so that ranks talk before MPI_Finalize:
#   "Hello, World! I am process R of S on HOST."
# Part of the socker/mpich:4 test image (packaging/mpi-image/build.sh).
import ctypes

mpi = ctypes.CDLL("libmpich.so.12")
COMM_WORLD = ctypes.c_int(0x44000000)  # MPI_COMM_WORLD in MPICH's mpi.h
INT = ctypes.c_int(0x4C000405)  # MPI_INT
STATUS_IGNORE = ctypes.c_void_p(1)  # MPI_STATUS_IGNORE

mpi.MPI_Init(None, None)
rank, size, length = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
mpi.MPI_Comm_rank(COMM_WORLD, ctypes.byref(rank))
mpi.MPI_Comm_size(COMM_WORLD, ctypes.byref(size))
name = ctypes.create_string_buffer(256)
mpi.MPI_Get_processor_name(name, ctypes.byref(length))
r, s = rank.value, size.value
token = ctypes.c_int(0)
if r > 0:
    mpi.MPI_Recv(ctypes.byref(token), 1, INT, r - 1, 0, COMM_WORLD, STATUS_IGNORE)
print("Hello, World! I am process %d of %d on %s." % (r, s, name.value.decode()), flush=True)
if r < s - 1:
    mpi.MPI_Send(ctypes.byref(token), 1, INT, r + 1, 0, COMM_WORLD)
mpi.MPI_Finalize()
