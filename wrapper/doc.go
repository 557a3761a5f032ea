// Package wrapper is the privileged launch path of the setuid socker binary:
// `socker run` from argv to exit status, its siblings (explain, images,
// doctor, help), and `socker gc`, the janitor only real root may run, which
// removes orphaned socker containers and Docker's leftover task cgroups
// (gc.go; the only code in socker that writes cgroupfs, by rmdir only).
//
// What belongs here: parsing argv (pure), building the Docker container spec
// from an allowed security.Decision (pure, from zero values), the ordered
// launch sequence, and the Docker connection pool that lets the process
// talk to the daemon after it has dropped root.
//
// What does not belong here: policy (package security decides; this package
// only carries out a Decision), cgroup parsing (package cgroup), the manual
// pages (package docs), anything of the scheduler (package sched: the setuid
// binary must not link it), and any use of os/exec, PATH lookups or the
// environment.
//
// The launch, in order, one file a step; each file's opening comment says
// which privileges it holds:
//
//	main.go       0. Main: the environment is empty (cmd/socker re-executed
//	                 the binary without one, env.go); every signal is caught;
//	                 the process is hardened (umask, no core, not dumpable,
//	                 fds >2 close-on-exec, safe rlimits); dispatch.
//	session.go    1. begin (root): identity from the kernel, setuid in
//	                 effect, binary, config and audit directory untamperable;
//	                 config loaded from the compiled-in path, audit log opened.
//	decide.go     2. decide (root, reads only the kernel's files): argv
//	                 parsed (args.go), the task cgroup read, the pure policy
//	                 decided. A refusal is audited and ends here.
//	docker.go        the Docker connections opened (root); dockerAPI, the
//	                 calls socker makes.
//	pin.go        3. pin and stage (root; the checks as the caller, on a
//	                 thread with the caller's file-system identity): each user
//	                 mount source opened and checked, then cloned into a
//	                 root-only staging directory (stage.go) for Docker to bind.
//	drop.go       4. the privilege drop, for good. Only then does socker
//	                 speak to the daemon.
//	create.go     5. (the caller) image resolved, container created from the
//	                 Spec (spec.go), the "start" record written, attached,
//	                 started.
//	verify.go     6. the container's init checked beneath the task cgroup
//	                 (proc.go parses /proc/<pid>/stat); else it is killed.
//	supervise.go  7. until it exits; every signal stops it.
//	remove.go     8. removed whatever happened; run.go writes the "exit"
//	                 record.
//
// run.go sequences these steps for `socker run`; explain.go runs 1 to 4 and
// prints the spec; images.go, doctor.go and gc.go are the other commands;
// failure.go is the one error type of a launch (exit status, audit event,
// reason). See SECURITY.md for the promises this order keeps.
package wrapper
