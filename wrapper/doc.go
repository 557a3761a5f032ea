// Package wrapper is the privileged launch path of the setuid socker binary:
// `socker run` from argv to exit status, its siblings (explain, images,
// doctor, help), and `socker gc`, the janitor only real root may run, which
// removes orphaned socker containers and Docker's leftover task cgroups
// (gc.go; the only code in socker that writes cgroupfs, by rmdir only).
//
// What belongs here: parsing argv (pure), building the Docker container spec
// from an allowed security.Decision (pure, from zero values), the ordered
// launch sequence (Main), and the Docker connection pool that lets the
// process talk to the daemon after it has dropped root.
//
// What does not belong here: policy (package security decides; this package
// only carries out a Decision), cgroup parsing (package cgroup), anything of
// the scheduler (package sched: the setuid binary must not link it), and any
// use of os/exec, PATH lookups or the environment.
//
// Preconditions of the launch sequence (Main), in order:
//  0. the environment is empty (ScrubEnvironment re-executed the binary);
//  1. process hardened (umask, no core, not dumpable, fds >2 close-on-exec);
//  2. identity from the kernel; setuid root must be in effect;
//  3. the binary, the config (and its directories) and the audit directory
//     checked untamperable; config loaded from the compiled-in path, audit
//     log opened (root);
//  4. argv parsed and the pure policy decided; a denial is audited and exits;
//  5. Docker connections dialled (root), then root dropped for good;
//  6. only then: user paths resolved as the caller, and the daemon spoken to;
//  7. the "start" audit record is written before the container starts.
//
// See SECURITY.md for the promises this order keeps.
package wrapper
